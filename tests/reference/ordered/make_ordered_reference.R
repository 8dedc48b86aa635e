# Ordered factors as R codes them (contr.poly) in lmer fits: the reference for
# tests/test_ordered_factors.py.  Run from this folder: Rscript make_ordered_reference.R
suppressMessages({library(lme4); library(lmerTest); library(emmeans); library(jsonlite)})
d <- read.csv("../data/sleepstudy.csv")
d$band <- ordered(c("early", "early", "mid", "mid", "mid", "late", "late", "late", "end", "end")[d$Days + 1],
                  levels = c("early", "mid", "late", "end"))
fit_case <- function(f) {
  m <- lmer(as.formula(f), data = d)
  s <- summary(m)$coefficients
  list(formula = f, fixef_names = names(fixef(m)), fixef = unname(fixef(m)),
       se = unname(s[, "Std. Error"]), df = unname(s[, "df"]), loglik = as.numeric(logLik(m)),
       theta = unname(getME(m, "theta")))
}
out <- list(
  contr_poly = lapply(c(2, 3, 4, 5, 7, 12), function(k) list(k = k, values = unname(contr.poly(k)),
                                                          names = colnames(contr.poly(k)))),
  levels = levels(d$band),
  band = as.character(d$band),
  cases = list(
    main = fit_case("Reaction ~ band + (1 | Subject)"),
    no_intercept = fit_case("Reaction ~ 0 + band + (1 | Subject)"),
    with_slope = fit_case("Reaction ~ Days + band + (Days | Subject)")
  )
)
em <- emmeans(lmer(Reaction ~ band + (1 | Subject), data = d), "band", lmer.df = "satterthwaite")
out$emmeans <- as.data.frame(summary(em))[, c("band", "emmean", "SE", "df")]
out$emmeans$band <- as.character(out$emmeans$band)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, matrix = "rowmajor"), "ordered_reference.json")

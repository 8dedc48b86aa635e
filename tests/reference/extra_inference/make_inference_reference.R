# Profile and parametric-bootstrap reference numbers for mlm_jupyter's confint and compare.
# Run from this folder: Rscript make_inference_reference.R  (lme4, jsonlite)
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})
sleep <- read.csv("../data/sleepstudy.csv", colClasses = c(Subject = "character"))
hsb <- read.csv("../data/hsb.csv", colClasses = c(school = "character"))
ci <- function(m, method, ...) {
  x <- suppressWarnings(suppressMessages(confint(m, method = method, oldNames = TRUE, ...)))
  list(names = rownames(x), lower = unname(x[, 1]), upper = unname(x[, 2]))
}
m1 <- lmer(Reaction ~ Days + (Days | Subject), sleep, REML = TRUE)
m2 <- lmer(Reaction ~ Days + (Days | Subject), sleep, REML = FALSE)
m3 <- lmer(mathach ~ cses + (1 | school), hsb, REML = TRUE)
out <- list(
  sleep_slope_reml = list(formula = "Reaction ~ Days + (Days | Subject)", reml = TRUE,
                          dataset = "sleepstudy", profile = ci(m1, "profile")),
  sleep_slope_ml = list(formula = "Reaction ~ Days + (Days | Subject)", reml = FALSE,
                        dataset = "sleepstudy", profile = ci(m2, "profile")),
  hsb_int = list(formula = "mathach ~ cses + (1 | school)", reml = TRUE,
                 dataset = "hsb", profile = ci(m3, "profile"))
)
# Joint F tests (lmerTest's contestMD, Satterthwaite and Kenward-Roger) and a KR contrast.
m4 <- lmer(mathach ~ cses * catholic + meanses + (1 + cses | school), hsb, REML = TRUE)
L <- rbind(c(0, 1, 0, 0, 0), c(0, 0, 0, 0, 1))
L3 <- rbind(c(0, 1, 0, 0, 0), c(0, 0, 1, 0, 0), c(0, -1, 0, 1, 0))
ftest <- function(L, ddf) {
  x <- contestMD(m4, L, ddf = ddf)
  list(L = L, F = x[["F value"]], num_df = x[["NumDF"]], den_df = x[["DenDF"]], p = x[["Pr(>F)"]])
}
kr1 <- contest1D(m4, c(0, -1, 0, 1, 0), ddf = "Kenward-Roger")
out$hsb_crosslevel_tests <- list(
  formula = "mathach ~ cses * catholic + meanses + (1 + cses | school)", reml = TRUE, dataset = "hsb",
  f_satterthwaite = ftest(L, "Satterthwaite"), f3_satterthwaite = ftest(L3, "Satterthwaite"),
  f_kenward_roger = ftest(L, "Kenward-Roger"), f3_kenward_roger = ftest(L3, "Kenward-Roger"),
  kr_contrast = list(L = c(0, -1, 0, 1, 0), estimate = kr1$Estimate, se = kr1[["Std. Error"]],
                     df = kr1$df, t = kr1[["t value"]], p = kr1[["Pr(>|t|)"]]))
# REML comparison with identical fixed effects (anova(refit = FALSE) compares REML criteria).
r0 <- lmer(mathach ~ cses + (1 | school), hsb, REML = TRUE)
r1 <- lmer(mathach ~ cses + (1 + cses | school), hsb, REML = TRUE)
a <- anova(r0, r1, refit = FALSE)
out$reml_comparison <- list(smaller = "mathach ~ cses + (1 | school)",
  larger = "mathach ~ cses + (1 + cses | school)", dataset = "hsb", reml = TRUE,
  chisq = a$Chisq[2], df = a$Df[2], p = a[["Pr(>Chisq)"]][2], deviance = unname(a$deviance))
set.seed(1)
out$sleep_slope_reml$boot <- ci(m1, "boot", nsim = 2000, boot.type = "perc")
writeLines(toJSON(out, digits = 15, auto_unbox = TRUE, pretty = TRUE), "inference_reference.json")

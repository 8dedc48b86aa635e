# emmeans pairs() on glmer fits (writes pairs.json): link scale (differences, Tukey and
# Holm adjusted) and response scale (odds ratios / rate ratios).
# usage: Rscript pairs_glmm.R   (needs r-cran-lme4, r-cran-emmeans, r-cran-jsonlite)
suppressMessages({library(lme4); library(emmeans); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
here <- local({
  a <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(a)) dirname(normalizePath(sub("^--file=", "", a[1]))) else getwd()
})
rd <- function(dir, name, fac) {
  df <- read.csv(file.path(dir, paste0(name, ".csv")), stringsAsFactors = FALSE,
                 colClasses = setNames(rep("character", length(fac)), fac))
  for (f in fac) df[[f]] <- factor(df[[f]], levels = sort(unique(df[[f]])))
  df
}
ctrl <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
rows <- function(p) {
  s <- as.data.frame(summary(p))
  est <- intersect(c("estimate", "odds.ratio", "ratio"), names(s))[1]
  list(contrast = I(as.character(s$contrast)), estimate = I(s[[est]]), se = I(s$SE),
       z = I(if ("z.ratio" %in% names(s)) s$z.ratio else s$t.ratio), p = I(s$p.value))
}
base <- file.path(here, "..", "glmm", "data")
cbpp <- rd(base, "cbpp", c("herd", "period"))
m <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial, control = ctrl)
e <- emmeans(m, "period")
out <- list(cbpp_laplace = list(
  link_tukey = rows(pairs(e, adjust = "tukey")), link_holm = rows(pairs(e, adjust = "holm")),
  probability_difference = rows(pairs(regrid(e), adjust = "none")),
  odds_ratio = rows(pairs(emmeans(m, "period", type = "response"), adjust = "none"))))
sites <- rd(base, "sites", c("site", "season"))
mn <- glmer.nb(count ~ temp + season + (1 | site), sites)
out$sites_negbin <- list(rate_ratio = rows(pairs(emmeans(mn, "season", type = "response"), adjust = "bonferroni")))
write_json(out, file.path(here, "pairs.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)

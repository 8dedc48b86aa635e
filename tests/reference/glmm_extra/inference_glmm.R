# Profile and Wald intervals and likelihood-ratio tables for GLMM cases (writes inference.json).
# usage: Rscript inference_glmm.R   (needs r-cran-lme4, r-cran-jsonlite)
suppressMessages({library(lme4); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
here <- local({
  a <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(a)) dirname(normalizePath(sub("^--file=", "", a[1]))) else getwd()
})
base <- file.path(here, "..", "glmm", "data")
rd <- function(dir, name, fac) {
  df <- read.csv(file.path(dir, paste0(name, ".csv")), stringsAsFactors = FALSE,
                 colClasses = setNames(rep("character", length(fac)), fac))
  for (f in fac) df[[f]] <- factor(df[[f]], levels = sort(unique(df[[f]])))
  df
}
ctrl <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
ci <- function(m, method) {
  x <- suppressWarnings(suppressMessages(confint(m, method = method, oldNames = FALSE)))
  list(names = I(rownames(x)), lower = I(unname(x[, 1])), upper = I(unname(x[, 2])))
}
out <- list()
cbpp <- rd(base, "cbpp", c("herd", "period"))
m <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial, control = ctrl)
out$cbpp_laplace <- list(profile = ci(m, "profile"), wald = ci(m, "Wald"))
germ <- rd(base, "germination", c("tray", "treatment"))
m <- glmer(prop ~ treatment + (1 | tray), germ, binomial, weights = n, control = ctrl)
out$germination_weights <- list(profile = ci(m, "profile"))
panel <- rd(file.path(here, "data"), "panel", c("id", "trt"))
m <- glmer(cbind(success, trials - success) ~ trt * time + (1 + time | id), panel, binomial, control = ctrl)
out$panel_cbind_slope <- list(profile = ci(m, "profile"))
clin <- rd(base, "clinics", c("clinic"))
m <- glmer(events ~ staff + urban + offset(log(exposure)) + (1 | clinic), clin, poisson, control = ctrl)
out$clinics_offset <- list(profile = ci(m, "profile"))
# likelihood-ratio tables: anova(m0, m1)
an <- function(a) list(npar = I(a$npar), loglik = I(a$logLik), deviance = I(a$deviance),
                       chisq = I(a$Chisq), df = I(a[["Df"]]), p = I(a[["Pr(>Chisq)"]]))
m1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial, control = ctrl)
m0 <- glmer(cbind(incidence, size - incidence) ~ 1 + (1 | herd), cbpp, binomial, control = ctrl)
out$anova_cbpp_period <- an(anova(m0, m1))
p1 <- glmer(cbind(success, trials - success) ~ trt * time + (1 + time | id), panel, binomial, control = ctrl)
p0 <- glmer(cbind(success, trials - success) ~ trt * time + (1 | id), panel, binomial, control = ctrl)
out$anova_panel_slope <- an(anova(p0, p1))
write_json(out, file.path(here, "inference.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)

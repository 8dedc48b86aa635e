# lme4 reference for the engine-trust tests (tests/test_trust.py).
#   python tests/reference/trust/make_data.py && Rscript tests/reference/trust/trust_reference.R
# Needs r-base-core r-cran-lme4 r-cran-jsonlite.  lme4 1.1-31.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
here <- (function() {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "."
})()
top <- file.path(here, "..", "data")
rd <- function(path, factors) {
  d <- read.csv(path)
  for (f in factors) d[[f]] <- factor(d[[f]])
  d
}
fit_info <- function(m) {
  list(formula = deparse1(formula(m)), reml = isREML(m), objective = unname(deviance(m, REML = isREML(m))),
       theta = unname(getME(m, "theta")), fixef = unname(fixef(m)), fixef_names = names(fixef(m)),
       sigma = sigma(m), is_singular = isSingular(m),
       varcorr = as.data.frame(VarCorr(m))$sdcor)
}
ci <- function(m, delta) {
  p <- if (is.null(delta)) profile(m, signames = TRUE) else profile(m, signames = TRUE, delta = delta)
  x <- confint(p)
  list(names = rownames(x), lower = unname(x[, 1]), upper = unname(x[, 2]))
}
out <- list()

cs8 <- rd(file.path(here, "crossed_scalar8.csv"), c("G", "H"))
f8 <- y ~ x1 + x2 + x3 + (1 | G) + (0 + x1 | G) + (0 + x2 | G) + (0 + x3 | G) +
  (1 | H) + (0 + x1 | H) + (0 + x2 | H) + (0 + x3 | H)
out$crossed_scalar8 <- fit_info(lmer(f8, cs8, REML = FALSE))
cs16 <- rd(file.path(here, "crossed_scalar16.csv"), c("G", "H"))
terms16 <- paste(c("(1 | G)", sprintf("(0 + x%d | G)", 1:7), "(1 | H)", sprintf("(0 + x%d | H)", 1:7)),
                 collapse = " + ")
f16 <- as.formula(paste("y ~", paste(sprintf("x%d", 1:7), collapse = " + "), "+", terms16))
out$crossed_scalar16 <- fit_info(lmer(f16, cs16, REML = FALSE))
cs16b <- rd(file.path(here, "crossed_scalar16b.csv"), c("G", "H"))
out$crossed_scalar16b <- fit_info(lmer(f16, cs16b, REML = FALSE))
# The same data in the simulation's units (predictor k divided by 10^(k-1)), where lme4's
# optimiser copes: the truth for the mixed-units fits above, by invariance.
sim_units <- function(d, k) { for (j in 1:k) d[[paste0("x", j)]] <- d[[paste0("x", j)]] / 10^(j - 2); d }
out$crossed_scalar8_sim <- fit_info(lmer(f8, sim_units(cs8, 3), REML = FALSE))
out$crossed_scalar16_sim <- fit_info(lmer(f16, sim_units(cs16, 7), REML = FALSE))
out$crossed_scalar16b_sim <- fit_info(lmer(f16, sim_units(cs16b, 7), REML = FALSE))

# Profile intervals: lme4's default grid and a fine grid (delta = cutoff / 40) whose spline
# roots are exact to ~1e-5; the tests compare with the fine one.
cutoff <- sqrt(qchisq(0.95, 1))
prof_case <- function(formula, data, reml = FALSE) {
  m <- lmer(formula, data, REML = reml)
  grab <- function(delta) tryCatch(ci(m, delta), error = function(e) list(error = conditionMessage(e)))
  c(fit_info(m), list(converged_message = paste(m@optinfo$conv$lme4$messages, collapse = "; "),
                      profile = grab(NULL), profile_fine = grab(cutoff / 40)))
}
hsb <- rd(file.path(top, "hsb.csv"), "school")
out$hsb_slope_ml_profile <- prof_case(mathach ~ cses + (1 + cses | school), hsb)
small <- rd(file.path(here, "small_slope.csv"), "g")
out$small_slope_profile <- prof_case(y ~ x + (1 + x | g), small)
sing <- rd(file.path(top, "singular.csv"), "g")
out$singular_profile <- prof_case(y ~ x + (1 + x | g), sing)
hsb$sex <- factor(ifelse(hsb$female == 1, "female", "male"), levels = c("male", "female"))
out$factor_slope_profile <- prof_case(mathach ~ cses + sex + (1 + sex | school), hsb)
sleep <- rd(file.path(top, "sleepstudy.csv"), "Subject")
out$quadratic_slope_profile <- prof_case(Reaction ~ Days + I(Days^2) + (1 + I(Days^2) | Subject), sleep)

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(here, "trust_reference.json"))

# What sjPlot::tab_model / modelsummary tables of lmer fits are made of, from the R packages
# those tables call (lmerTest, pbkrtest via parameters, performance, effectsize), for the
# models in ../data.  Run from this folder:  Rscript make_paper_reference.R
# Writes paper_reference.json.
#
# Per case:
#   fixed_satterthwaite, fixed_kr   parameters::model_parameters(m, ci_method = ..., ci = 0.95
#                                   and 0.90): Coefficient, SE, df, t, p, CI bounds (the df and
#                                   p that tab_model(df.method = ...) prints); Kenward-Roger
#                                   only for sleepstudy (pbkrtest's n x n algebra takes many
#                                   minutes on hsb's 7,185 rows)
#   fixed_default_parameters        the same with parameters' default ci_method (residual df
#                                   n - p: what tab_model shows without df.method)
#   std_refit                       effectsize::standardize_parameters(method = "refit",
#                                   ci_method = "satterthwaite") = tab_model(show.std = "std")
#   std_refit_lmertest              summary() of the lmerTest refit on scale()d numeric columns
#                                   (the response included): Estimate, SE, df, p
#   std_basic                       standardize_parameters(method = "basic",
#                                   ci_method = "satterthwaite")
#   icc, r2                         performance::icc, performance::r2_nakagawa
#   varcorr, nobs, ngroups, fit     as.data.frame(VarCorr(m)), nobs, ngrps, AIC/BIC/logLik,
#                                   REMLcrit (REML) or deviance (ML)
suppressMessages({
  library(lme4); library(lmerTest); library(jsonlite)
  library(parameters); library(performance); library(effectsize)
})
Sys.setlocale("LC_COLLATE", "C")

read_data <- function(name, groups) {
  df <- read.csv(file.path("..", "data", paste0(name, ".csv")), stringsAsFactors = FALSE)
  for (g in groups) df[[g]] <- factor(df[[g]], levels = sort(unique(df[[g]])))
  df
}

cases <- list(
  list(id = "hsb_crosslevel", dataset = "hsb", groups = "school", reml = TRUE,
       formula = "mathach ~ cses * catholic + meanses + (1 + cses | school)"),
  list(id = "hsb_empty", dataset = "hsb", groups = "school", reml = TRUE,
       formula = "mathach ~ 1 + (1 | school)"),
  list(id = "hsb_uncorr_female", dataset = "hsb", groups = "school", reml = TRUE,
       formula = "mathach ~ cses + female + minority + (cses || school)"),
  list(id = "sleep_slope_reml", dataset = "sleepstudy", groups = "Subject", reml = TRUE,
       formula = "Reaction ~ Days + (Days | Subject)", kr = TRUE),
  list(id = "sleep_slope_ml", dataset = "sleepstudy", groups = "Subject", reml = FALSE,
       formula = "Reaction ~ Days + (Days | Subject)"),
  list(id = "pastes_nested", dataset = "pastes", groups = c("batch", "cask"), reml = TRUE,
       formula = "strength ~ 1 + (1 | batch/cask)")
)

fixed_table <- function(m, ci_method, levels = c(0.95, 0.90)) {
  out <- list()
  for (lv in levels) {
    mp <- as.data.frame(if (is.null(ci_method)) {
      model_parameters(m, effects = "fixed", ci = lv)
    } else {
      model_parameters(m, effects = "fixed", ci = lv, ci_method = ci_method)
    })
    key <- sprintf("level_%02d", round(100 * lv))
    out[[key]] <- list(term = mp$Parameter, estimate = mp$Coefficient, se = mp$SE,
                       df = mp$df_error, t = mp$t, p = mp$p, lower = mp$CI_low,
                       upper = mp$CI_high)
  }
  out
}

std_table <- function(s) {
  s <- as.data.frame(s)
  list(term = s$Parameter, estimate = s$Std_Coefficient, lower = s$CI_low, upper = s$CI_high)
}

result <- list()
for (case in cases) {
  message(case$id)
  dat <- read_data(case$dataset, case$groups)
  f <- as.formula(case$formula)
  # the formula is written into the call: effectsize's refit re-evaluates it
  m <- eval(parse(text = sprintf("lmerTest::lmer(%s, data = dat, REML = %s)",
                                 case$formula, case$reml)))
  entry <- list(formula = case$formula, reml = case$reml, dataset = case$dataset)
  entry$fixed_satterthwaite <- fixed_table(m, "satterthwaite")
  if (isTRUE(case$kr)) entry$fixed_kr <- fixed_table(m, "kenward")
  entry$fixed_default_parameters <- fixed_table(m, NULL, 0.95)
  if (length(fixef(m)) > 1) {
    entry$std_refit <- std_table(standardize_parameters(m, method = "refit",
                                                        ci_method = "satterthwaite"))
    entry$std_basic <- std_table(standardize_parameters(m, method = "basic",
                                                        ci_method = "satterthwaite"))
    z <- dat
    numeric_cols <- intersect(all.vars(f), names(dat)[vapply(dat, is.numeric, TRUE)])
    for (v in numeric_cols) z[[v]] <- as.numeric(scale(z[[v]]))
    ms <- summary(lmerTest::lmer(f, data = z, REML = case$reml))$coefficients
    entry$std_refit_lmertest <- list(term = rownames(ms), estimate = ms[, "Estimate"],
                                     se = ms[, "Std. Error"], df = ms[, "df"],
                                     p = ms[, "Pr(>|t|)"], standardized = numeric_cols)
  }
  ic <- performance::icc(m)
  r2 <- performance::r2_nakagawa(m)
  entry$icc <- list(adjusted = ic$ICC_adjusted, unadjusted = ic$ICC_unadjusted)
  entry$r2 <- list(marginal = unname(r2$R2_marginal), conditional = unname(r2$R2_conditional))
  vc <- as.data.frame(VarCorr(m))
  vc$var1[is.na(vc$var1)] <- ""; vc$var2[is.na(vc$var2)] <- ""
  entry$varcorr <- vc
  entry$nobs <- nobs(m)
  entry$ngroups <- as.list(ngrps(m))
  entry$fit <- list(aic = AIC(m), bic = BIC(m), loglik = as.numeric(logLik(m)),
                    criterion = if (case$reml) REMLcrit(m) else deviance(m))
  result[[case$id]] <- entry
}
result$versions <- list(R = R.version.string,
                        lme4 = as.character(packageVersion("lme4")),
                        lmerTest = as.character(packageVersion("lmerTest")),
                        parameters = as.character(packageVersion("parameters")),
                        performance = as.character(packageVersion("performance")),
                        effectsize = as.character(packageVersion("effectsize")),
                        pbkrtest = as.character(packageVersion("pbkrtest")))
writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE), "paper_reference.json")

# Simple slopes (emmeans::emtrends with Satterthwaite df), ICC and Nakagawa R2 (performance) for
# some extra cases, written to one JSON file in the format of the shared effects.json. For a factor
# moderator, "at" holds the level as a string. "variances" (not in the shared file) holds
# insight::get_variance(), the components performance builds ICC and R2 from.
# usage: Rscript effects_reference.R DATA_DIR OUT_JSON
suppressMessages({library(lme4); library(lmerTest); library(jsonlite); library(emmeans); library(performance)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = TRUE)
rd <- function(name) {
  df <- read.csv(file.path(args[1], paste0(name, ".csv")), stringsAsFactors = FALSE)
  for (col in names(df)) if (is.character(df[[col]])) df[[col]] <- factor(df[[col]], levels = sort(unique(df[[col]])))
  df
}
ctl <- lmerControl(optimizer = "nloptwrap", calc.derivs = FALSE,
                   optCtrl = list(xtol_rel = 1e-12, ftol_rel = 1e-14, ftol_abs = 1e-14, xtol_abs = 1e-12, maxeval = 10000))
fit <- function(f, d) lmer(as.formula(f), data = d, REML = TRUE, control = ctl)
emm_options(lmer.df = "satterthwaite", lmerTest.limit = 1e6, pbkrtest.limit = 1e6)
slopes <- function(id, m, var, at) {
  r <- summary(emtrends(m, specs = names(at), var = var, at = at), infer = c(TRUE, TRUE))
  val <- function(v) if (is.factor(v)) as.character(v) else v
  lapply(seq_len(nrow(r)), function(i) list(case = id, slope_of = var,
    at = setNames(lapply(names(at), function(n) val(r[[n]][i])), names(at)), estimate = r[[paste0(var, ".trend")]][i],
    se = r$SE[i], df = r$df[i], lower = r$lower.CL[i], upper = r$upper.CL[i], p = r$p.value[i]))
}
eg <- rd("egsingle"); cs <- rd("crossed_slope"); ex <- rd("exam")
m_eg <- fit("math ~ year + (1 + year | schoolid) + (1 + year | childid:schoolid)", eg)
m_eg_int <- fit("math ~ year + (1 | schoolid) + (1 | childid:schoolid)", eg)
m_cs <- fit("y ~ x + (1 + x | subject) + (1 | item)", cs)
m_cs_int <- fit("y ~ x + (1 | subject) + (1 | item)", cs)
m_cat <- fit("normexam ~ intake * standLRT + (1 | school)", ex)
out <- list(simple_slopes = list(), icc = list(), r2 = list(), variances = list())
out$simple_slopes <- slopes("categorical3", m_cat, "standLRT", list(intake = c("bottom", "mid", "top")))
for (pair in list(list("egsingle_3level", m_eg), list("egsingle_3level_int", m_eg_int),
                  list("crossed_slope", m_cs), list("crossed_int", m_cs_int), list("categorical3", m_cat))) {
  ic <- suppressWarnings(icc(pair[[2]])); r2 <- suppressWarnings(r2_nakagawa(pair[[2]]))
  out$icc[[length(out$icc) + 1]] <- list(case = pair[[1]], adjusted = ic$ICC_adjusted, unadjusted = ic$ICC_unadjusted)
  out$r2[[length(out$r2) + 1]] <- list(case = pair[[1]], marginal = unname(r2$R2_marginal), conditional = unname(r2$R2_conditional))
  v <- suppressWarnings(insight::get_variance(pair[[2]]))
  out$variances[[length(out$variances) + 1]] <- c(list(case = pair[[1]]),
    lapply(v[c("var.fixed", "var.random", "var.residual")], unname),
    list(var.intercept = as.list(v$var.intercept), var.slope = as.list(v$var.slope)))
}
write_json(out, args[2], digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("written", args[2], "\n")

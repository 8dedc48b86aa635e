# More effect-size references for mlm_jupyter's effects module:
# performance::icc / r2_nakagawa (and insight::get_variance) for models the shared files do not
# cover (hybrid / cluster-mean-centred, uncorrelated ||, no-intercept slopes, quadratic, L2 factor),
# emmeans::emtrends simple slopes (Satterthwaite df) at more moderator values, including a
# quadratic term, and Johnson-Neyman boundaries found with uniroot on emtrends' own p-value
# (so the df is emmeans' Satterthwaite df at each moderator value).
# usage (from the repository root):
#   Rscript tests/reference/extra_effects/make_extra_effects.R tests/reference tests/reference/extra_effects/extra_effects.json
suppressMessages({library(lme4); library(lmerTest); library(jsonlite); library(emmeans); library(performance)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = TRUE)
rd <- function(path) {
  df <- read.csv(path, stringsAsFactors = FALSE)
  for (col in names(df)) if (is.character(df[[col]])) df[[col]] <- factor(df[[col]], levels = sort(unique(df[[col]])))
  df
}
ctl <- lmerControl(optimizer = "nloptwrap", calc.derivs = FALSE,
                   optCtrl = list(xtol_rel = 1e-12, ftol_rel = 1e-14, ftol_abs = 1e-14, xtol_abs = 1e-12, maxeval = 10000))
fit <- function(f, d) lmer(as.formula(f), data = d, REML = TRUE, control = ctl)
emm_options(lmer.df = "satterthwaite", lmerTest.limit = 1e6, pbkrtest.limit = 1e6)
hsb <- rd(file.path(args[1], "data", "hsb.csv"))
sleep <- rd(file.path(args[1], "data", "sleepstudy.csv"))
ex <- rd(file.path(args[1], "extra", "data", "exam.csv"))
two <- rd(file.path(args[1], "extra", "data", "noint_two.csv"))
models <- list(
  hsb_hybrid = list("mathach ~ ses + meanses + (1 + cses | school)", hsb),
  hsb_cmc = list("mathach ~ cses + meanses + (1 + cses | school)", hsb),
  hsb_slope = list("mathach ~ cses + (1 + cses | school)", hsb),
  hsb_rb = list("mathach ~ meanses * cses + catholic * cses + (1 + cses | school)", hsb),
  hsb_uncorr_female = list("mathach ~ cses + female + minority + (cses || school)", hsb),
  hsb_uncentred_slope = list("mathach ~ ses + (1 + ses | school)", hsb),
  sleep_uncorr_reml = list("Reaction ~ Days + (Days || Subject)", sleep),
  sleep_noint_slope = list("Reaction ~ Days + (0 + Days | Subject)", sleep),
  sleep_quadratic_reml = list("Reaction ~ Days + I(Days^2) + (Days | Subject)", sleep),
  categorical3_school = list("normexam ~ standLRT + schgend + (1 + standLRT | school)", ex),
  noint_slope_two = list("y ~ x + z + (0 + x + z | g)", two)
)
out <- list(icc = list(), r2 = list(), variances = list(), simple_slopes = list(), johnson_neyman = list())
fits <- list()
for (id in names(models)) {
  m <- fit(models[[id]][[1]], models[[id]][[2]]); fits[[id]] <- m
  ic <- suppressWarnings(icc(m)); r2 <- suppressWarnings(r2_nakagawa(m))
  v <- suppressWarnings(insight::get_variance(m))
  out$icc[[length(out$icc) + 1]] <- list(case = id, formula = models[[id]][[1]], adjusted = ic$ICC_adjusted, unadjusted = ic$ICC_unadjusted)
  out$r2[[length(out$r2) + 1]] <- list(case = id, formula = models[[id]][[1]], marginal = unname(r2$R2_marginal), conditional = unname(r2$R2_conditional))
  out$variances[[length(out$variances) + 1]] <- c(list(case = id),
    lapply(v[c("var.fixed", "var.random", "var.residual")], unname))
}
# emtrends differentiates by a forward difference with step delta.var (default 0.001 * range):
# exact for terms linear in `var`, biased by b2 * delta for a quadratic; a tiny step makes the
# quadratic case exact to ~1e-7 as well.
slopes <- function(id, var, at, delta = NULL) {
  em <- if (is.null(delta)) emtrends(fits[[id]], specs = names(at), var = var, at = at)
        else emtrends(fits[[id]], specs = names(at), var = var, at = at, delta.var = delta)
  r <- summary(em, infer = c(TRUE, TRUE))
  lapply(seq_len(nrow(r)), function(i) list(case = id, formula = models[[id]][[1]], slope_of = var,
    at = setNames(lapply(names(at), function(n) r[[n]][i]), names(at)), estimate = r[[paste0(var, ".trend")]][i],
    se = r$SE[i], df = r$df[i], lower = r$lower.CL[i], upper = r$upper.CL[i], p = r$p.value[i]))
}
out$simple_slopes <- c(
  slopes("hsb_rb", "cses", list(meanses = c(-1, 0.3), catholic = c(0, 1))),
  slopes("sleep_quadratic_reml", "Days", list(Days = c(0, 2, 5, 9)), delta = 1e-6))
# Johnson-Neyman: moderator values where emtrends' p-value equals 0.05.
jn_p <- function(w) summary(emtrends(fits$hsb_rb, specs = c("meanses", "catholic"), var = "cses",
                                     at = list(meanses = w, catholic = 0)), infer = c(TRUE, TRUE))$p.value - 0.05
bounds <- sapply(list(c(-10, -3), c(-3, -0.5)), function(r) uniroot(jn_p, r, tol = 1e-12)$root)
out$johnson_neyman[[1]] <- list(case = "hsb_rb", formula = models$hsb_rb[[1]], slope_of = "cses", moderator = "meanses",
                                held = list(catholic = 0), level = 0.95, boundaries = bounds)
write_json(out, args[2], digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("written", args[2], "\n")

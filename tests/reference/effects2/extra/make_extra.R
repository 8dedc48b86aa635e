# More cross-validation and pooling cases on other data, made the same way as ../make_shared.R
# (whose functions, in ../effects2_lib.R, compute every number), plus mitml's testModels.
# usage: Rscript tests/reference/effects2/extra/make_extra.R [cv] [mi] [tm]   (about 3 minutes)
# needs: the packages listed in ../make_shared.R (r-cran-mitml, r-cran-mice, r-cran-pan, ...)
f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
here <- if (length(f)) dirname(normalizePath(f[1])) else getwd()
source(file.path(here, "..", "effects2_lib.R"))
dir.create(file.path(here, "data"), showWarnings = FALSE)
only <- commandArgs(trailingOnly = TRUE)
want <- function(kind) length(only) == 0 || kind %in% only
# mitml's ML refits (.updateML) re-evaluate the lmer call outside the caller's frame: the
# control object must be found from the global environment.
assign("ctl", tight_control, envir = globalenv())

# ../effects2_lib.R's heldout_logdens, generalised: mkReTrms orders the held-out rows' terms by
# their number of levels there, which for crossed factors can differ from the fit's order
# (one held-out subject, 20 items): theta is taken term by term, matched by grouping factor.
# Where the orders agree (every case of ../make_shared.R) this is the same computation.
heldout_logdens <- function(fit, formula, test, xlev) {
  f <- as.formula(formula)
  tt <- delete.response(terms(fit, fixed.only = TRUE))
  X <- model.matrix(tt, model.frame(tt, test, xlev = xlev[intersect(names(xlev), all.vars(tt))]))
  stopifnot(identical(colnames(X), names(fixef(fit))))
  mu <- drop(X %*% fixef(fit))
  mf <- model.frame(subbars(f), test)
  y <- model.response(mf)
  rt <- mkReTrms(findbars(f), mf)
  nth <- lengths(fit@cnms) * (lengths(fit@cnms) + 1) / 2
  pieces <- split(getME(fit, "theta"), rep(seq_along(nth), nth))
  ord <- if (identical(names(rt$cnms), names(fit@cnms))) seq_along(nth) else match(names(rt$cnms), names(fit@cnms))
  stopifnot(!anyNA(ord), identical(unname(rt$cnms), unname(fit@cnms[ord])))
  Lt <- rt$Lambdat; Lt@x <- unlist(pieces[ord], use.names = FALSE)[rt$Lind]
  A <- Lt %*% rt$Zt
  s2 <- sigma(fit)^2
  Vm <- s2 * (as.matrix(crossprod(A)) + diag(length(y)))
  R <- chol(Vm)
  r <- backsolve(R, y - mu, transpose = TRUE)
  list(elpd = -0.5 * (length(y) * log(2 * pi) + 2 * sum(log(diag(R))) + sum(r^2)),
       sse = sum((y - mu)^2), n = length(y))
}

# ---- cross-validation: K folds of clusters ---------------------------------------------------
# folds: a named vector cluster -> fold label.  A fold's held-out rows are scored jointly:
# elpd_f = log N(y_f | X_f b, sigma^2 (Z_f Lambda Lambda' Z_f' + I)) (heldout_logdens).
kfold_case <- function(id, data_rel, base_dir, string_columns, formulas, reml, group, K, seed, out_dir) {
  df <- read_case_data(file.path(base_dir, data_rel), string_columns)
  xlev <- lapply(Filter(is.factor, df), levels)
  levs <- levels(df[[group]])
  set.seed(seed)
  fold_of <- setNames(as.character(sample(rep(seq_len(K), length.out = length(levs)))), levs)
  labels <- as.character(seq_len(K))
  models <- lapply(formulas, function(fm) {
    folds <- lapply(labels, function(k) {
      out <- df[[group]] %in% names(fold_of)[fold_of == k]
      fit <- fit_lmer(fm, df[!out, , drop = FALSE], reml, tight_control)
      c(heldout_logdens(fit, fm, df[out, , drop = FALSE], xlev), list(singular = isSingular(fit)))
    })
    el <- sapply(folds, `[[`, "elpd"); sse <- sapply(folds, `[[`, "sse"); n <- sapply(folds, `[[`, "n")
    cat(sprintf("  %-60s elpd %.4f rmse %.5f\n", fm, sum(el), sqrt(sum(sse) / sum(n))))
    list(formula = fm, elpd = sum(el), rmse = sqrt(sum(sse) / sum(n)), n_folds = K,
         folds = list(fold = I(labels), n = I(n), elpd = I(el), sse = I(sse),
                      singular = I(sapply(folds, `[[`, "singular"))))
  })
  out <- list(id = id, kind = "cross_validation", data = data_rel, string_columns = I(string_columns),
              reml = reml, group = group, group_arg = group, nobs = nrow(df),
              folds_map = as.list(fold_of), fold_seed = seed, lme4_control = tight_control_text,
              models = models, versions = versions())
  write_case(out, out_dir)
}

if (want("cv")) {
  sleep <- c("Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days || Subject)",
             "Reaction ~ Days + (Days | Subject)")
  cv_case("cv_sleep_reml", "../../data/sleepstudy.csv", here, "Subject", sleep, TRUE, "Subject", NULL, here, FALSE)
  cv_case("cv_sleep_ml", "../../data/sleepstudy.csv", here, "Subject", sleep, FALSE, "Subject", NULL, here, FALSE)
  crossed <- c("y ~ x + (1 | subject) + (1 | item)", "y ~ x + (1 + x | subject) + (1 | item)")
  cv_case("cv_crossed_item", "../../extra/data/crossed_slope.csv", here, c("subject", "item"), crossed,
          TRUE, "item", "item", here, FALSE)
  cv_case("cv_crossed_subject_ml", "../../extra/data/crossed_slope.csv", here, c("subject", "item"), crossed,
          FALSE, "subject", "subject", here, FALSE)
  cv_case("cv_egsingle_3level", "../../extra/data/egsingle.csv", here, c("schoolid", "childid"),
          c("math ~ year + (1 | schoolid) + (1 | childid:schoolid)",
            "math ~ year + (1 + year | schoolid) + (1 | childid:schoolid)",
            "math ~ year + (1 + year | schoolid) + (1 + year | childid:schoolid)"),
          TRUE, "schoolid", NULL, here, FALSE)
  kfold_case("cv_kfold_hsb", "../../data/hsb.csv", here, "school",
             c("mathach ~ cses + meanses + catholic + (1 | school)",
               "mathach ~ cses + meanses + catholic + (1 + cses | school)",
               "mathach ~ cses * catholic + meanses + (1 + cses | school)"), TRUE, "school", 5, 20261202, here)
  kfold_case("cv_kfold_exam_ml", "../../extra/data/exam.csv", here, c("school", "intake", "schgend"),
             c("normexam ~ standLRT + female + (1 | school)",
               "normexam ~ standLRT + female + (1 + standLRT | school)"), FALSE, "school", 4, 20261203, here)
}

# ---- pooling over imputations of another data set -------------------------------------------
exam_imp <- function() {
  exam <- read_case_data(file.path(here, "..", "..", "extra", "data", "exam.csv"), c("school", "intake", "schgend"))
  mi_impute(exam, target = "standLRT",
            mar = function(d) 0.7 * as.numeric(scale(d$normexam)) + 0.5 * d$female, fraction = 0.25,
            cluster = "school", imp_predictors = c("normexam", "female", "schavg"),
            seed = 20261204, m = 8, prefix = "exam_mi", out_dir = here, string_columns = c("school", "intake", "schgend"))
}
exam_mech <- "P(standLRT missing) = plogis(a + 0.7 * z(normexam) + 0.5 * female), a solved for 25% on average"
exam_paths <- sprintf("data/exam_mi_%d.csv", 1:8)
if (want("mi")) {
  imp <- exam_imp()
  mi_case("mi_exam_slope_ml", imp, here, c("school", "intake", "schgend"),
          "normexam ~ standLRT + female + schavg + (1 + standLRT | school)", FALSE, exam_mech)
  mi_case("mi_exam_int", imp, here, c("school", "intake", "schgend"),
          "normexam ~ standLRT + female + schavg + (1 | school)", TRUE, exam_mech)
}

# ---- pooled model comparison: mitml's testModels (D1, D2, D3) -------------------------------
# D1 (Wald, Li, Raghunathan & Rubin 1991) on the fits as given; D2 (Li, Meng, Raghunathan &
# Rubin 1991) from the m Wald statistics ("wald") or likelihood-ratio statistics ("likelihood",
# ML refits); D3 (Meng & Rubin 1992) from likelihoods at the m estimates and at the pooled
# ones (ML refits, as mitml refits REML fits).
tm_row <- function(x) {
  t <- x$test
  list(F = unname(t[1, "F.value"]), df1 = unname(t[1, "df1"]), df2 = unname(t[1, "df2"]),
       p = unname(t[1, "P(>F)"]), riv = unname(t[1, "RIV"]), refit_ml = x$refit)
}
tm_case <- function(id, paths, base_dir, string_columns, formula, null_formula, reml, methods, df_com_d1 = TRUE) {
  dfs <- lapply(paths, function(p) read_case_data(file.path(base_dir, p), string_columns))
  implist <- as.mitml.list(dfs)
  fit_all <- function(fm) eval(substitute(with(implist, lme4::lmer(F, REML = R, control = ctl)),
                                          list(F = str2lang(fm), R = reml)))
  m1 <- fit_all(formula); m0 <- fit_all(null_formula)
  tests <- list()
  for (meth in methods) {
    parts <- strsplit(meth, ":")[[1]]
    args <- list(model = m1, null.model = m0, method = parts[1])
    if (length(parts) > 1) args$use <- parts[2]
    tests[[meth]] <- tm_row(suppressWarnings(do.call(testModels, args)))
    if (parts[1] %in% c("D2", "D3")) {
      args$ariv <- "positive"
      tests[[paste0(meth, ":positive")]] <- tm_row(suppressWarnings(do.call(testModels, args)))
    }
  }
  df_com <- NULL
  if ("D1" %in% methods && df_com_d1) {
    df_com <- df.residual(m1[[1]])
    tests[["D1:df_com"]] <- tm_row(testModels(m1, m0, method = "D1", df.com = df_com))
  }
  ml <- function(fits) if (reml) lapply(fits, function(f) update(f, REML = FALSE)) else fits
  # the likelihoods D3 combines (mitml's internal .evaluateUserLogLik), for diagnosis
  ll1 <- mitml:::.evaluateUserLogLik(ml(m1)); ll0 <- mitml:::.evaluateUserLogLik(ml(m0))
  for (k in names(tests)) cat(sprintf("  %-14s F %.6f df1 %g df2 %.4f p %.6g riv %.6f\n", k, tests[[k]]$F,
                                      tests[[k]]$df1, tests[[k]]$df2, tests[[k]]$p, tests[[k]]$riv))
  out <- list(id = id, kind = "pooled_comparison", imputations = I(paths), string_columns = I(string_columns),
              formula = formula, null_formula = null_formula, reml = reml, m = length(paths),
              lme4_control = tight_control_text, df_com = df_com, tests = tests,
              loglik = list(model = I(unname(ll1$LL)), model_at_pooled = I(unname(ll1$LL.pooled)),
                            null = I(unname(ll0$LL)), null_at_pooled = I(unname(ll0$LL.pooled)),
                            df_model = ll1$df, df_null = ll0$df),
              versions = versions())
  write_case(out, here)
}
if (want("tm")) {
  hsb_paths <- sprintf("../data/hsb_mi_%d.csv", 1:5)
  all_methods <- c("D1", "D2:wald", "D2:likelihood", "D3")
  tm_case("tm_hsb_fixed2", hsb_paths, here, "school", "mathach ~ ses + minority + female + meanses + (1 | school)",
          "mathach ~ ses + minority + (1 | school)", TRUE, all_methods)
  tm_case("tm_hsb_fixed1", hsb_paths, here, "school", "mathach ~ ses + minority + female + meanses + (1 | school)",
          "mathach ~ ses + minority + female + (1 | school)", TRUE, all_methods)
  tm_case("tm_hsb_random", hsb_paths, here, "school",
          "mathach ~ ses + minority + female + meanses + (1 + minority | school)",
          "mathach ~ ses + minority + female + meanses + (1 | school)", TRUE, c("D2:likelihood", "D3"))
  tm_case("tm_exam_fixed_ml", exam_paths, here, c("school", "intake", "schgend"),
          "normexam ~ standLRT + female + schavg + (1 + standLRT | school)",
          "normexam ~ standLRT + (1 + standLRT | school)", FALSE, all_methods)
  tm_case("tm_exam_random_ml", exam_paths, here, c("school", "intake", "schgend"),
          "normexam ~ standLRT + female + schavg + (1 + standLRT | school)",
          "normexam ~ standLRT + female + schavg + (1 | school)", FALSE, c("D2:likelihood", "D3"))
}

# Fits every case of a manifest with lme4 1.1 + lmerTest and writes one JSON file per case.
# usage: Rscript generate_reference.R MANIFEST.json DATA_DIR OUT_DIR [timing_reps]
# Unlike the shared script, every reported fit uses tight optimizer tolerances (ctl below), so the
# numbers are those of the true optimum rather than lme4's default stopping point; each optimum is
# checked against an independent bobyqa fit (the difference in objective is printed). The timing
# anchor lme4_fit_seconds still times lme4's default lmer() call.
suppressMessages({library(lme4); library(lmerTest); library(jsonlite); library(pbkrtest)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
ctl <- lmerControl(optimizer = "nloptwrap", calc.derivs = FALSE,
                   optCtrl = list(xtol_rel = 1e-12, ftol_rel = 1e-14, ftol_abs = 1e-14, xtol_abs = 1e-12, maxeval = 10000))
ctl_check <- lmerControl(optimizer = "bobyqa", calc.derivs = FALSE, optCtrl = list(rhobeg = 0.2, rhoend = 1e-10, maxfun = 1e5))
args <- commandArgs(trailingOnly = TRUE)
manifest <- fromJSON(args[1], simplifyVector = FALSE)
data_dir <- args[2]; out_dir <- args[3]
reps <- if (length(args) >= 4) as.integer(args[4]) else 3
cache <- list()
load_data <- function(name) {
  if (is.null(cache[[name]])) {
    df <- read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
    for (col in names(df)) if (is.character(df[[col]])) df[[col]] <- factor(df[[col]], levels = sort(unique(df[[col]])))
    cache[[name]] <<- df
  }
  cache[[name]]
}
fit_case <- function(case) {
  df <- load_data(case$dataset)
  lmerTest::lmer(as.formula(case$formula), data = df, REML = isTRUE(case$reml), control = ctl)
}
models <- list()
cases <- setNames(manifest$cases, sapply(manifest$cases, `[[`, "id"))
for (case in manifest$cases) {
  df <- load_data(case$dataset)
  m <- fit_case(case)
  models[[case$id]] <- m
  chk <- lme4::lmer(as.formula(case$formula), data = df, REML = isTRUE(case$reml), control = ctl_check)
  obj_check <- unname(if (isTRUE(case$reml)) REMLcrit(chk) else deviance(chk))
  times <- replicate(reps, system.time(lme4::lmer(as.formula(case$formula), data = df, REML = isTRUE(case$reml)))[["elapsed"]])
  sm <- summary(m, ddf = "Satterthwaite")$coefficients
  vc <- as.data.frame(VarCorr(m))
  vc$var1[is.na(vc$var1)] <- ""; vc$var2[is.na(vc$var2)] <- ""
  re <- ranef(m, condVar = TRUE)
  ranef_out <- list()
  for (g in names(re)) {
    pv <- attr(re[[g]], "postVar")
    if (!is.list(pv)) pv <- list(pv)
    # one array per random-effect term of this factor ((x || g) gives several)
    condsd <- do.call(cbind, lapply(pv, function(a) {
      q <- dim(a)[1]
      matrix(t(sapply(seq_len(dim(a)[3]), function(i) sqrt(diag(matrix(a[, , i], q, q))))), ncol = q)
    }))
    ranef_out[[g]] <- list(levels = I(rownames(re[[g]])), terms = I(colnames(re[[g]])),
                           values = unname(as.matrix(re[[g]])), condsd = unname(condsd))
  }
  out <- list(
    id = case$id, dataset = case$dataset, formula = case$formula, reml = isTRUE(case$reml),
    lme4_version = as.character(packageVersion("lme4")),
    nobs = nobs(m), ngroups = as.list(ngrps(m)),
    fixef_names = I(names(fixef(m))), fixef = I(unname(fixef(m))),
    se = I(unname(sm[, "Std. Error"])), vcov = unname(as.matrix(vcov(m))),
    satterthwaite_df = I(unname(sm[, "df"])), t = I(unname(sm[, "t value"])), p = I(unname(sm[, "Pr(>|t|)"])),
    theta = I(unname(getME(m, "theta"))), theta_names = I(names(getME(m, "theta"))), sigma = sigma(m),
    varcorr = vc, objective = unname(if (isTRUE(case$reml)) REMLcrit(m) else deviance(m)),
    loglik = as.numeric(logLik(m)), npar = attr(logLik(m), "df"), aic = AIC(m), bic = BIC(m),
    is_singular = isSingular(m), ranef = ranef_out, lme4_fit_seconds = median(times))
  if (!is.null(case$kenward_roger) && isTRUE(case$kenward_roger)) {
    kr <- summary(m, ddf = "Kenward-Roger")$coefficients
    out$kenward_roger_df <- I(unname(kr[, "df"])); out$kenward_roger_se <- I(unname(kr[, "Std. Error"]))
  }
  if (!is.null(case$contrasts)) {
    out$contrasts <- lapply(case$contrasts, function(L) {
      r <- contest1D(m, unlist(L), ddf = "Satterthwaite")
      list(L = I(unlist(L)), estimate = r$Estimate, se = r$`Std. Error`, df = r$df, t = r$`t value`, p = r$`Pr(>|t|)`)
    })
  }
  write_json(out, file.path(out_dir, paste0(case$id, ".json")), digits = NA, auto_unbox = TRUE, pretty = TRUE)
  cat(sprintf("%-28s obj=%.6f (bobyqa - nlopt = %.2e) singular=%s lme4 %.3fs\n", case$id, out$objective,
              obj_check - out$objective, out$is_singular, out$lme4_fit_seconds))
}
if (!is.null(manifest$comparisons)) {
  comps <- lapply(manifest$comparisons, function(cmp) {
    # refit = TRUE: refit both by ML here with the tight tolerances (lme4's own refitML would use
    # default bobyqa settings), then compare as anova(refit = FALSE) does; same definition.
    m1 <- models[[cmp$smaller]]; m2 <- models[[cmp$larger]]
    if (isTRUE(cmp$refit)) {
      ml <- function(id) { cs <- cases[[id]]
        lme4::lmer(as.formula(cs$formula), data = load_data(cs$dataset), REML = FALSE, control = ctl) }
      if (isREML(m1)) m1 <- ml(cmp$smaller)
      if (isREML(m2)) m2 <- ml(cmp$larger)
    }
    a <- suppressMessages(anova(m1, m2, refit = FALSE))
    list(smaller = cmp$smaller, larger = cmp$larger, refit = isTRUE(cmp$refit),
         npar = unname(a$npar), aic = unname(a$AIC), bic = unname(a$BIC), loglik = unname(a$logLik),
         deviance = unname(a$deviance), chisq = unname(a$Chisq[2]), df = unname(a$Df[2]), p = unname(a$`Pr(>Chisq)`[2]))
  })
  write_json(comps, file.path(out_dir, "comparisons.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
}

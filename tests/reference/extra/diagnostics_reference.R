# Residuals and cluster-deletion influence from lme4, by exact refits (no approximation).
# usage: Rscript diagnostics_reference.R DATA_DIR OUT_JSON id dataset group "formula" [id dataset group "formula" ...]
# For every level j of `group`: refit without cluster j (same REML/ML setting) and record, with p fixed effects,
#   cooks    = d' V^-1 d / p        (d = fixef(full) - fixef(without j), V = vcov(full))
#   mdffits  = d' V_j^-1 d / p      (V_j = vcov(without j))
#   covratio = det(V_j) / det(V)
#   covtrace = | trace(V^-1 V_j) - p |
#   rvc      = vc_j / vc - 1 for every row of as.data.frame(VarCorr()) (variances, covariances, residual)
#   leverage = sum of hatvalues(full) over the cluster's rows
# These are HLMdiag's definitions with approx = FALSE. Every fit uses tight optimizer tolerances, so the
# values are those of the true optima (lme4's defaults leave up to ~0.5% noise in Cook's distance).
suppressMessages({library(lme4); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
a <- commandArgs(trailingOnly = TRUE)
data_dir <- a[1]; out <- a[2]; spec <- matrix(a[-(1:2)], ncol = 4, byrow = TRUE)
ctl <- lmerControl(optimizer = "nloptwrap", calc.derivs = FALSE,
                   optCtrl = list(xtol_rel = 1e-12, ftol_rel = 1e-14, ftol_abs = 1e-14, xtol_abs = 1e-12, maxeval = 10000))
res <- list()
for (i in seq_len(nrow(spec))) {
  id <- spec[i, 1]; ds <- spec[i, 2]; grp <- spec[i, 3]; f <- as.formula(spec[i, 4])
  d <- read.csv(file.path(data_dir, paste0(ds, ".csv")), stringsAsFactors = TRUE)
  d[[grp]] <- factor(d[[grp]])
  m <- lmer(f, d, REML = TRUE, control = ctl)
  b <- fixef(m); V <- as.matrix(vcov(m)); p <- length(b); Vi <- solve(V)
  vc <- as.data.frame(VarCorr(m))
  X <- getME(m, "X")
  lev <- levels(d[[grp]])
  rows <- lapply(lev, function(j) {
    mj <- suppressMessages(suppressWarnings(lmer(f, droplevels(d[d[[grp]] != j, ]), REML = TRUE, control = ctl)))
    dj <- b - fixef(mj); Vj <- as.matrix(vcov(mj))
    vcj <- as.data.frame(VarCorr(mj))
    list(level = j,
         cooks = as.numeric(t(dj) %*% Vi %*% dj) / p,
         mdffits = as.numeric(t(dj) %*% solve(Vj) %*% dj) / p,
         covratio = det(Vj) / det(V),
         covtrace = abs(sum(diag(Vi %*% Vj)) - p),
         rvc = vcj$vcov / vc$vcov - 1,
         fixef = unname(fixef(mj)))
  })
  res[[id]] <- list(
    id = id, dataset = ds, formula = spec[i, 4], group = grp, reml = TRUE,
    fixef_names = names(b), varcorr_rows = paste(vc$grp, vc$var1, vc$var2, sep = "|"),
    residuals = list(conditional = unname(residuals(m)),
                     pearson = unname(residuals(m, type = "pearson")),
                     marginal = unname(as.numeric(getME(m, "y") - X %*% b)),
                     fitted = unname(fitted(m)),
                     hatvalues = unname(hatvalues(m))),
    deletion = list(level = sapply(rows, `[[`, "level"),
                    leverage = unname(tapply(hatvalues(m), d[[grp]][as.integer(rownames(model.frame(m)))], sum)[sapply(rows, `[[`, "level")]),
                    cooks = sapply(rows, `[[`, "cooks"),
                    mdffits = sapply(rows, `[[`, "mdffits"),
                    covratio = sapply(rows, `[[`, "covratio"),
                    covtrace = sapply(rows, `[[`, "covtrace"),
                    rvc = lapply(rows, `[[`, "rvc"),
                    fixef = lapply(rows, `[[`, "fixef")))
}
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE), out)

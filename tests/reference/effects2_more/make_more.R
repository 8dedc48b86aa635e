# More marginal-means and prediction cases, beyond ../effects2 (same conventions, same checks).
# usage: Rscript make_more.R [mm] [ml] [terms] [pred]     (from any folder; about 10 minutes on 2 cores, most of
#        it pbkrtest's Kenward-Roger on the 3,435-row crossed design)
# needs: r-cran-lme4 r-cran-lmertest r-cran-pbkrtest r-cran-emmeans r-cran-ggeffects r-cran-mice
#        r-cran-mitml r-cran-broom.mixed r-cran-mlmrev r-cran-jsonlite (../effects2/effects2_lib.R
#        loads them all)
f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
here <- if (length(f)) dirname(normalizePath(f[1])) else getwd()
source(file.path(here, "..", "effects2", "effects2_lib.R"))
dir.create(file.path(here, "data"), showWarnings = FALSE)
only <- commandArgs(trailingOnly = TRUE)
want <- function(kind) length(only) == 0 || kind %in% only

# ScotsSec (mlmRev; Paterson 1991): 3,435 Scottish pupils in 148 primary x 19 secondary schools,
# crossed. social (father's social class, coded 0, 1, 20, 31) is kept as a factor.
suppressMessages(library(mlmRev))
data(ScotsSec, package = "mlmRev")
scots <- data.frame(attain = ScotsSec$attain, verbal = ScotsSec$verbal, sex = as.character(ScotsSec$sex),
                    social = as.character(ScotsSec$social), primary = as.character(ScotsSec$primary),
                    second = as.character(ScotsSec$second))
write.csv(scots, file.path(here, "data", "scotssec.csv"), row.names = FALSE)

# ---- marginal means and pairwise comparisons -------------------------------------------------
if (want("mm")) {
  # Two-valued numerics (sex, minority) as spec, as by (no `at`: emmeans keeps both values),
  # fixed by `at`; several specs at once; a 90% level.
  mm_case("mm_bdf_binary_specs", "../effects2/data/bdf.csv", here, c("school", "denomina"),
          "langPOST ~ denomina * sex + IQ_verb + minority + (1 + IQ_verb | school)", TRUE, "kenward-roger",
          list(list(specs = "denomina", by = "sex"),
               list(specs = "sex"),
               list(specs = c("denomina", "sex")),
               list(specs = "denomina", at = list(minority = 1), level = 0.9)), here)
  # Factor x factor with Satterthwaite df; `at` restricting a factor's levels (emmeans keeps the
  # order given in `at`); two specs.
  mm_case("mm_oats_factorial_satterthwaite", "../effects2/data/oats.csv", here, c("Block", "Variety", "nitro_f"),
          "yield ~ Variety * nitro_f + (1 | Block/Variety)", TRUE, "satterthwaite",
          list(list(specs = "Variety", by = "nitro_f"),
               list(specs = "Variety", at = list(nitro_f = c("0.2cwt", "0.6cwt"))),
               list(specs = c("Variety", "nitro_f"), at = list(Variety = c("Victory", "Marvellous")))), here)
  # Crossed random effects (primary x secondary school), a 4-level and a 2-level factor
  # interacting, a numeric covariate by `at` (one value beyond the data: 60 > max(verbal) = 40).
  mm_case("mm_scots_crossed", "data/scotssec.csv", here, c("sex", "social", "primary", "second"),
          "attain ~ sex * social + verbal + (1 | primary) + (1 | second)", TRUE, "kenward-roger",
          list(list(specs = "social", by = "sex"),
               list(specs = "sex", by = "verbal", at = list(verbal = c(-10, 10, 60)))), here)
  # A numeric predictor as spec, through a transformation (I(Days^2) evaluated at the grid value).
  mm_case("mm_sleep_quadratic", "../data/sleepstudy.csv", here, "Subject",
          "Reaction ~ Days + I(Days^2) + (Days | Subject)", TRUE, "kenward-roger",
          list(list(specs = "Days", at = list(Days = c(0, 4.5, 9))),
               list(specs = "Days")), here)
}

# Kenward-Roger on an ML fit, as emmeans does it: pbkrtest's vcovAdj refits by REML (the SE), the
# df are Lb_ddf(L, vcov(ML fit), vcovAdj).
if (want("mm") || want("ml")) {
  mm_case("mm_oats_ml_kr", "../effects2/data/oats.csv", here, c("Block", "Variety", "nitro_f"),
          "yield ~ Variety * nitro + (1 | Block/Variety)", FALSE, "kenward-roger",
          list(list(specs = "Variety"),
               list(specs = "Variety", by = "nitro", at = list(nitro = c(0, 0.6)))), here)
}

# A numeric column made a factor in the formula (emmeans' "coerced" factor: the column's values
# are the grid's levels) and an offset (for lmer fits emmeans holds the offset at the mean of
# the fitted rows' offsets, whatever `at` says about its variables).
if (want("mm") || want("terms")) {
  mm_case("mm_oats_coerced", "../effects2/data/oats.csv", here, c("Block", "Variety", "nitro_f"),
          "yield ~ Variety + factor(nitro) + (1 | Block)", TRUE, "kenward-roger",
          list(list(specs = "nitro"),
               list(specs = "Variety", by = "nitro")), here)
  mm_case("mm_oats_offset", "../effects2/data/oats.csv", here, c("Block", "Variety", "nitro_f"),
          "yield ~ Variety + nitro + offset(log(nitro + 1)) + (1 | Block)", TRUE, "satterthwaite",
          list(list(specs = "Variety"),
               list(specs = "Variety", by = "nitro", at = list(nitro = c(0, 0.6)))), here)
}

# ---- predictions with intervals, several random terms -----------------------------------------
# As pred_case in ../effects2/effects2_lib.R, with every random term: the random-effect variance of a
# prediction interval is the sum over terms of z_k' C_kj z_k for a cluster the fit saw (C_kj the
# term's postVar block; lme4's condVar gives no covariance between terms) and z_k' T_k z_k for an
# unseen one; fit adds z_k' u_kj for seen clusters only. `terms`: list of list(group, lhs).
pred_multi_case <- function(id, data_rel, string_columns, formula, terms, newdata) {
  df <- read_case_data(file.path(here, data_rel), string_columns)
  m <- fit_lmer(formula, df, TRUE)
  tt <- delete.response(terms(m, fixed.only = TRUE))
  xlev <- lapply(Filter(is.factor, df[intersect(names(df), all.vars(tt))]), levels)
  b <- fixef(m); V <- as.matrix(vcov(m)); s2 <- sigma(m)^2
  re <- ranef(m, condVar = TRUE)
  nd <- newdata
  for (c in names(nd)) if (is.factor(df[[c]]) && c %in% names(xlev)) nd[[c]] <- factor(as.character(nd[[c]]), levels = levels(df[[c]]))
  X <- model.matrix(tt, model.frame(tt, nd, xlev = xlev))
  stopifnot(identical(colnames(X), names(b)))
  fit_marg <- drop(X %*% b); fit_cond <- fit_marg
  ztz <- zcz <- rep(0, nrow(nd)); per_term <- list(); seen_any <- rep(FALSE, nrow(nd))
  for (tm in terms) {
    Tm <- as.matrix(VarCorr(m)[[tm$group]])
    Z <- model.matrix(tm$lhs, nd)
    stopifnot(identical(colnames(Z), colnames(Tm)))
    r <- re[[tm$group]]; pv <- attr(r, "postVar")
    idx <- match(group_labels(nd, tm$group), rownames(r)); seen <- !is.na(idx)
    u <- matrix(0, nrow(nd), ncol(Z)); u[seen, ] <- as.matrix(r)[idx[seen], , drop = FALSE]
    t_k <- rowSums((Z %*% Tm) * Z); c_k <- t_k
    for (i in which(seen)) c_k[i] <- drop(Z[i, ] %*% matrix(pv[, , idx[i]], ncol(Z)) %*% Z[i, ])
    fit_cond <- fit_cond + rowSums(Z * u)
    ztz <- ztz + t_k; zcz <- zcz + c_k
    per_term[[tm$group]] <- list(seen = I(seen), zTz = I(unname(t_k)), zCz = I(unname(c_k)), re_covariance = unname(Tm))
  }
  stopifnot(isTRUE(all.equal(unname(fit_marg), unname(predict(m, nd, re.form = NA)), tolerance = 1e-10)))
  stopifnot(isTRUE(all.equal(unname(fit_cond), unname(predict(m, nd, re.form = NULL, allow.new.levels = TRUE)), tolerance = 1e-10)))
  xvx <- rowSums((X %*% V) * X); se <- sqrt(xvx)
  one <- function(include_re, interval, level) {
    z <- qnorm(1 - (1 - level) / 2)
    fit <- if (include_re) fit_cond else fit_marg
    re_var <- if (include_re) zcz else ztz
    sd <- if (interval == "confidence") se else sqrt(xvx + re_var + s2)
    list(include_re = include_re, interval = interval, level = level, z = z,
         fit = I(unname(fit)), std_error = I(unname(se)), lower = I(unname(fit - z * sd)), upper = I(unname(fit + z * sd)),
         interval_sd = I(unname(sd)))
  }
  out <- list(id = id, kind = "predictions", data = data_rel, string_columns = I(string_columns),
              formula = formula, reml = TRUE, lme4_control = tight_control_text,
              groups = I(vapply(terms, function(t) t$group, "")), newdata = rows_of(newdata),
              fixef_names = I(names(b)), fixef = I(unname(b)), vcov = unname(V), sigma = sigma(m),
              components = list(xVx = I(unname(xvx)), zTz = I(unname(ztz)), zCz = I(unname(zcz)), sigma2 = s2,
                                fit_marginal = I(unname(fit_marg)), fit_conditional = I(unname(fit_cond)),
                                per_term = per_term),
              results = list(one(TRUE, "confidence", 0.95), one(TRUE, "prediction", 0.95),
                             one(FALSE, "confidence", 0.95), one(FALSE, "prediction", 0.95),
                             one(TRUE, "prediction", 0.90)),
              versions = versions())
  write_case(out, here)
}

if (want("pred")) {
  # A 4-level factor in the fixed part and a random slope; schools seen and one unseen.
  pred_case("pred_bdf_factor_slope", "../effects2/data/bdf.csv", here, c("school", "denomina"),
            "langPOST ~ denomina + IQ_verb + sex + (1 + IQ_verb | school)", TRUE, ~ 1 + IQ_verb, "school",
            data.frame(denomina = c("catholic", "public", "protestant", "nondenom", "public", "catholic", "nondenom", "public"),
                       IQ_verb = c(-2, 0, 3, 1.5, -4, 2, 0, 5), sex = c(0, 1, 0, 1, 1, 0, 1, 0),
                       school = c("1", "1", "2", "2", "10", "NEW", "NEW", "NEW")),
            "IQ_verb [-4,0,4]", c("IQ_verb [-4,0,4]", "school [1,2]"), here)
  # Nested terms (1 | Block/Variety): groups Variety:Block and Block; an unseen block.
  pred_multi_case("pred_oats_nested", "../effects2/data/oats.csv", c("Block", "Variety", "nitro_f"),
                  "yield ~ Variety + nitro + (1 | Block/Variety)",
                  list(list(group = "Variety:Block", lhs = ~ 1), list(group = "Block", lhs = ~ 1)),
                  data.frame(Variety = c("Victory", "Golden Rain", "Marvellous", "Victory", "Golden Rain", "Marvellous"),
                             nitro = c(0, 0.3, 0.6, 0.2, 0.4, 0.8),
                             Block = c("I", "I", "V", "VI", "VII", "VII")))
  # Crossed terms: rows seen in both factors, in one of them, in neither.
  pred_multi_case("pred_scots_crossed", "data/scotssec.csv", c("sex", "social", "primary", "second"),
                  "attain ~ sex + social + (1 | primary) + (1 | second)",
                  list(list(group = "primary", lhs = ~ 1), list(group = "second", lhs = ~ 1)),
                  data.frame(sex = c("M", "F", "F", "M", "F", "M"), social = c("0", "20", "31", "1", "0", "20"),
                             primary = c("1", "1", "20", "999", "3", "999"),
                             second = c("9", "1", "999", "2", "999", "999")))
}

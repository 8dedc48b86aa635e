# What sjPlot::tab_model tables of glmer fits and mitml-pooled lmer fits are made of, for the
# paper-table tests of the other result kinds.  Run from this folder:
#   Rscript make_paper_kinds_reference.R
# Writes paper_kinds_reference.json.  Needs lme4, jsonlite, parameters, performance, insight,
# sjPlot (apt-get install -y r-cran-sjplot), mitml.
#
# glmm.<id> (data and model from ../glmm/manifest.json, fitted as generate_glmm.R does):
#   ratio, link        parameters::model_parameters(m, effects = "fixed", ci_method = "wald",
#                      exponentiate = TRUE / FALSE): Coefficient, SE, CI bounds, z, p (the
#                      columns tab_model() prints by default / with transform = NULL)
#   variance           insight::get_variance(m): var.residual (tab_model's sigma^2),
#                      var.distribution, var.dispersion, var.intercept, var.slope
#   icc, r2            performance::icc, performance::r2_nakagawa
#   fit                AIC, BIC, logLik, -2 logLik
#   sjplot, sjplot_link  tab_model(m, show.se = TRUE) and tab_model(m, transform = NULL,
#                      show.se = TRUE): the table's cell texts, row by row
# pooled.<id> (imputations from ../effects2, as make_shared.R pools them):
#   estimate, std_error, df, t, p, lower, upper   mitml::testEstimates(fits, df.com = df_com)
#                      and confint() of it (Barnard-Rubin df, 95% t intervals)
suppressMessages({
  library(lme4); library(jsonlite); library(parameters); library(performance)
  library(insight); library(sjPlot); library(mitml)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
`%||%` <- function(a, b) if (is.null(a)) b else a

glmm_dir <- file.path("..", "glmm")
manifest <- fromJSON(file.path(glmm_dir, "manifest.json"), simplifyVector = FALSE)
wanted <- c("students_logit", "students_probit", "sites_negbin", "cbpp_laplace")

load_data <- function(case) {
  fac <- unlist(case$factors)
  df <- read.csv(file.path(glmm_dir, "data", paste0(case$dataset, ".csv")),
                 stringsAsFactors = FALSE,
                 colClasses = setNames(rep("character", length(fac)), fac))
  for (col in fac) df[[col]] <- factor(df[[col]], levels = sort(unique(df[[col]])))
  df
}

# glmer with PIRLS converged and a tight optimiser (the glmm README's "tight" record, which
# the library's fits match; glmer's default stops PIRLS early and moves the Hessian SEs by up
# to 1.3%).  The call is built from symbols so parameters/performance can re-evaluate it.
fit_glmm <- function(case, df) {
  env <- new.env(parent = globalenv())
  env$df <- df
  env$FORMULA <- as.formula(case$formula, env = env)
  env$CTRL <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12,
                           optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
  if (case$family == "negative_binomial") {
    cl <- quote(glmer.nb(FORMULA, data = df, control = CTRL))
  } else {
    link <- case$link %||% (if (case$family == "binomial") "logit" else "log")
    cl <- call("glmer", quote(FORMULA), data = quote(df), family = call(case$family, link = link),
               control = quote(CTRL))
  }
  suppressWarnings(suppressMessages(eval(cl, env)))
}

cells <- function(tab) {
  # the rows of tab_model's HTML table, each the list of its cells' texts
  html <- tab$page.content
  rows <- regmatches(html, gregexpr("(?s)<tr[^>]*>.*?</tr>", html, perl = TRUE))[[1]]
  lapply(rows, function(r) {
    tds <- regmatches(r, gregexpr("(?s)<t[dh][^>]*>.*?</t[dh]>", r, perl = TRUE))[[1]]
    txt <- gsub("<[^>]+>", "", tds)
    txt <- gsub("&nbsp;", " ", txt, fixed = TRUE)
    txt <- gsub("&ndash;", "-", txt, fixed = TRUE)
    txt <- gsub("&#45;", "-", txt, fixed = TRUE)
    txt <- gsub("&lt;", "<", txt, fixed = TRUE)
    txt <- gsub("&sigma;", "sigma", txt, fixed = TRUE)
    txt <- gsub("&tau;", "tau", txt, fixed = TRUE)
    txt <- gsub("&rho;", "rho", txt, fixed = TRUE)
    I(trimws(txt))
  })
}

params <- function(m, exponentiate) {
  mp <- as.data.frame(model_parameters(m, effects = "fixed", ci_method = "wald", ci = 0.95,
                                       exponentiate = exponentiate))
  list(term = mp$Parameter, estimate = mp$Coefficient, se = mp$SE, lower = mp$CI_low,
       upper = mp$CI_high, z = mp$z, p = mp$p)
}

result <- list(glmm = list(), pooled = list())
for (case in manifest$cases) {
  if (!(case$id %in% wanted)) next
  message(case$id)
  m <- fit_glmm(case, load_data(case))
  v <- suppressWarnings(get_variance(m))
  entry <- list(formula = case$formula, family = case$family, link = case$link %||% "",
                ratio = params(m, TRUE), link_scale = params(m, FALSE),
                variance = lapply(v, function(x) if (is.null(x)) NULL else I(unname(x))),
                fit = list(aic = AIC(m), bic = BIC(m), loglik = as.numeric(logLik(m)),
                           minus2loglik = -2 * as.numeric(logLik(m))))
  ic <- suppressWarnings(performance::icc(m))
  r2 <- suppressWarnings(performance::r2_nakagawa(m))
  entry$icc <- list(adjusted = ic$ICC_adjusted, unadjusted = ic$ICC_unadjusted)
  entry$r2 <- list(marginal = unname(r2$R2_marginal), conditional = unname(r2$R2_conditional))
  entry$sjplot <- cells(suppressWarnings(tab_model(m, show.se = TRUE)))
  entry$sjplot_link <- cells(suppressWarnings(tab_model(m, transform = NULL, show.se = TRUE)))
  result$glmm[[case$id]] <- entry
}

# -- pooled: the imputations of ../effects2 ----------------------------------------------
pooled_cases <- list(
  list(id = "mi_hsb_int", file = file.path("..", "effects2", "mi_hsb_int.json")),
  list(id = "mi_hsb_slope", file = file.path("..", "effects2", "mi_hsb_slope.json"))
)
for (pc in pooled_cases) {
  message(pc$id)
  ref <- fromJSON(pc$file, simplifyVector = TRUE)
  dir <- dirname(pc$file)
  imps <- lapply(ref$imputations, function(p) {
    d <- read.csv(file.path(dir, p), stringsAsFactors = FALSE,
                  colClasses = setNames(rep("character", length(ref$string_columns)),
                                        ref$string_columns))
    d
  })
  control <- eval(parse(text = ref$lme4_control))  # the tight settings make_shared.R used
  fits <- lapply(imps, function(d) lmer(as.formula(ref$formula), data = d, REML = ref$reml,
                                        control = control))
  df_com <- ref$pooled$df_com
  te <- testEstimates(fits, df.com = df_com)
  est <- te$estimates
  ci <- confint(te, level = 0.95)
  result$pooled[[pc$id]] <- list(
    formula = ref$formula, m = length(fits), df_com = df_com, term = rownames(est),
    estimate = unname(est[, "Estimate"]), std_error = unname(est[, "Std.Error"]),
    t = unname(est[, "t.value"]), df = unname(est[, "df"]), p = unname(est[, "P(>|t|)"]),
    lower = unname(ci[, 1]), upper = unname(ci[, 2]))
}
result$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                        parameters = as.character(packageVersion("parameters")),
                        performance = as.character(packageVersion("performance")),
                        insight = as.character(packageVersion("insight")),
                        sjPlot = as.character(packageVersion("sjPlot")),
                        mitml = as.character(packageVersion("mitml")))
writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
           "paper_kinds_reference.json")

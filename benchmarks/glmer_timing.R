# Times glmer / glmer.nb (default settings, as users run them) on the GLMM benchmark jobs.
# usage: Rscript glmer_timing.R jobs.json out.json
# jobs: [{id, csv, formula, family, link, nagq, weights, factors, reps}], written by bench_glmm.py
suppressMessages({library(lme4); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = TRUE)
jobs <- fromJSON(args[1], simplifyVector = FALSE)
out <- list()
for (job in jobs) {
  fac <- unlist(job$factors)
  df <- read.csv(job$csv, stringsAsFactors = FALSE,
                 colClasses = setNames(rep("character", length(fac)), fac))
  for (f in fac) df[[f]] <- factor(df[[f]], levels = sort(unique(df[[f]])))
  env <- new.env(); env$df <- df; env$FORMULA <- as.formula(job$formula, env = env)
  nb <- job$family == "negative_binomial"
  cl <- if (nb) quote(glmer.nb(FORMULA, data = df)) else quote(glmer(FORMULA, data = df))
  if (!nb) cl$family <- call(job$family, link = job$link)
  if (!is.null(job$weights)) cl$weights <- as.name(job$weights)
  if (job$nagq != 1) cl$nAGQ <- job$nagq
  fit <- function() suppressWarnings(suppressMessages(eval(cl, env)))
  m <- fit()  # warm-up
  times <- replicate(job$reps, system.time(fit())[["elapsed"]])
  out[[job$id]] <- list(median = median(times), times = I(times), loglik = as.numeric(logLik(m)),
                        feval = m@optinfo$feval)
  cat(sprintf("glmer %-26s %8.3f s\n", job$id, median(times)))
}
write_json(out, args[2], digits = NA, auto_unbox = TRUE, pretty = TRUE)

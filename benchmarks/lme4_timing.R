# Time lme4::lmer on the benchmark cases (called by bench.py; not run by the tests).
#
#   Rscript benchmarks/lme4_timing.R jobs.json results.json
#
# jobs.json: list of {id, csv, formula, reml, factors, reps, kind}. kind "fit" times
# lmer() (model frame, model matrices and optimisation: the same work as our formula +
# design + fit) with system.time(), `reps` times, after one warm-up call; kind
# "influence" times the deletion refits lme4 users run for cluster influence
# (one lmer() per level of `group`, as HLMdiag's case_delete / influence.ME do).
# Default lmerControl() (nloptwrap BOBYQA), so m@optinfo$feval is lme4's own count.
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
jobs <- fromJSON(args[1], simplifyVector = FALSE)
out <- list()

read_case <- function(job) {
  d <- read.csv(job$csv)
  for (f in unlist(job$factors)) d[[f]] <- factor(d[[f]])
  d
}

for (job in jobs) {
  d <- read_case(job)
  form <- as.formula(job$formula)
  if (identical(job$kind, "influence")) {
    g <- job$group
    levs <- levels(d[[g]])
    elapsed <- system.time({
      for (l in levs) {
        m <- lmer(form, data = d[d[[g]] != l, ], REML = job$reml)
      }
    })[["elapsed"]]
    out[[job$id]] <- list(times = list(elapsed), median = elapsed, refits = length(levs))
  } else {
    # warm-up (loads code, byte-compiles); skipped for the big simulated cases
    if (!identical(job$warmup, FALSE)) m <- lmer(form, data = d, REML = job$reml)
    times <- numeric(job$reps)
    for (i in seq_len(job$reps)) {
      times[i] <- system.time(m <- lmer(form, data = d, REML = job$reml))[["elapsed"]]
    }
    out[[job$id]] <- list(
      times = as.list(times), median = median(times),
      feval = m@optinfo$feval, objective = if (isREML(m)) REMLcrit(m) else deviance(m)
    )
  }
  cat(sprintf("lme4 %-28s %8.3f s\n", job$id, out[[job$id]]$median), file = stderr())
}
write_json(out, args[2], auto_unbox = TRUE, digits = NA)

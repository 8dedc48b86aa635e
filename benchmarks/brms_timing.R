# Times brms (rstan backend) on one Bayesian benchmark case: compile, then sample at the
# library's default size (4 chains x (1000 warmup + 1000 draws)), as bayes_bench.py times ours.
# usage: Rscript brms_timing.R job.json out.json
# job: {id, csv, formula, groups, priors, adapt_delta, chains, warmup, draws, seed}, written by
# bayes_bench.py from tests/reference/bayes (the same priors and intercept convention as there:
# bf(formula, center = FALSE), the intercept's prior set as class "b", coef "Intercept").
suppressMessages({library(brms); library(posterior); library(jsonlite)})
if (!nzchar(system.file("include", package = "BH"))) rstan::rstan_options(boost_lib = tempdir())
args <- commandArgs(trailingOnly = TRUE)
job <- fromJSON(args[1], simplifyVector = FALSE)
loadavg <- function() as.numeric(strsplit(readLines("/proc/loadavg"), " ")[[1]][1])

d <- read.csv(job$csv, stringsAsFactors = FALSE)
for (g in unlist(job$groups)) d[[g]] <- factor(as.character(d[[g]]))
f <- bf(as.formula(job$formula), center = FALSE)
gp <- get_prior(f, data = d)
prior <- empty_prior()
for (cls in intersect(names(job$priors), unique(gp$class)))
  prior <- prior + set_prior(job$priors[[cls]], class = cls)
if ("b" %in% names(job$priors) && "Intercept" %in% gp$coef[gp$class == "b"])
  prior <- prior + set_prior(job$priors[["b"]], class = "b", coef = "Intercept")
cores <- min(job$chains, parallel::detectCores())

la <- loadavg()
t0 <- proc.time()[["elapsed"]]
m0 <- brm(f, data = d, prior = prior, chains = 0, backend = "rstan", silent = 2, refresh = 0)
t1 <- proc.time()[["elapsed"]]; la <- c(la, loadavg())
fit <- update(m0, recompile = FALSE, chains = job$chains, iter = job$warmup + job$draws,
              warmup = job$warmup, cores = cores, seed = job$seed, refresh = 0, silent = 2,
              control = list(adapt_delta = job$adapt_delta))
t2 <- proc.time()[["elapsed"]]; la <- c(la, loadavg())
vars <- grep("^(b_|sd_|cor_|sigma$)", variables(fit), value = TRUE)
s <- summarise_draws(as_draws_array(fit, variable = vars), "rhat", "ess_bulk", "ess_tail")
out <- list(id = job$id, compile_seconds = t1 - t0, sample_seconds = t2 - t1,
            total_seconds = t2 - t0, cores = cores, load_avg_1min = la,
            chain_seconds = as.data.frame(rstan::get_elapsed_time(fit$fit)),
            divergent = rstan::get_num_divergent(fit$fit),
            variables = s$variable,
            ess_bulk = as.list(setNames(s$ess_bulk, s$variable)),
            rhat = as.list(setNames(s$rhat, s$variable)),
            versions = list(brms = as.character(packageVersion("brms")),
                            rstan = as.character(packageVersion("rstan"))))
write_json(out, args[2], auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat(sprintf("brms %s: compile %.1f s, sample %.1f s\n", job$id, t1 - t0, t2 - t1))

# Extra brms reference cases (extra_manifest.json): priors exactly as mlm.fit(..., priors=) reads them.
# A case's priors may be partial; classes not given keep brms' defaults. As in mlm_jupyter, the
# model is centred (brms' default, the Intercept's prior on the intercept of the centred
# predictors) when the priors name "Intercept" or do not name "b"; otherwise bf(center = FALSE)
# and "b" covers the intercept too. Usage: Rscript brms_extra.R [FOLDER] [CASE_ID ...]
suppressMessages({library(brms); library(posterior); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
folder <- if (length(args) >= 1) args[1] else "."
only <- if (length(args) >= 2) args[-1] else character(0)
if (!nzchar(system.file("include", package = "BH"))) rstan::rstan_options(boost_lib = tempdir())

summarise <- function(fit) {
  vars <- grep("^(b_|sd_|cor_|sigma$)", variables(fit), value = TRUE)
  s <- summarise_draws(as_draws_array(fit, variable = vars), mean, sd,
                       ~quantile2(.x, probs = c(0.025, 0.5, 0.975)), rhat, ess_bulk, ess_tail,
                       ~ess_quantile(.x, probs = c(0.025, 0.975)), mcse_mean, mcse_sd,
                       ~mcse_quantile(.x, probs = c(0.025, 0.975)))
  rows <- lapply(seq_len(nrow(s)), function(i) as.list(s[i, -1]))
  names(rows) <- s$variable
  rows
}

man <- fromJSON(file.path(folder, "extra_manifest.json"), simplifyVector = FALSE)
for (case in man$cases) {
  if (length(only) && !(case$id %in% only)) next
  d <- read.csv(file.path(folder, case$data), stringsAsFactors = TRUE)
  for (g in unlist(case$groups)) d[[g]] <- factor(as.character(d[[g]]))
  pri <- case$priors
  centred <- ("Intercept" %in% names(pri)) || !("b" %in% names(pri))
  f <- bf(as.formula(case$formula), center = centred)
  gp <- get_prior(f, data = d)
  prior <- empty_prior()
  for (cls in intersect(names(pri), unique(gp$class))) prior <- prior + set_prior(pri[[cls]], class = cls)
  if (!centred && "b" %in% names(pri) && "Intercept" %in% gp$coef[gp$class == "b"])
    prior <- prior + set_prior(pri[["b"]], class = "b", coef = "Intercept")
  if (!length(pri)) prior <- NULL
  t0 <- proc.time()[["elapsed"]]
  fit <- brm(f, data = d, prior = prior, chains = 4, iter = 6000, warmup = 1000, cores = 2,
             seed = 1, refresh = 0, silent = 2, backend = "rstan",
             control = list(adapt_delta = 0.95))
  t1 <- proc.time()[["elapsed"]]
  ps <- as.data.frame(prior_summary(fit))
  out <- list(id = case$id, data = case$data, formula = case$formula, groups = unlist(case$groups),
              nobs = nrow(d), priors = if (length(pri)) pri else setNames(list(), character(0)),
              centred = centred, brms_prior = ps[, c("prior", "class", "coef", "group", "source")],
              sampler = list(chains = 4, warmup = 1000, draws_per_chain = 5000, seed = 1, adapt_delta = 0.95),
              posterior = summarise(fit),
              diagnostics = list(divergent = rstan::get_num_divergent(fit$fit),
                                 max_treedepth_hits = rstan::get_num_max_treedepth(fit$fit)),
              seconds_compile_and_sample = t1 - t0,
              versions = list(brms = as.character(packageVersion("brms")),
                              rstan = as.character(packageVersion("rstan"))))
  write_json(out, file.path(folder, paste0(case$id, ".json")), auto_unbox = TRUE, digits = NA, pretty = TRUE)
  cat(sprintf("%s: %.1fs, divergent %d\n", case$id, t1 - t0, out$diagnostics$divergent))
}

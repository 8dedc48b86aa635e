# Exact deletion refits for cluster influence (writes influence.json): glmer without each herd
# (cbpp) and without each site (sites, Poisson with the same formula).
# usage: Rscript influence_glmm.R   (needs r-cran-lme4, r-cran-jsonlite)
suppressMessages({library(lme4); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
here <- local({
  a <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(a)) dirname(normalizePath(sub("^--file=", "", a[1]))) else getwd()
})
rd <- function(name, fac) {
  df <- read.csv(file.path(here, "..", "glmm", "data", paste0(name, ".csv")), stringsAsFactors = FALSE,
                 colClasses = setNames(rep("character", length(fac)), fac))
  for (f in fac) df[[f]] <- factor(df[[f]], levels = sort(unique(df[[f]])))
  df
}
ctrl <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
cbpp <- rd("cbpp", c("herd", "period"))
fit <- function(d) glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), d, binomial, control = ctrl)
m <- fit(cbpp)
V <- as.matrix(vcov(m, use.hessian = FALSE))
levels_ <- levels(cbpp$herd)
rows <- lapply(levels_, function(h) {
  mj <- suppressMessages(fit(droplevels(cbpp[cbpp$herd != h, ])))
  d <- fixef(m) - fixef(mj)
  list(level = h, fixef = I(unname(fixef(mj))), theta = I(unname(getME(mj, "theta"))),
       cooks = as.numeric(t(d) %*% solve(V) %*% d) / length(d),
       se_rx = I(unname(sqrt(diag(as.matrix(vcov(mj, use.hessian = FALSE)))))))
})
write_json(list(cbpp_laplace = rows), file.path(here, "influence.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)

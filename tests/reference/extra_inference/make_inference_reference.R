# Profile and parametric-bootstrap reference numbers for mlm_jupyter's confint and compare.
# Run from this folder: Rscript make_inference_reference.R  (lme4, jsonlite)
suppressMessages({library(lme4); library(jsonlite)})
sleep <- read.csv("../data/sleepstudy.csv", colClasses = c(Subject = "character"))
hsb <- read.csv("../data/hsb.csv", colClasses = c(school = "character"))
ci <- function(m, method, ...) {
  x <- suppressWarnings(suppressMessages(confint(m, method = method, oldNames = TRUE, ...)))
  list(names = rownames(x), lower = unname(x[, 1]), upper = unname(x[, 2]))
}
m1 <- lmer(Reaction ~ Days + (Days | Subject), sleep, REML = TRUE)
m2 <- lmer(Reaction ~ Days + (Days | Subject), sleep, REML = FALSE)
m3 <- lmer(mathach ~ cses + (1 | school), hsb, REML = TRUE)
out <- list(
  sleep_slope_reml = list(formula = "Reaction ~ Days + (Days | Subject)", reml = TRUE,
                          dataset = "sleepstudy", profile = ci(m1, "profile")),
  sleep_slope_ml = list(formula = "Reaction ~ Days + (Days | Subject)", reml = FALSE,
                        dataset = "sleepstudy", profile = ci(m2, "profile")),
  hsb_int = list(formula = "mathach ~ cses + (1 | school)", reml = TRUE,
                 dataset = "hsb", profile = ci(m3, "profile"))
)
set.seed(1)
out$sleep_slope_reml$boot <- ci(m1, "boot", nsim = 2000, boot.type = "perc")
writeLines(toJSON(out, digits = 15, auto_unbox = TRUE, pretty = TRUE), "inference_reference.json")

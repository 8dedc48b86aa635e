# R's model.matrix column names and values for a table of formulas, and lmer fits for
# the data-intake cases (integer products, interactions without main effects, offset,
# poly/scale predictions).  Run: Rscript model_matrix.R  (writes data.csv, model_matrix.json)
suppressMessages({library(lme4); library(jsonlite)})
set.seed(15)
n <- 60
d <- data.frame(
  y = rnorm(n, 10, 2),
  x = round(rnorm(n), 3),
  z = round(runif(n, 1, 5), 3),
  w = sample(0:4, n, replace = TRUE),
  f1 = sample(c("a", "b", "c"), n, replace = TRUE),
  f2 = sample(c("lo", "hi"), n, replace = TRUE),
  flag = sample(c(TRUE, FALSE), n, replace = TRUE),
  x.1 = round(rnorm(n, 3), 3),
  g.id = rep(sprintf("s%02d", 1:10), each = 6),
  check.names = FALSE
)
d$`x 1` <- round(rnorm(n), 3)
d$g <- d$g.id
u <- rnorm(10, 0, 1.5)
d$y <- round(10 + u[as.integer(factor(d$g))] + 0.5 * d$x + 0.3 * d$z + rnorm(n), 4)
write.csv(d, "data.csv", row.names = FALSE)
d <- read.csv("data.csv", check.names = FALSE)  # what Python reads
d$flag <- as.logical(d$flag)

formulas <- c(
  "~ x", "~ 0 + x", "~ x - 1", "~ -1 + x", "~ f1", "~ 0 + f1", "~ f1 - 1", "~ f1 + f2",
  "~ 0 + f1 + f2", "~ f1:f2", "~ 0 + f1:f2", "~ f1*f2", "~ f1:f2 + f1", "~ f1:f2 + f2",
  "~ x:f1", "~ x + x:f1", "~ f1:x", "~ 0 + x:f1", "~ f1*f2*x", "~ f1*x*f2", "~ x*z",
  "~ z:x", "~ x*z + z:w", "~ (x + z + w)^2", "~ (f1 + f2 + x)^2", "~ x*z - x",
  "~ f1/x", "~ f1/f2", "~ x/f1", "~ flag", "~ 0 + flag", "~ x*flag", "~ flag:f2",
  "~ x:z:f1", "~ x:z:f1 + x", "~ x + f1:f2:x", "~ f1 + f1:f2:x", "~ I(x^2) + x",
  "~ I(x * 2) + I(x/1000)", "~ log(z) + exp(x) + sqrt(z) + abs(x)", "~ poly(x, 2)",
  "~ poly(x, 3) + f1", "~ poly(x, degree = 2, raw = TRUE)", "~ scale(x)",
  "~ scale(z, center = FALSE)", "~ factor(w)", "~ as.factor(w) + x", "~ factor(w):x",
  "~ as.numeric(w)", "~ log(x.1)", "~ I(x.1^2) + x.1", "~ `x 1` + x.1", "~ log(`x 1` + 5)",
  "~ relevel(factor(f1), ref = \"b\")", "~ x.1:f1 + f2", "~ I(x > 0)", "~ 1",
  "~ f2*f1", "~ w + f1 + w:f1", "~ f1 + x + f1:x + f2 + f2:x", "~ b:a + a",
  "~ x + I(z^2):f2", "~ 0 + f1:x + f2"
)
dd <- d; dd$a <- d$x; dd$b <- d$z
mm <- lapply(formulas, function(f) {
  X <- model.matrix(as.formula(f), dd)
  list(formula = f, names = colnames(X), values = unname(as.matrix(X)))
})

# lmer fits
fits <- list()
add_fit <- function(name, formula, data, newdata = NULL, reml = TRUE) {
  m <- lmer(as.formula(formula), data, REML = reml)
  out <- list(formula = formula, fixef = as.list(fixef(m)), theta = unname(getME(m, "theta")),
              sigma = sigma(m), objective = unname(deviance(m, REML = reml)),
              reml = reml, fitted = unname(fitted(m)))
  if (reml) out$objective <- unname(getME(m, "devcomp")$cmp[["REML"]])
  if (!is.null(newdata)) {
    out$predict <- unname(predict(m, newdata = newdata, allow.new.levels = TRUE))
    out$predict_fixed <- unname(predict(m, newdata = newdata, re.form = NA))
  }
  fits[[name]] <<- out
}
# int16-sized age and income: R multiplies doubles
set.seed(2)
k <- 400
ai <- data.frame(g = rep(1:40, each = 10), age = sample(150:250, k, TRUE),
                 inc = sample(100:300, k, TRUE))
ai$y <- 1 + 0.001 * ai$age * ai$inc + rnorm(40)[ai$g] + rnorm(k)
write.csv(ai, "age_income.csv", row.names = FALSE)
add_fit("age_income", "y ~ age * inc + (1 | g)", ai)
add_fit("f1f2_no_main", "y ~ f1:f2 + (1 | g)", d)
add_fit("x_by_f1", "y ~ x:f1 + (1 | g)", d)
add_fit("offset", "y ~ x + offset(z) + (1 | g)", d, newdata = d[1:8, ])
add_fit("offset_scaled", "y ~ x + offset(0.5 * z) + (1 + x | g)", d)
nd <- d[c(1, 7, 13, 19), ]; nd$x <- nd$x + 0.25
add_fit("poly_scale", "y ~ poly(x, 2) + scale(z) + (1 | g)", d, newdata = nd)
add_fit("dotted", "y ~ log(x.1) + I(x.1^2) + (1 | g.id)", d, newdata = nd)
add_fit("factor_call", "y ~ factor(w) + as.numeric(z) + (1 | g)", d, newdata = nd)
add_fit("random_factor", "y ~ x + (0 + f2 | g)", d, newdata = nd)
# new and missing cluster ids get the population prediction (allow.new.levels = TRUE)
nl <- nd; nl$g[2] <- "s99"; nl$g[3] <- NA
add_fit("new_levels", "y ~ x + f1 + (1 + x | g)", d, newdata = nl)

writeLines(toJSON(list(model_matrix = mm, fits = fits,
                       versions = list(R = R.version.string,
                                       lme4 = as.character(packageVersion("lme4")))),
                  digits = NA, auto_unbox = TRUE, pretty = FALSE),
           "model_matrix.json")

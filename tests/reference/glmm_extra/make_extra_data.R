# Writes data/ for the extra GLMM cases (manifest.json next to this script): real data from
# mlmRev and seeded simulations. Generating models are in the comments.
# needs: apt-get install r-base-core r-cran-lme4 r-cran-mlmrev
suppressMessages(library(mlmRev))
here <- local({
  a <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(a)) dirname(normalizePath(sub("^--file=", "", a[1]))) else getwd()
})
out <- function(df, name) write.csv(df, file.path(here, "data", paste0(name, ".csv")), row.names = FALSE)

# mlmRev::Contraception (Bangladesh fertility survey): use is a factor N/Y.
cc <- Contraception
cc$age2 <- cc$age^2
out(cc[, c("woman", "district", "use", "livch", "age", "age2", "urban")], "contraception")
# mlmRev::Mmmec (melanoma deaths in the EEC): counts with expected deaths as exposure.
out(Mmmec, "mmmec")
# mlmRev::guImmun (Guatemalan child immunisation): children in mothers in communities.
out(guImmun[, c("immun", "kid2p", "mom25p", "ord", "ethn", "momEd", "rural", "mom", "comm")], "guimmun")

set.seed(20261201)
# crossed: 60 subjects x 25 of 40 items; logit P = -0.3 + 0.8 x + 0.5 z + s_subj + s_item,
# sd 1.0 (subject) and 0.6 (item); x item-level, z subject-level; response TRUE/FALSE.
ns <- 60; ni <- 40
rows <- do.call(rbind, lapply(1:ns, function(s) data.frame(subj = s, item = sort(sample(ni, 25)))))
xi <- rnorm(ni); zs <- rnorm(ns); us <- rnorm(ns, 0, 1.0); ui <- rnorm(ni, 0, 0.6)
eta <- -0.3 + 0.8 * xi[rows$item] + 0.5 * zs[rows$subj] + us[rows$subj] + ui[rows$item]
rows$x <- round(xi[rows$item], 3); rows$z <- round(zs[rows$subj], 3)
rows$correct <- runif(nrow(rows)) < plogis(eta)
rows$subj <- sprintf("s%02d", rows$subj); rows$item <- sprintf("i%02d", rows$item)
out(rows, "crossed")

# counts: 80 groups x 12; log mu = 0.5 + 0.4 x + b0 + b1 x, sd(b0) 0.5, sd(b1) 0.3, cor 0.3;
# income (dollars, ~50,000) enters with coefficient 1e-5 per dollar.
g <- rep(1:80, each = 12); n <- length(g)
S <- matrix(c(0.25, 0.045, 0.045, 0.09), 2); b <- matrix(rnorm(160), 80) %*% chol(S)
x <- round(rnorm(n), 3); income <- round(rnorm(n, 50000, 15000))
mu <- exp(0.5 + 0.4 * x + 1e-5 * (income - 50000) + b[g, 1] + b[g, 2] * x)
out(data.frame(g = sprintf("g%02d", g), x = x, income = income, count = rpois(n, mu)), "counts")

# dose-response: 30 batches x 6 doses, cbind(dead, alive), cloglog P = -1.5 + 0.7 dose + b,
# sd(b) 0.4, 20 insects per cell.
batch <- rep(1:30, each = 6); dose <- rep(0:5, 30); bb <- rnorm(30, 0, 0.4)
p <- 1 - exp(-exp(-1.5 + 0.7 * dose + bb[batch]))
dead <- rbinom(length(p), 20, p)
out(data.frame(batch = sprintf("b%02d", batch), dose = dose, dead = dead, alive = 20 - dead), "doses")

# longitudinal binomial counts: 50 ids x 5 times, 8-15 trials, treatment x time,
# logit P = -0.5 + 0.3 trt + 0.2 time + 0.25 trt:time + b0 + b1 time, sd 0.7 / 0.2, cor -0.2.
id <- rep(1:50, each = 5); time <- rep(0:4, 50); trt <- rep(rep(c("ctl", "trt"), each = 25), each = 5)
S <- matrix(c(0.49, -0.028, -0.028, 0.04), 2); b <- matrix(rnorm(100), 50) %*% chol(S)
m <- sample(8:15, length(id), replace = TRUE)
p <- plogis(-0.5 + 0.3 * (trt == "trt") + 0.2 * time + 0.25 * (trt == "trt") * time + b[id, 1] + b[id, 2] * time)
s <- rbinom(length(p), m, p)
out(data.frame(id = sprintf("p%02d", id), time = time, trt = trt, success = s, trials = m,
               prop = s / m), "panel")

# near-zero cluster variance: 25 clusters x 8 binary outcomes, no cluster effect at all.
set.seed(7)
cl <- rep(1:25, each = 8); xs <- round(rnorm(200), 3)
out(data.frame(cl = sprintf("c%02d", cl), x = xs, y = rbinom(200, 1, plogis(-0.2 + 0.6 * xs))), "flat")

# overdispersed counts with exposure: 40 sites x 10 visits, t hours 1-8,
# log mu = log t - 1 + 0.3 x + b0 + b1 x (sd 0.4 / 0.2, independent), NB theta 3.
set.seed(11)
site <- rep(1:40, each = 10); xx <- round(rnorm(400), 3); tt <- sample(1:8, 400, replace = TRUE)
b0 <- rnorm(40, 0, 0.4); b1 <- rnorm(40, 0, 0.2)
mu <- tt * exp(-1 + 0.3 * xx + b0[site] + b1[site] * xx)
out(data.frame(site = sprintf("s%02d", site), x = xx, hours = tt, count = rnbinom(400, size = 3, mu = mu)), "visits")

# nested counts: 20 schools x 4 classes x 10 pupils; log mu = 0.2 + 0.3 x + school + class,
# sd 0.5 and 0.3.
set.seed(13)
school <- rep(1:20, each = 40); class <- rep(rep(1:4, each = 10), 20)
us <- rnorm(20, 0, 0.5); uc <- rnorm(80, 0, 0.3); xx <- round(rnorm(800), 3)
mu <- exp(0.2 + 0.3 * xx + us[school] + uc[(school - 1) * 4 + class])
out(data.frame(school = sprintf("sch%02d", school), class = sprintf("c%d", class), x = xx,
               errors = rpois(800, mu)), "schools")

# Writes the data sets of the extra reference cases as plain CSV (numeric 0/1 for binary factors,
# strings for categorical and grouping factors), so R and Python read exactly the same numbers.
# usage: Rscript export_data.R DATA_DIR
# Simulated sets use R's default RNG (Mersenne-Twister, Inversion, Rejection; R >= 3.6) with the
# seeds below; the CSVs are the ground truth, regeneration is only for provenance.
suppressMessages({library(lme4); library(mlmRev)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
w <- function(df, name) write.csv(df, file.path(dir, paste0(name, ".csv")), row.names = FALSE)

# egsingle (mlmRev; Bryk & Raudenbush's Chicago math growth data, 7230 rows, 60 schools):
# every third school in sorted schoolid order (20 schools, 2588 rows, 605 children), rows in the
# package's order. year = grade - 3.5 (centred); childid is unique across schools.
data(egsingle)
sch <- sort(unique(as.character(egsingle$schoolid)))
keep <- sch[seq(1, length(sch), by = 3)]
eg <- egsingle[as.character(egsingle$schoolid) %in% keep, ]
w(data.frame(schoolid = as.character(eg$schoolid), childid = as.character(eg$childid),
             year = eg$year, grade = eg$grade, math = eg$math,
             female = as.integer(eg$female == "Female"), black = as.integer(eg$black == "1"),
             hispanic = as.integer(eg$hispanic == "1"), retained = as.integer(eg$retained == "1"),
             lowinc = eg$lowinc), "egsingle")

# Exam (mlmRev; Goldstein's inner-London exam scores, 4059 pupils in 65 schools).
# intake = the pupil's intake-score band recoded "bottom 25%" -> "bottom", "mid 50%" -> "mid",
# "top 25%" -> "top" (so the reference level is "bottom" in sorted order, as in the package);
# school = "S01".."S65" (the package's 1..65, prefixed so that the ids are strings that sort in
# the package's order); schgend = school gender "mixed" / "boys" / "girls" (sorted order makes "boys" the reference).
data(Exam)
intake <- c("bottom 25%" = "bottom", "mid 50%" = "mid", "top 25%" = "top")[as.character(Exam$intake)]
w(data.frame(school = sprintf("S%02d", as.integer(as.character(Exam$school))), normexam = Exam$normexam, standLRT = Exam$standLRT,
             intake = unname(intake), female = as.integer(Exam$sex == "F"),
             schgend = as.character(Exam$schgend), schavg = Exam$schavg), "exam")

data(sleepstudy)
w(data.frame(Reaction = sleepstudy$Reaction, Days = sleepstudy$Days,
             Subject = as.character(sleepstudy$Subject)), "sleepstudy")
data(Dyestuff2)
w(data.frame(Yield = Dyestuff2$Yield, Batch = as.character(Dyestuff2$Batch)), "dyestuff2")

# crossed_slope: 40 subjects x 20 items, every subject sees every item once (800 rows).
# y = 0.5 + 0.8 x + s0 + s1 x + i0 + e, x ~ N(0, 1) per trial,
# (s0, s1) ~ N(0, [1, -0.3*1*0.4; ., 0.4^2]), i0 ~ N(0, 0.6^2), e ~ N(0, 1).
set.seed(20261123)
ns <- 40; ni <- 20
z0 <- rnorm(ns); z1 <- rnorm(ns)
s0 <- 1 * z0; s1 <- 0.4 * (-0.3 * z0 + sqrt(1 - 0.3^2) * z1)
i0 <- rnorm(ni, sd = 0.6)
d <- expand.grid(item = seq_len(ni), subject = seq_len(ns))
x <- rnorm(nrow(d))
y <- 0.5 + 0.8 * x + s0[d$subject] + s1[d$subject] * x + i0[d$item] + rnorm(nrow(d))
w(data.frame(y = y, x = x, subject = sprintf("s%02d", d$subject), item = sprintf("i%02d", d$item)),
  "crossed_slope")

# noint_two: 60 groups x 10 observations; random slopes of x and z, no random intercept.
# y = 2 + 1 x - 0.5 z + u1 x + u2 z + e, (u1, u2) ~ N(0, [0.8^2, 0.3*0.8*0.5; ., 0.5^2]), e ~ N(0, 1).
set.seed(20261124)
ng <- 60; per <- 10
z1 <- rnorm(ng); z2 <- rnorm(ng)
u1 <- 0.8 * z1; u2 <- 0.5 * (0.3 * z1 + sqrt(1 - 0.3^2) * z2)
g <- rep(seq_len(ng), each = per)
x <- rnorm(ng * per); z <- rnorm(ng * per)
y <- 2 + 1 * x - 0.5 * z + u1[g] * x + u2[g] * z + rnorm(ng * per)
w(data.frame(y = y, x = x, z = z, g = sprintf("g%02d", g)), "noint_two")

# lme4 1.1-31 on textbook data sets the engine was not developed on, and on rescaled
# variants of them (tests/test_textbook.py).  Writes data/*.csv and textbook_reference.json.
#   Rscript tests/reference/textbook/textbook_reference.R
# Needs r-base-core r-cran-lme4 r-cran-mlmrev r-cran-jsonlite.
suppressPackageStartupMessages({library(lme4); library(mlmRev); library(jsonlite)})
here <- (function() {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "."
})()
dir.create(file.path(here, "data"), showWarnings = FALSE)
unorder <- function(d) { for (v in names(d)) if (is.ordered(d[[v]])) d[[v]] <- factor(d[[v]], ordered = FALSE); d }
# Factors with their levels sorted, as R's factor() orders the labels of a CSV column: the
# tests read the CSV files, so both sides use the same reference levels.
sorted_levels <- function(d) { for (v in names(d)) if (is.factor(d[[v]])) d[[v]] <- factor(as.character(d[[v]]), levels = sort(unique(as.character(d[[v]])))); d }
save <- function(d, name) { d <- sorted_levels(d); write.csv(d, file.path(here, "data", paste0(name, ".csv")), row.names = FALSE); d }
info <- function(m, dataset) {
  list(dataset = dataset, formula = deparse1(formula(m)), reml = isREML(m),
       objective = unname(if (isREML(m)) REMLcrit(m) else deviance(m)), theta = unname(getME(m, "theta")),
       fixef = unname(fixef(m)), fixef_names = names(fixef(m)), sigma = sigma(m),
       nobs = nobs(m), lme4_messages = paste(m@optinfo$conv$lme4$messages, collapse = "; "),
       seconds = unname(system.time(update(m))[["elapsed"]]))
}
out <- list()
fitcase <- function(id, formula, d, dataset, reml = TRUE) {
  m <- lmer(formula, d, REML = reml)
  out[[id]] <<- info(m, dataset)
}
exam <- save(Exam[, c("normexam", "standLRT", "sex", "schavg", "school")], "exam")
fitcase("exam_slope_ml", normexam ~ standLRT + sex + schavg + (1 + standLRT | school), exam, "exam", FALSE)
exam2 <- transform(exam, lrt = standLRT * 1000 + 500)
save(exam2, "exam_rescaled")
fitcase("exam_slope_ml_rescaled", normexam ~ lrt + sex + schavg + (1 + lrt | school), exam2, "exam_rescaled", FALSE)
gcse <- save(Gcsemv[, c("written", "gender", "school")], "gcsemv")
fitcase("gcsemv_int", written ~ gender + (1 | school), gcse, "gcsemv")
ox <- save(Oxboys[, c("height", "age", "Subject")], "oxboys")
fitcase("oxboys_quad_ml", height ~ age + I(age^2) + (1 + age + I(age^2) | Subject), ox, "oxboys", FALSE)
ox2 <- save(data.frame(height_mm = ox$height * 10, age_months = (ox$age + 13) * 12, Subject = ox$Subject), "oxboys_rescaled")
fitcase("oxboys_quad_ml_rescaled", height_mm ~ age_months + I(age_months^2) + (1 + age_months + I(age_months^2) | Subject), ox2, "oxboys_rescaled", FALSE)
scots <- save(ScotsSec[, c("attain", "verbal", "sex", "primary", "second")], "scots")
fitcase("scots_crossed", attain ~ verbal * sex + (1 | primary) + (1 | second), scots, "scots")
scots2 <- save(transform(scots, attain = attain + 1e6), "scots_shifted")
fitcase("scots_crossed_shifted", attain ~ verbal * sex + (1 | primary) + (1 | second), scots2, "scots_shifted")
chem <- save(Chem97[, c("score", "gcsescore", "gender", "age", "lea", "school")], "chem97")
fitcase("chem97_nested", score ~ gcsescore + gender + age + (1 | lea/school), chem, "chem97")
early <- save(Early[, c("cog", "age", "trt", "id")], "early")
fitcase("early_slope", cog ~ age * trt + (1 + age | id), early, "early")
cake2 <- save(unorder(cake[, c("angle", "recipe", "temperature", "replicate")]), "cake")
fitcase("cake_factorial", angle ~ recipe * factor(temperature) + (1 | recipe:replicate), cake2, "cake")
st <- save(unorder(na.omit(star[, c("math", "gr", "sx", "eth", "cltype", "tch", "sch")])), "star")
fitcase("star_crossed", math ~ gr + sx + eth + cltype + (1 | tch) + (1 | sch), st, "star")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(here, "textbook_reference.json"))

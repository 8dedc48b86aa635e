# Writes lme4 1.1's print(anova(m0, m1, ...)) for the comparisons test_frames.py checks, one
# text file each: the layout mlm.compare() displays (per-column format(), format.pval).
# usage (from tests/): Rscript display_reference/anova.R
suppressMessages(library(lme4))
Sys.setlocale("LC_COLLATE", "C")
options(width = 200)
read <- function(name) {
  df <- read.csv(file.path("reference", "data", paste0(name, ".csv")), stringsAsFactors = FALSE)
  for (col in names(df)) if (is.character(df[[col]]))
    df[[col]] <- factor(df[[col]], levels = sort(unique(df[[col]])))
  df
}
hsb <- read("hsb")
sleepstudy <- read("sleepstudy")
cases <- list(
  anova_hsb_slope = list(data = hsb, formulas = c(
    "mathach ~ cses + (1 | school)", "mathach ~ cses + (1 + cses | school)")),
  anova_hsb_three = list(data = hsb, formulas = c(
    "mathach ~ 1 + (1 | school)", "mathach ~ cses + (1 + cses | school)",
    "mathach ~ cses * catholic + meanses + (1 + cses | school)")),
  anova_sleep = list(data = sleepstudy, formulas = c(
    "Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days | Subject)"))
)
for (id in names(cases)) {
  case <- cases[[id]]
  models <- lapply(case$formulas, function(f) lmer(as.formula(f), data = case$data))
  out <- capture.output(print(do.call(anova, models)))
  writeLines(out, file.path("display_reference", paste0(id, ".txt")))
}

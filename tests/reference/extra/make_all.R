# Regenerates everything in this folder: data CSVs, lme4 case JSONs + comparisons, effects, diagnostics.
# usage (from anywhere): Rscript tests/reference/extra/make_all.R
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))))
setwd(here)
run <- function(...) {
  status <- system2(file.path(R.home("bin"), "Rscript"), c(...))
  if (status != 0) stop("failed: Rscript ", paste(c(...), collapse = " "))
}
dir.create("data", showWarnings = FALSE); dir.create("lme4", showWarnings = FALSE)
run("export_data.R", "data")
run("generate_reference.R", "manifest.json", "data", "lme4", "3")
run("effects_reference.R", "data", "effects.json")
run("diagnostics_reference.R", "data", "diagnostics.json",
    "crossed_slope", "crossed_slope", "item", shQuote("y ~ x + (1 + x | subject) + (1 | item)"),
    "egsingle_3level", "egsingle", "schoolid",
    shQuote("math ~ year + (1 + year | schoolid) + (1 + year | childid:schoolid)"))

# Writes print(summary(m)) of lme4 1.1 + lmerTest for every reference case, one text file each.
# usage (from tests/): Rscript display_reference/summaries.R
# The data are read exactly as tests/reference/generate_reference.R reads them (character
# columns -> factors with sorted levels), and "Data:" is the data set's name.
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})
Sys.setlocale("LC_COLLATE", "C")
options(width = 200)
for (root in c("reference", "reference/extra")) {
  manifest <- fromJSON(file.path(root, "manifest.json"), simplifyVector = FALSE)
  for (case in manifest$cases) {
    df <- read.csv(file.path(root, "data", paste0(case$dataset, ".csv")), stringsAsFactors = FALSE)
    for (col in names(df)) if (is.character(df[[col]]))
      df[[col]] <- factor(df[[col]], levels = sort(unique(df[[col]])))
    assign(case$dataset, df)
    m <- eval(bquote(lmerTest::lmer(.(as.formula(case$formula)), data = .(as.name(case$dataset)),
                                    REML = .(isTRUE(case$reml)))))
    out <- capture.output(print(summary(m)))
    writeLines(out, file.path("display_reference", paste0(case$id, ".txt")))
    if (case$id == "hsb_crosslevel") {
      kr <- capture.output(print(summary(m, ddf = "Kenward-Roger")))
      writeLines(kr, file.path("display_reference", paste0(case$id, "_kr.txt")))
    }
  }
}

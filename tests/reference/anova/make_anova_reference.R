# lmerTest's anova() tables (Type I, II, III; Satterthwaite and Kenward-Roger) and the
# hypothesis matrices behind them: the reference for tests/test_anova.py.
# Run from this folder: Rscript make_anova_reference.R   (lme4 1.1-31, lmerTest, pbkrtest)
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})
oats <- read.csv("../effects2/data/oats.csv", stringsAsFactors = TRUE)
cake <- read.csv("../textbook/data/cake.csv", colClasses = c("numeric", rep("factor", 3)))
bdf <- read.csv("../effects2/data/bdf.csv")
bdf$denomina <- factor(bdf$denomina); bdf$school <- factor(bdf$school)
sleep <- read.csv("../data/sleepstudy.csv")
sleep$band <- ordered(c("early", "early", "mid", "mid", "mid", "late", "late", "late", "end", "end")[sleep$Days + 1],
                      levels = c("early", "mid", "late", "end"))
cake$temp_o <- ordered(cake$temperature)
cases <- list(
  oats_factorial = list(data = "oats", df = oats, formula = "yield ~ Variety * nitro_f + (1 | Block/Variety)"),
  oats_numeric = list(data = "oats", df = oats, formula = "yield ~ Variety * nitro + (1 | Block/Variety)"),
  cake_split = list(data = "cake", df = cake, formula = "angle ~ recipe * temperature + (1 | replicate) + (1 | recipe:replicate)"),
  cake_ordered = list(data = "cake", df = cake, formula = "angle ~ recipe * temp_o + (1 | replicate) + (1 | recipe:replicate)"),
  bdf_mixed = list(data = "bdf", df = bdf, formula = "langPOST ~ IQ_verb * denomina + ses + sex + (1 + IQ_verb | school)"),
  bdf_three_way = list(data = "bdf", df = bdf, formula = "langPOST ~ IQ_verb * factor(sex) * denomina + (1 | school)"),
  sleep_ordered = list(data = "sleep", df = sleep, formula = "Reaction ~ band + Days + (Days | Subject)")
)
table_of <- function(a) list(terms = rownames(a), sum_sq = a[["Sum Sq"]], mean_sq = a[["Mean Sq"]],
                             num_df = a[["NumDF"]], den_df = a[["DenDF"]], F = a[["F value"]],
                             p = a[["Pr(>F)"]])
out <- lapply(cases, function(case) {
  m <- lmer(as.formula(case$formula), data = case$df)
  res <- list(data = case$data, formula = case$formula, fixef_names = names(fixef(m)))
  for (type in c("I", "II", "III")) {
    for (ddf in c("Satterthwaite", "Kenward-Roger")) {
      a <- anova(m, type = type, ddf = ddf)
      key <- paste0("type", nchar(type), "_", if (ddf == "Satterthwaite") "satterthwaite" else "kenward_roger")
      res[[key]] <- table_of(a)
      if (ddf == "Satterthwaite")
        res[[paste0("hypotheses_type", nchar(type))]] <- lapply(attr(a, "hypotheses"), function(L) unname(L))
    }
  }
  res
})
writeLines(toJSON(out, digits = NA, matrix = "rowmajor", auto_unbox = TRUE), "anova_reference.json")

"""Write the example notebooks (outputs stripped) from the cell texts below.

Run ``python example_notebooks/build_notebooks.py`` after editing; CI executes every notebook
top to bottom (tests/test_notebooks.py). Keeping the source here makes reviews readable and
guarantees the committed ``.ipynb`` files carry no outputs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip())


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(text.strip())


QUICKSTART = [
    md("""
# Quick start: reaction times under sleep deprivation

**Question.** Eighteen people were kept to three hours of sleep a night for ten days, and their
reaction time was measured every day (`lme4::sleepstudy`). How much slower do people get per
day of sleep deprivation, and do people differ in how fast they deteriorate?

Repeated measures are nested in subjects, so measurements of the same person are not
independent. A multilevel model gives every subject their own starting level and their own
slope, and estimates how much those vary.
"""),
    code("""
import mlm_jupyter as mlm

sleep = mlm.load_dataset("sleepstudy")
sleep.head()
"""),
    md("""
## The model

Write the model as in R with the `%%mlm` cell magic: the data frame and options on the first
line, the lme4 formula in the cell. `(Days | Subject)` gives every subject a random intercept
and a random slope of `Days`, which may correlate. The result is stored as `m1` and shown:
the summary, any advice, and the interactive explorer.
"""),
    code("%load_ext mlm_jupyter"),
    code("""
%%mlm sleep -o m1
Reaction ~ Days + (Days | Subject)
"""),
    md("""
In level-1 / level-2 notation (Raudenbush & Bryk): day *i* of subject *j*, with the subject's
own intercept β0j and slope β1j, each an average (γ) plus a subject deviation (u).
"""),
    code("""
from mlm_jupyter.display.equations import model_equations

model_equations(m1)
"""),
    md("## Reading the results"),
    code("""
b = m1.coef_table.loc["Days"]
sd_slope = m1.tau("Subject").loc["Days", "Days"] ** 0.5
low, high = b.estimate - 1.96 * sd_slope, b.estimate + 1.96 * sd_slope
print(
    f"On average reaction time rises by {b.estimate:.1f} ms per day of sleep deprivation "
    f"(SE {b.std_error:.2f}, t({b.df:.0f}) = {b.t:.2f}, p = {b.p:.1g}).\\n"
    f"People differ: the SD of the slopes is {sd_slope:.1f} ms/day, so 95% of people are "
    f"expected to slow down by between {low:.1f} and {high:.1f} ms per day."
)
m1.coef_table
"""),
    md("""
The average person slows down by about 10 ms a day, clearly more than zero. But the spread of
slopes is wide: some people barely change, others slow down by twice the average. The
random-slope range says this directly, in the units of the data.
"""),
    code("m1.random_slope_ranges()"),
    md("""
## Explore

The explorer draws the average line with its confidence band and the 95% range of subject
lines; the *Clusters* tab links each subject's empirical Bayes intercept and slope to their
line and to a caterpillar plot. Everything is computed in the browser, so it also works in an
exported HTML file.
"""),
    code("m1.explore()"),
    md("""
## Does the slope really vary? And a report to share

Compare with a model where everyone has the same slope. The variance of the slope cannot be
negative, so the plain χ² p-value is conservative; `p_mixture` is the chi-bar-square mixture
p-value for a variance on the boundary.
"""),
    code("""
m0 = mlm.fit("Reaction ~ Days + (1 | Subject)", sleep)
mlm.compare(m0, m1)
"""),
    code("""
import tempfile
from pathlib import Path

path = Path(tempfile.mkdtemp()) / "sleepstudy_report.html"
mlm.report(m0, m1, path=path, title="Sleep deprivation and reaction time")
print(f"Self-contained report ({path.stat().st_size / 1e6:.1f} MB): {path}")
"""),
]


CROSS_LEVEL = [
    md("""
# Cross-level interactions: SES, sector and math achievement

**Question.** In the High School and Beyond survey (7,185 students in 160 schools), students
from richer families score higher in mathematics. Is that SES gradient the same in every
school? And do Catholic schools have a flatter gradient (are they more equitable) than public
schools, even after accounting for the school's average SES?

We build the model step by step, as in Raudenbush & Bryk (2002, ch. 4): the empty model, a
random slope of student SES centred on the school mean (`cses`), then sector (`catholic`) and
school mean SES (`meanses`) as predictors of the school intercepts and slopes.
"""),
    code("""
import mlm_jupyter as mlm
from mlm_jupyter.display.equations import model_equations

hsb = mlm.load_dataset("hsb")
hsb.describe().T
"""),
    md("## 1. The empty model and the ICC"),
    code("""
m0 = mlm.fit("mathach ~ 1 + (1 | school)", hsb)
model_equations(m0)
"""),
    code("""
icc = m0.icc()
print(f"{icc.iloc[0]:.1%} of the variance in math achievement lies between schools.")
icc
"""),
    md("""
About 18% of the variation is between schools: enough that ignoring the nesting would make
standard errors of school-level effects far too small.
"""),
    md("""
## 2. A random slope of student SES

`cses` is SES centred on the school mean, so its coefficient is a pure *within-school* effect.
Does the slope vary between schools? Compare a random-intercept model with one that also has a
random slope, by a likelihood-ratio test. The slope variance is tested on the boundary of its
space (it cannot be negative), hence the mixture p-value.
"""),
    code("""
m1a = mlm.fit("mathach ~ cses + (1 | school)", hsb)
m1 = mlm.fit("mathach ~ cses + (1 + cses | school)", hsb)
lrt = mlm.compare(m1a, m1)
lrt
"""),
    code("""
p_mix = lrt["p_mixture"].iloc[-1]
print(f"Likelihood-ratio test of the random slope: mixture p = {p_mix:.3g}. "
      + ("The SES slope varies between schools." if p_mix < 0.05
         else "No evidence that the SES slope varies between schools."))
"""),
    md("""
## 3. Intercepts and slopes as outcomes

Sector as a moderator of both the school intercept and the SES slope (a cross-level
interaction, `cses:catholic`), then school mean SES as a further predictor of the intercept.
"""),
    code("""
m2 = mlm.fit("mathach ~ cses * catholic + (1 + cses | school)", hsb)
m3 = mlm.fit("mathach ~ cses * catholic + meanses + (1 + cses | school)", hsb)
model_equations(m3)
"""),
    code("m3"),
    code("""
g = m3.coef_table["estimate"]
print(
    f"In public schools a one-unit SES difference within a school goes with {g['cses']:.2f} "
    f"points more math; in Catholic schools with {g['cses'] + g['cses:catholic']:.2f}.\\n"
    f"Catholic schools score {g['catholic']:.2f} points higher at the same school mean SES, and "
    f"each unit of school mean SES adds {g['meanses']:.2f} points."
)
"""),
    md("""
The SES gradient is about half as steep in Catholic schools: the cross-level interaction is
negative and clearly different from zero. School mean SES has a large effect of its own on
the school average.

### Variance explained

How much of each variance component do sector and school SES account for?
"""),
    code("mlm.variance_explained(m1, m2)"),
    code("mlm.variance_explained(m2, m3)"),
    code("""
def reduction(base, model, term):
    table = mlm.variance_explained(base, model)
    return table.loc[(table["group"] == "school") & (table["term"] == term), "reduction"].iloc[0]

print(f"Sector accounts for {reduction(m1, m2, 'cses'):.0%} of the between-school variance of "
      f"the SES slope and {reduction(m1, m2, '(Intercept)'):.0%} of the intercept variance; "
      f"school mean SES then accounts for {reduction(m2, m3, '(Intercept)'):.0%} of the "
      "remaining intercept variance, but not for slope variance (it does not moderate the slope).")
"""),
    md("""
### Caterpillar plot

School-specific SES slopes (empirical Bayes estimates) ranked, with 95% intervals from the
conditional SDs. Most intervals overlap the average: slope variation is real but modest, which
is why individual schools' slopes are shrunk strongly to their sector's mean.
"""),
    code("""
import altair as alt
import pandas as pd

blup = m3.ranef["school"]["cses"]
se = m3.ranef_se["school"]["cses"]
cat = pd.DataFrame({"school": blup.index, "u1": blup.to_numpy(),
                    "lower": (blup - 1.96 * se).to_numpy(), "upper": (blup + 1.96 * se).to_numpy()})
cat["rank"] = cat["u1"].rank(method="first")
base = alt.Chart(cat, width=520, height=220)
(base.mark_rule(opacity=0.5).encode(x=alt.X("rank:Q", title="school (ranked)"),
                                    y=alt.Y("lower:Q", title="SES slope deviation u1j"),
                                    y2="upper:Q")
 + base.mark_point(filled=True, size=14).encode(x="rank:Q", y="u1:Q", tooltip=["school", "u1"]))
"""),
    md("### Simple slopes of SES by sector"),
    code('m3.simple_slopes("cses", at={"catholic": [0, 1]})'),
    md("""
## Explore

Toggle the sector and watch the SES slope, its confidence band and the random-slope range
change; the *Clusters* tab links every school's intercept and slope.
"""),
    code('m3.explore(at={"catholic": 1})'),
    md("""
A self-contained report of the whole sequence (data summary, equations, comparison with mixture
p-values, variance explained, diagnostics and explorers) is one call away:
`mlm.report(m0, m1, m3, path="hsb_report.html")`, or `mlm-report --example hsb -o report.html`
from a terminal.
"""),
]


CENTERING = [
    md("""
# Centring: within, between and contextual effects

**Question.** Does a student's SES matter for math achievement in the same way *within* a
school (compared with schoolmates) as *between* schools (comparing school averages)? The
difference, the *contextual effect*, is the extra achievement that goes with attending a
richer school at the same personal SES.

How the level-1 predictor is centred decides which of these a coefficient estimates. With raw
SES only, the model mixes ("smushes") the within and the between effect into one number that
is neither.
"""),
    code("""
import mlm_jupyter as mlm
from mlm_jupyter.display.equations import model_equations

hsb = mlm.load_dataset("hsb")
# The centred variables, computed here so that nothing is hidden:
school_mean = hsb.groupby("school")["ses"].transform("mean")
print("max |cses - (ses - school mean)| =", float((hsb.cses - (hsb.ses - school_mean)).abs().max()))
"""),
    md("""
The bundled `cses` is exactly SES centred on the school mean, and `meanses` is the school
mean SES.

## The smushed model, and what the advisor says
"""),
    code("""
smushed = mlm.fit("mathach ~ ses + (1 | school)", hsb)
smushed.coef_table
"""),
    code("""
advice = smushed.advice()
advice
"""),
    md("""
The advisor flags that `ses` varies within *and* between schools, so its single slope is a
weighted blend of two different effects. Its suggestion adds the school mean with `cm()`, a
centring helper usable inside formulas (with `cwc()` for the within-cluster deviation).
Fitting the suggested formula, the advisor has nothing left to flag:
"""),
    code("""
fixed = mlm.fit(advice[0].suggestion, hsb)
print(fixed.formula, "-> advice:", fixed.advice())
fixed.coef_table
"""),
    md("""
## Cluster-mean centring (CMC)

The same split, written with the centred variables themselves:
"""),
    code("""
cmc = mlm.fit("mathach ~ cses + meanses + (1 + cses | school)", hsb)
model_equations(cmc)
"""),
    code("cmc.coef_table"),
    md("""
With CMC the `cses` coefficient is the within-school effect and the `meanses` coefficient is
the between-school effect. The contextual effect is their difference, a contrast of the fixed
effects with its own Satterthwaite test:
"""),
    code('contextual = cmc.contrast("meanses - cses")\ncontextual'),
    md("""
## The hybrid model

Using raw `ses` together with `meanses` is the same model reparameterised: now the `ses`
coefficient is the within effect and the `meanses` coefficient *is* the contextual effect.
"""),
    code("""
hybrid = mlm.fit("mathach ~ ses + meanses + (1 + cses | school)", hsb)
hybrid.coef_table
"""),
    code("""
import pandas as pd

side = pd.DataFrame({
    "within (CMC: cses)": [cmc.coef_table.loc["cses", "estimate"]],
    "between (CMC: meanses)": [cmc.coef_table.loc["meanses", "estimate"]],
    "contextual (CMC contrast)": [float(contextual["estimate"])],
    "contextual (hybrid: meanses)": [hybrid.coef_table.loc["meanses", "estimate"]],
})
side.round(3)
"""),
    code("""
w = cmc.coef_table.loc["cses", "estimate"]
b = cmc.coef_table.loc["meanses", "estimate"]
s = smushed.coef_table.loc["ses", "estimate"]
print(f"Within schools one SES unit goes with {w:.2f} points; between schools with {b:.2f}. "
      f"The contextual effect is {b - w:.2f} points: at equal personal SES, a student in a "
      f"school whose mean SES is one unit higher scores about {b - w:.1f} points more. "
      f"The smushed slope ({s:.2f}) lies between the two and answers neither question.")
"""),
    md("""
Both parameterisations give the same fit (identical log-likelihood); they answer different
questions with their coefficients. Choose CMC when the within-school effect is the focus and
the hybrid form when the contextual effect is; the contrast gets either from either.
"""),
    code('print(f"logLik CMC {cmc.loglik:.4f}, hybrid {hybrid.loglik:.4f}")\ncmc.advice()'),
]


INFERENCE = [
    md("""
# Inference with few clusters: df, intervals and bootstrap tests

**Question.** With only 18 subjects in `sleepstudy`, how much should we trust the tests and
intervals of the quick-start model? Large-sample (z) answers are too optimistic when clusters
are few. We compare Satterthwaite and Kenward-Roger degrees of freedom, Wald, profile and
bootstrap intervals, and the likelihood-ratio test of the random slope with its mixture and
parametric-bootstrap p-values.
"""),
    code("""
import pandas as pd

import mlm_jupyter as mlm
from mlm_jupyter.display.equations import model_equations

sleep = mlm.load_dataset("sleepstudy")
m1 = mlm.fit("Reaction ~ Days + (Days | Subject)", sleep)
model_equations(m1)
"""),
    md("""
## Satterthwaite versus Kenward-Roger

Both approximate the distribution of t = γ̂ / SE by a t distribution with estimated degrees of
freedom. Kenward-Roger also inflates the covariance of γ̂ for the uncertainty in the variance
components; in this balanced design the two agree closely, with about 17 df (one fewer than
the number of subjects) for both coefficients.
"""),
    code("""
tables = {"Satterthwaite": m1.coefficients("satterthwaite"),
          "Kenward-Roger": m1.coefficients("kenward-roger")}
pd.concat({k: t[["std_error", "df", "t", "p"]] for k, t in tables.items()}, axis=1).round(4)
"""),
    code("""
kr = tables["Kenward-Roger"].loc["Days"]
print(f"Days: t({kr.df:.1f}) = {kr.t:.2f}, p = {kr.p:.2g} with Kenward-Roger; with 18 subjects "
      f"the df, not the 180 observations, set the reference distribution.")
"""),
    md("""
## Confidence intervals: Wald, profile, bootstrap

Wald intervals are symmetric and, for standard deviations, can cross zero. Profile intervals
follow the likelihood and are asymmetric where it is; parametric-bootstrap intervals simulate
new data from the fitted model and refit it.
"""),
    code("""
wald = m1.confint("wald")
profile = m1.confint("profile")
boot = m1.confint("boot", nsim=200, seed=1, progress=False)
intervals = pd.concat({"wald": wald[["lower", "upper"]], "profile": profile[["lower", "upper"]],
                       "bootstrap": boot[["lower", "upper"]]}, axis=1)
intervals.round(3)
"""),
    code("""
sd = profile.loc["sd_Days|Subject"]
print(f"The SD of the Days slopes is between {sd.lower:.1f} and {sd.upper:.1f} ms/day "
      f"(95% profile interval): people clearly differ in how fast they deteriorate.")
"""),
    md("""
## Testing a variance: mixture and bootstrap p-values

The random slope adds a variance and a covariance. Under the null the variance sits on the
boundary, so the χ²(2) p-value is conservative; the chi-bar-square mixture and a parametric
bootstrap (simulate from the smaller model, refit both, compare) correct it.
"""),
    code("""
m0 = mlm.fit("Reaction ~ Days + (1 | Subject)", sleep)
test = mlm.compare(m0, m1, nsim=199, seed=1, progress=False)
test
"""),
    code("""
row = test.iloc[-1]
print(f"chi-square = {row.chisq:.1f} on {row.df:.0f} df: p = {row.p:.2g}, mixture p = "
      f"{row.p_mixture:.2g}, bootstrap p = {row.p_boot:.3f} (199 simulations; the smallest "
      "possible value is 1/200). All three agree: subjects' slopes differ.")
"""),
    md("""
## F tests of factors: a split-plot experiment

Designed experiments ask about whole factors, not single coefficients. In the oats trial
three varieties were sown on whole plots in six blocks and four nitrogen doses applied to
subplots, so variety is tested against the variation between whole plots (few df) and
nitrogen against the variation within them. `anova()` gives lmerTest's Type III table; its
Satterthwaite df recover the split-plot strata (10 for variety, 45 for nitrogen and the
interaction) without being told the design.
"""),
    code("""
oats = mlm.load_dataset("oats")
split_plot = mlm.fit("yield ~ Variety * nitro_f + (1 | Block/Variety)", oats)
split_plot.anova()
"""),
    code("""
table = split_plot.anova(ddf="kenward-roger")
variety, nitrogen = table.loc["Variety"], table.loc["nitro_f"]
print(f"Variety: F({variety.num_df:.0f}, {variety.den_df:.0f}) = {variety.F:.2f}, "
      f"p = {variety.p:.2f}; nitrogen: F({nitrogen.num_df:.0f}, {nitrogen.den_df:.0f}) = "
      f"{nitrogen.F:.1f}, p = {nitrogen.p:.1g}. Nitrogen raises yield; the varieties cannot "
      "be told apart with 6 blocks.")
"""),
]


NOTEBOOKS = {
    "01_quickstart_sleepstudy.ipynb": QUICKSTART,
    "02_cross_level_hsb.ipynb": CROSS_LEVEL,
    "03_centering.ipynb": CENTERING,
    "04_inference.ipynb": INFERENCE,
}


def build(folder: Path = HERE) -> list[Path]:
    """Write every notebook (no outputs, no execution counts) and return their paths."""
    paths = []
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells)
        for k, cell in enumerate(nb.cells):  # stable ids: rebuilding gives identical files
            cell.id = f"c{k:02d}"
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        path = folder / name
        nbformat.validate(nb)
        nbformat.write(nb, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in build():
        print("wrote", p)

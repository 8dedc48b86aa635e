"""mlm.table for every kind of result: GLMMs, Bayesian and pooled fits, mixed with LMMs.

Every number equals the result's own attribute; against R where R has the table:
tests/reference/paper/paper_kinds_reference.json (make_paper_kinds_reference.R) holds
parameters::model_parameters, insight::get_variance, performance and sjPlot::tab_model's
cells for glmer fits (PIRLS converged, as the glmm README's ``tight`` record), and mitml's
testEstimates with confint for the pooled hsb imputations; brms' posterior (tests/reference/
bayes) for the Bayesian column.  Tolerances: the glmm README's (estimates 1e-4 relative,
SEs 1e-3 relative), mitml's 1e-3 relative, brms' Monte Carlo rule.
"""

from __future__ import annotations

import json
import re
from functools import cache

import docx
import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, fitted_case
from glmm_reference import glmm_fit

import mlm_jupyter as mlm

KINDS = REFERENCE / "paper" / "paper_kinds_reference.json"
BAYES = REFERENCE / "bayes"
EFFECTS2 = REFERENCE / "effects2"


@cache
def kinds_reference() -> dict:
    return json.loads(KINDS.read_text())


def value(t, model: str, section: str, row: str, statistic: str = "value"):
    d = t.data
    hit = d[(d.model == model) & (d.section == section) & (d.row == row)
            & (d.statistic == statistic)]
    assert len(hit) == 1, (model, section, row, statistic, hit)
    return hit["value"].iloc[0]


def has(t, model: str, section: str, row: str, statistic: str = "value") -> bool:
    d = t.data
    return bool(((d.model == model) & (d.section == section) & (d.row == row)
                 & (d.statistic == statistic)).any())


def cell_texts(t) -> dict[str, list[str]]:
    """Row label -> the texts of its cells (as a reader sees them)."""
    out = {}
    for row in t.grid.body:
        if row.kind == "body" and not row.continued:
            label = "".join(s.text for s in row.label)
            out[label] = ["".join(s.text for s in c.text) for c in row.cells]
    return out


@pytest.fixture(scope="module")
def posterior():
    data = pd.read_csv(BAYES / "sleepstudy.csv", dtype={"Subject": str})
    ref = json.loads((BAYES / "sleep_slope.json").read_text())
    return mlm.fit(ref["formula"], data, method="bayes", priors=ref["priors"], seed=1,
                   warn=False), ref


@pytest.fixture(scope="module")
def pooled():
    ref = json.loads((EFFECTS2 / "mi_hsb_slope.json").read_text())
    frames = [pd.read_csv(EFFECTS2 / p, dtype={c: str for c in ref["string_columns"]})
              for p in ref["imputations"]]
    return mlm.fit(ref["formula"], data=frames, warn=False)


# -- GLMM ------------------------------------------------------------------------------------
def test_glmm_column_is_the_results_own_numbers():
    res = glmm_fit("students_logit")
    t = mlm.table(res, format="html", statistics=("estimate", "se", "ci", "t", "df", "p"),
                  fit=("r2", "criterion", "aic", "bic", "loglik", "estimation", "ddf"))
    ratios, coefs = res.ratios(), res.coef_table
    for term in res.fixef.index:
        assert value(t, "Model 1", "fixed", term, "estimate") == ratios.loc[term, "ratio"]
        assert value(t, "Model 1", "fixed", term, "lower") == ratios.loc[term, "lower"]
        assert value(t, "Model 1", "fixed", term, "upper") == ratios.loc[term, "upper"]
        assert value(t, "Model 1", "fixed", term, "std_error") == pytest.approx(
            ratios.loc[term, "ratio"] * coefs.loc[term, "std_error"], rel=1e-14)
        assert value(t, "Model 1", "fixed", term, "t") == coefs.loc[term, "z"]
        assert value(t, "Model 1", "fixed", term, "p") == coefs.loc[term, "p"]
        assert not has(t, "Model 1", "fixed", term, "df")  # Wald z: no df
    vc = res.varcorr
    assert value(t, "Model 1", "random", "sigma2") == res.variance_components()["var.residual"]
    assert value(t, "Model 1", "random", "tau|school|(Intercept)") == vc.vcov[0]
    assert value(t, "Model 1", "random", "tau|school|motiv") == vc.vcov[1]
    assert value(t, "Model 1", "random", "rho|school|(Intercept)|motiv") == vc.sdcor[2]
    assert value(t, "Model 1", "random", "icc") == res.icc()["adjusted"]
    assert value(t, "Model 1", "fit", "r2_marginal") == res.r2()["marginal"]
    assert value(t, "Model 1", "fit", "deviance") == res.objective == -2 * res.loglik
    assert value(t, "Model 1", "fit", "aic") == res.aic
    assert value(t, "Model 1", "fit", "estimation") == "ML (Laplace)"
    assert "Odds ratio" in t and "<i>z</i>" in t and "Wald z tests" in t
    # link scale on request: glmer's summary and the Wald contrast
    link = mlm.table(res, format="markdown", exponentiate=False)
    for term in res.fixef.index:
        c = res.contrast(term)
        assert value(link, "Model 1", "fixed", term, "estimate") == coefs.loc[term, "estimate"]
        assert value(link, "Model 1", "fixed", term, "lower") == pytest.approx(c["lower"])
        assert value(link, "Model 1", "fixed", term, "upper") == pytest.approx(c["upper"])
    assert "Log-odds" in link


@pytest.mark.parametrize("case", ["students_logit", "students_probit", "sites_negbin",
                                  "cbpp_laplace"])
def test_glmm_column_equals_parameters_and_performance(case):
    ref = kinds_reference()["glmm"][case]
    res = glmm_fit(case)
    scales = [(False, "link_scale")] + ([(True, "ratio")] if res.link != "probit" else [])
    for exponentiate, key in scales:
        t = mlm.table(res, format="markdown", exponentiate=exponentiate,
                      statistics=("estimate", "se", "ci", "t", "p"))
        R = ref[key]
        assert R["term"] == list(res.fixef.index)
        for stat, name in [("estimate", "estimate"), ("std_error", "se"), ("lower", "lower"),
                           ("upper", "upper"), ("t", "z")]:
            ours = [value(t, "Model 1", "fixed", term, stat) for term in res.fixef.index]
            tol = 1e-4 if stat == "estimate" else 1e-3
            assert ours == pytest.approx(R[name], rel=tol), (key, stat)
        ours_p = [value(t, "Model 1", "fixed", term, "p") for term in res.fixef.index]
        assert ours_p == pytest.approx(R["p"], rel=1e-3, abs=1e-12)
    t = mlm.table(res, format="markdown")
    assert value(t, "Model 1", "random", "sigma2") == pytest.approx(
        ref["variance"]["var.residual"][0], rel=1e-3)
    assert value(t, "Model 1", "random", "icc") == pytest.approx(ref["icc"]["adjusted"],
                                                                 rel=1e-3)
    assert value(t, "Model 1", "fit", "r2_conditional") == pytest.approx(
        ref["r2"]["conditional"], rel=1e-3)
    assert value(t, "Model 1", "fit", "deviance") == pytest.approx(ref["fit"]["minus2loglik"],
                                                                   abs=2e-3)


def _sjplot_cells(rows: list[list[str]]) -> tuple[dict, dict]:
    """tab_model's fixed rows (label -> estimate, SE, CI, p) and its random and fit rows
    (label -> text; its random part comes as one flat row of pairs)."""
    fixed, other = {}, {}
    for row in rows:
        if len(row) == 5 and row[0] not in ("Predictors", ""):
            fixed[row[0]] = row[1:]
        elif len(row) >= 2 and len(row) % 2 == 0 and row[0] != "":
            other.update({row[i]: row[i + 1] for i in range(0, len(row), 2)})
    return fixed, other


@pytest.mark.parametrize("case", ["students_logit", "sites_negbin"])
def test_glmm_cells_read_as_sjplot_tab_model(case):
    """Our rounded cells say what sjPlot::tab_model's say (2 decimals; R² with 3)."""
    ref = kinds_reference()["glmm"][case]
    res = glmm_fit(case)
    cells = cell_texts(mlm.table(res, format="html", statistics=("estimate", "se", "ci")))
    fixed, sj = _sjplot_cells(ref["sjplot"])
    assert len(fixed) == len(res.fixef)
    for label, (estimate, se, ci, _p) in fixed.items():
        ours = cells["Intercept" if label == "(Intercept)"
                     else label.replace("season [", "season").replace("]", "")]
        assert ours[0] == estimate and ours[1] == se, label
        assert re.findall(r"-?\d+\.\d+", ours[2]) == re.findall(r"-?\d+\.\d+", ci), label
    assert cells["σ2"][0] == sj["sigma2"]
    # APA's ICC has p_digits (3) decimals and no leading zero (.156); sjPlot prints 0.16
    assert round(float(cells["ICC"][0]), 2) == float(sj["ICC"])
    group = next(iter(res.ngroups))
    assert cells[f"τ00 {group}"][0] == sj[f"tau00 {group}"]
    marginal, conditional = sj["Marginal R2 / Conditional R2"].split(" / ")
    assert cells["Marginal R2"][0] == marginal.lstrip("0")
    assert cells["Conditional R2"][0] == conditional.lstrip("0")


def test_glmm_probit_and_standardised_say_why_not():
    probit = glmm_fit("students_probit")
    t = mlm.table(probit, format="markdown", std=True)
    assert "no ratio reading" in t and "no standardised coefficients for a GLMM" in t
    assert "Probit" in t


# -- Bayesian ----------------------------------------------------------------------------------
def test_bayes_column_is_the_posterior(posterior):
    res, ref = posterior
    t = mlm.table(res, format="html", statistics=("estimate", "se", "ci", "t", "df", "p",
                                                  "rhat", "ess"))
    ct = res.coef_table
    for term in res.fixef.index:
        for stat, col in [("estimate", "estimate"), ("std_error", "std_error"),
                          ("lower", "lower"), ("upper", "upper"), ("rhat", "rhat"),
                          ("ess_bulk", "ess_bulk")]:
            assert value(t, "Model 1", "fixed", term, stat) == ct.loc[term, col]
        for stat in ("t", "df", "p"):
            assert not has(t, "Model 1", "fixed", term, stat)
    vc = res.varcorr
    assert value(t, "Model 1", "random", "sigma2") == vc.vcov.iloc[-1]
    assert value(t, "Model 1", "random", "tau|Subject|Days") == vc.vcov[1]
    assert value(t, "Model 1", "random", "rho|Subject|(Intercept)|Days") == vc.sdcor[2]
    assert "95% CrI" in t and "no p-values" in t and "R̂" in t
    # against brms (its README's rule): means within 4 combined MCSEs, quantiles within
    # max(0.1 SD, 4 combined MCSEs)
    s = res.posterior_summary()
    for term, name in zip(res.fixef.index, res.names.fixed, strict=True):
        b = ref["posterior"][name]
        mean = value(t, "Model 1", "fixed", term, "estimate")
        assert abs(mean - b["mean"]) <= 4 * np.hypot(s.loc[name, "mcse_mean"], b["mcse_mean"])
        for stat, q in (("lower", "q2.5"), ("upper", "q97.5")):
            tol = max(0.1 * b["sd"], 4 * np.hypot(s.loc[name, f"mcse_{q}"], b[f"mcse_{q}"]))
            assert abs(value(t, "Model 1", "fixed", term, stat) - b[q]) <= tol
    # another level: the posterior's own quantiles
    t90 = mlm.table(res, format="markdown", level=0.9)
    s90 = res.posterior_summary(0.9)
    assert value(t90, "Model 1", "fixed", "Days", "lower") == s90.loc["b_Days", "q5"]
    assert "90% CrI" in t90
    with pytest.raises(ValueError, match="standardised coefficients are not computed"):
        mlm.table(res, std=True)


# -- pooled ----------------------------------------------------------------------------------
def test_pooled_column_is_rubins_rules_and_mitml(pooled):
    ref = kinds_reference()["pooled"]["mi_hsb_slope"]
    t = mlm.table(pooled, format="latex", statistics=("estimate", "se", "ci", "t", "df", "p",
                                                      "fmi"))
    ct = pooled.coef_table
    assert ref["term"] == list(ct.index)
    for term in ct.index:
        for stat, col in [("estimate", "estimate"), ("std_error", "std_error"), ("df", "df"),
                          ("t", "t"), ("fmi", "fmi")]:
            assert value(t, "Model 1", "fixed", term, stat) == ct.loc[term, col]
    for stat in ("estimate", "std_error", "df", "lower", "upper"):
        ours = [value(t, "Model 1", "fixed", term, stat) for term in ct.index]
        assert ours == pytest.approx(ref[stat], rel=1e-3), stat
    vc = pooled.varcorr
    assert value(t, "Model 1", "random", "sigma2") == vc.vcov.iloc[-1]
    assert value(t, "Model 1", "random", "tau|school|minority") == vc.vcov[1]
    assert value(t, "Model 1", "random", "icc") == pytest.approx(
        np.mean([r.icc()["adjusted"] for r in pooled.results]), rel=1e-12)
    assert value(t, "Model 1", "fit", "ddf") == "Barnard-Rubin"
    assert "m = 5 imputations" in t and "Rubin's rules" in t
    assert not has(t, "Model 1", "fit", "aic")


# -- all kinds in one table --------------------------------------------------------------------
def test_all_kinds_side_by_side_in_every_format(posterior, pooled, tmp_path):
    lmm = fitted_case("sleep_slope_reml")
    bayes, _ = posterior
    glmm = glmm_fit("students_logit")
    models = {"<b>LMM</b>": lmm, "Bayes & co": bayes, "GLMM": glmm, "MI": pooled}
    html = mlm.table(models, format="html", statistics=("estimate", "ci", "p"))
    assert "<b>LMM</b>" not in html and "&lt;b&gt;LMM&lt;/b&gt;" in html
    assert set(html.data["model"]) == set(models)
    for header in ("Estimate", "Posterior mean", "Odds ratio", "95% CrI", "95% CI"):
        assert header in html
    assert "Model fit" in html
    latex = mlm.table(models, format="latex")
    assert latex.count("{") == latex.count("}") and r"\toprule" in latex
    assert r"Bayes \& co" in latex
    md = mlm.table(models, format="markdown")
    assert md.data.equals(html.data)
    path = tmp_path / "kinds.docx"
    mlm.table(models, format="docx", path=path)
    document = docx.Document(str(path))
    texts = [c.text for row in document.tables[0].rows for c in row.cells]
    assert "Odds ratio" in texts and "Posterior mean" in texts


def test_a_non_result_is_refused_by_name():
    with pytest.raises(TypeError, match="a: an int is not a fitted model"):
        mlm.table({"a": 1})
    with pytest.raises(TypeError, match="Model 2: a str is not a fitted model"):
        mlm.table(fitted_case("sleep_slope_reml"), "model")


# -- methods paragraphs and equations of every kind --------------------------------------------
def _balanced(latex: str) -> bool:
    depth = 0
    for char in latex.replace(r"\{", "").replace(r"\}", ""):
        depth += (char == "{") - (char == "}")
        if depth < 0:
            return False
    return depth == 0


def test_glmm_methods_text_states_family_approximation_and_checks():
    res = glmm_fit("students_logit")
    text = res.methods_text(references=True)
    opt = res.optimization
    for phrase in ("binomial family, logit link", "Laplace approximation", "nAGQ = 1",
                   f"{opt.n_evals:,} evaluations", "Wald z tests", "odds ratios",
                   "Nakagawa et al., 2017", "π²/3", "The fit is not singular",
                   "Hessian of the deviance was positive definite", "Predictors constant "
                   "within school: climate", "References"):
        assert phrase in text, phrase
    agq = glmm_fit("cbpp_agq9").methods_text()
    assert "adaptive Gauss-Hermite quadrature with 9 nodes" in agq and "successes" in agq
    nb = glmm_fit("sites_negbin").methods_text()
    assert f"θ̂ = {glmm_fit('sites_negbin').dispersion:.4g}" in nb and "rate ratios" in nb
    assert "lognormal approximation" in nb


def test_glmm_equations_are_on_the_link_scale():
    text = glmm_fit("students_logit").equations()
    assert "Level 1:  logit(p_ij) = β_0j + β_1j·motiv_ij\n" in text
    assert "β_1j = γ_10 + γ_11·climate_j + u_1j" in text
    assert "pass_ij ~ Bernoulli(p_ij)" in text and "r_ij" not in text
    offset = glmm_fit("clinics_offset").equations()
    assert "log(λ_ij) = β_0j + β_1j·staff_ij + log(exposure)_ij" in offset
    assert "events_ij ~ Poisson(λ_ij)" in offset
    assert "incidence_ij ~ Binomial(n_ij, p_ij)" in glmm_fit("cbpp_laplace").equations()
    assert "NegBinomial(μ_ij, θ)" in glmm_fit("sites_negbin").equations()
    latex = glmm_fit("students_probit").equations("latex")
    assert r"\Phi^{-1}(p_{ij})" in latex and _balanced(latex)
    html = glmm_fit("students_logit").equations("html")
    assert "logit(p<sub>ij</sub>)" in html


def test_bayes_methods_text_and_equations_state_priors_and_sampler(posterior):
    res, _ = posterior
    text = res.methods_text(references=True)
    info, s = res.sampler, res.posterior_summary()
    for phrase in (f"{info.chains} chains of {info.draws:,} draws",
                   f"{info.warmup:,} warm-up", f"seed {info.seed}",
                   f"largest rank-normalised split R-hat was {s['rhat'].max():.3f}",
                   f"{s['ess_bulk'].min():,.0f}", "no divergent transitions",
                   "normal(0, 10)", "lkj(1)", "credible intervals", "Bürkner"):
        assert phrase in text, phrase
    for prior in res.priors["prior"]:
        assert str(prior).replace("(flat)", "flat") in text
    eq = res.equations()
    assert "Priors: b_Intercept ~ normal(0, 10)" in eq and "r_ij ~ N(0, σ²)" in eq
    latex = res.equations("latex")
    assert r"\text{Priors:}" in latex and r"\text{sd\_Subject\_\_Days}" in latex
    assert _balanced(latex)
    assert "Priors</th>" in res.equations("html")


def test_pooled_methods_text_and_equations(pooled):
    text = pooled.methods_text(references=True)
    fmi = pooled.coef_table["fmi"]
    for phrase in ("m = 5 imputed data sets", "Rubin's (1987) rules",
                   "Barnard and Rubin's (1999) degrees of freedom", f"{pooled.df_com:,.0f}",
                   f"from {fmi.min():.2f} to {fmi.max():.2f}", "averaged over the imputations",
                   "Every fit passed the convergence checks", "Barnard, J."):
        assert phrase in text, phrase
    assert pooled.equations() == pooled.results[0].equations()
    with pytest.raises(ValueError, match="format must be"):
        pooled.equations("word")


def test_report_section_has_every_kinds_paragraph(posterior, pooled):
    from mlm_jupyter.display.paper.report_section import paper_section

    bayes, _ = posterior
    glmm = glmm_fit("students_logit")
    page = paper_section([glmm, bayes, pooled], ["<i>g</i>", "b", "p"])
    assert "&lt;i&gt;g&lt;/i&gt;" in page and "<i>g</i>" not in page
    assert "No model table" not in page and "No methods paragraph" not in page
    for res in (glmm, bayes, pooled):
        assert res.methods_text()[:60].replace("'", "&#x27;") in page
    assert r"\operatorname{logit}" in page and "Priors" in page

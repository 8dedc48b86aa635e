"""GLMM diagnostics: residuals as glmer, simulation-based quantile residuals and their tests
(DHARMa's idea), binned residuals, cluster influence (exact deletion refits against glmer's,
tests/reference/glmm_extra/influence_glmm.R)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from glmm_reference import HERE, glmm_data, glmm_fit

import mlm_jupyter as mlm

INFLUENCE = json.loads((HERE / "glmm_extra" / "influence.json").read_text())


def _fit(formula, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(formula, data, **kw)


def test_exact_cluster_deletion_matches_glmer_refits():
    res = glmm_fit("cbpp_laplace")
    table = res.influence("herd", exact=True)
    ref = {r["level"]: r for r in INFLUENCE["cbpp_laplace"]}
    assert list(table.index) == list(ref)
    for level, row in table.iterrows():
        r = ref[level]
        assert row["cooks"] == pytest.approx(r["cooks"], rel=5e-3, abs=1e-4)
        d = res.fixef.to_numpy() - np.asarray(r["fixef"])
        got = row[[c for c in table.columns if c.startswith("dfbetas_")]].to_numpy(float)
        np.testing.assert_allclose(got, d / np.asarray(r["se_rx"]), rtol=5e-3, atol=2e-3)
    assert {"mdffits", "covratio", "covtrace", "flag", "n_obs"} <= set(table.columns)


def test_one_step_influence_approximates_exact():
    res = glmm_fit("cbpp_laplace")
    exact = res.influence(exact=True)
    one = res.influence(exact=False)
    assert np.corrcoef(exact["cooks"], one["cooks"])[0, 1] > 0.95
    big = exact["cooks"].idxmax()
    assert one["cooks"].idxmax() == big


def test_residual_kinds():
    res = glmm_fit("clinics_offset")
    fam = res.fit_state.family
    mu = res.fitted().to_numpy()
    np.testing.assert_allclose(res.residuals("response"), fam.y - mu)
    np.testing.assert_allclose(res.residuals("pearson"), (fam.y - mu) / np.sqrt(mu))
    dev = res.residuals()  # deviance, glmer's default
    assert np.all(np.sign(dev) == np.sign(fam.y - mu))


def test_quantile_residuals_uniform_for_a_correct_model():
    res = glmm_fit("sites_negbin")
    sim = res.simulate_residuals(nsim=200, seed=1)
    r = sim.residuals.to_numpy()
    assert r.size == res.nobs and np.all((r >= 0) & (r <= 1))
    from mlm_jupyter.glmm.dharma import dispersion_test, uniformity_test, zero_inflation_test

    assert uniformity_test(sim)["p"] > 0.01
    assert 0.7 < dispersion_test(sim)["ratio"] < 1.4
    assert zero_inflation_test(sim)["p"] > 0.01


def test_overdispersion_and_zero_inflation_are_detected():
    from mlm_jupyter.glmm.dharma import dispersion_test, zero_inflation_test

    df = glmm_data("visits_nb_uncorrelated").copy()  # NB counts (θ = 3) fitted as Poisson
    res = _fit("count ~ x + offset(log(hours)) + (1 | site)", df, family="poisson")
    sim = res.simulate_residuals(nsim=200, seed=2)
    d = dispersion_test(sim)
    assert d["ratio"] > 1.3 and d["p"] < 0.05
    rng = np.random.default_rng(5)
    zi = glmm_data("schools_nested").copy()
    zi.loc[rng.uniform(size=len(zi)) < 0.3, "errors"] = 0
    fit = _fit("errors ~ x + (1 | school)", zi, family="poisson")
    z = zero_inflation_test(fit.simulate_residuals(nsim=200, seed=3))
    assert z["ratio"] > 1.2 and z["p"] < 0.05
    findings = {f.check: f for f in fit.check(nsim=100)}
    assert findings["zero inflation"].severity == "warning"


def test_binned_residuals():
    res = glmm_fit("students_logit")
    table = res.binned_residuals()
    assert len(table) == int(np.sqrt(res.nobs))
    assert table["n"].sum() == res.nobs
    resid = res.residuals("response").to_numpy()
    overall = np.sum(table["residual"] * table["n"]) / res.nobs
    assert overall == pytest.approx(resid.mean(), abs=1e-12)
    assert np.all(table["upper"] > 0) and np.all(np.diff(table["fitted"]) >= 0)
    with pytest.raises(ValueError, match="binomial"):
        glmm_fit("clinics_offset").binned_residuals()


def test_check_lists_findings():
    findings = glmm_fit("cbpp_laplace").check(nsim=100)
    names = [f.check for f in findings]
    assert names[0] == "convergence" and "dispersion" in names and "influential clusters" in names
    assert all(isinstance(str(f), str) for f in findings)
    assert isinstance(pd.DataFrame([vars(f) for f in findings]), pd.DataFrame)

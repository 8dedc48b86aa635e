"""GLMM inference against lme4: profile and Wald intervals, likelihood-ratio tables,
parametric bootstrap (tests/reference/glmm_extra/inference.json, inference_glmm.R)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from glmm_reference import HERE, glmm_data, glmm_fit

import mlm_jupyter as mlm

REF = json.loads((HERE / "glmm_extra" / "inference.json").read_text())


@pytest.mark.parametrize("case_id", ["cbpp_laplace", "germination_weights", "clinics_offset",
                                     "panel_cbind_slope"])
def test_profile_intervals_match_lme4(case_id):
    ref = REF[case_id]["profile"]
    table = glmm_fit(case_id).confint(method="profile")
    assert len(table) == len(ref["names"])
    np.testing.assert_allclose(table["lower"], ref["lower"], rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(table["upper"], ref["upper"], rtol=2e-3, atol=2e-3)


def test_wald_intervals_match_lme4():
    ref = REF["cbpp_laplace"]["wald"]
    table = glmm_fit("cbpp_laplace").confint()
    assert np.isnan(table["lower"].iloc[0])
    np.testing.assert_allclose(table["lower"].iloc[1:], ref["lower"][1:], rtol=1e-3)
    np.testing.assert_allclose(table["upper"].iloc[1:], ref["upper"][1:], rtol=1e-3)


def _fit(formula, case_id, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(formula, glmm_data(case_id).copy(), **kw)


def test_compare_fixed_effect_lrt_matches_anova():
    ref = REF["anova_cbpp_period"]
    m1 = glmm_fit("cbpp_laplace")
    m0 = _fit("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", "cbpp_laplace",
              family="binomial")
    table = mlm.compare(m0, m1)
    np.testing.assert_allclose(table["loglik"], ref["loglik"], atol=1e-3)
    assert table["chisq"].iloc[1] == pytest.approx(ref["chisq"][1], abs=2e-3)
    assert table["p"].iloc[1] == pytest.approx(ref["p"][1], rel=1e-2)
    assert list(table["npar"]) == ref["npar"]


def test_compare_random_slope_with_boundary_mixture():
    ref = REF["anova_panel_slope"]
    m1 = glmm_fit("panel_cbind_slope")
    m0 = _fit("cbind(success, trials - success) ~ trt * time + (1 | id)", "panel_cbind_slope",
              family="binomial")
    table = mlm.compare(m0, m1)
    chisq = table["chisq"].iloc[1]
    assert chisq == pytest.approx(ref["chisq"][1], abs=2e-3)
    assert table["p"].iloc[1] == pytest.approx(ref["p"][1], rel=1e-2)
    # one added variance with its covariance: ½χ²_1 + ½χ²_2
    from scipy import stats

    expected = 0.5 * stats.chi2.sf(chisq, 1) + 0.5 * stats.chi2.sf(chisq, 2)
    assert table["p_mixture"].iloc[1] == pytest.approx(expected)
    assert table["p_mixture"].iloc[1] < table["p"].iloc[1]


def test_compare_refuses_mixed_kinds():
    lmm = mlm.fit("size ~ period + (1 | herd)", glmm_data("cbpp_laplace").copy())
    with pytest.raises(ValueError, match="cannot mix"):
        mlm.compare(lmm, glmm_fit("cbpp_laplace"))
    with pytest.raises(ValueError, match="nagq"):
        mlm.compare(glmm_fit("cbpp_agq9"), glmm_fit("cbpp_laplace"))


def test_parametric_bootstrap_intervals_and_lrt():
    res = glmm_fit("cbpp_laplace")
    table = res.confint(method="boot", nsim=40, seed=1, progress=False)
    prof = res.confint(method="profile")
    assert table.attrs["n_failed"] == 0
    # percentile intervals cover the estimate and are of the profile's order of width
    est = np.r_[res.theta, res.fixef.to_numpy()]
    assert np.all((table["lower"] < est) & (est < table["upper"]))
    ratio = (table["upper"] - table["lower"]) / (prof["upper"] - prof["lower"])
    assert np.all((ratio > 0.4) & (ratio < 2.0))
    m0 = _fit("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", "cbpp_laplace",
              family="binomial")
    boot = mlm.compare(m0, res, nsim=19, seed=2, progress=False)
    assert boot["p_boot"].iloc[1] == pytest.approx(1 / 20)  # chisq ~ 17: never exceeded


def test_simulated_responses_follow_the_model():
    from mlm_jupyter.glmm.simulate import simulate

    res = glmm_fit("clinics_offset")
    ys = simulate(res, 400, seed=3)
    assert ys.shape == (400, res.nobs)
    assert np.all(ys >= 0) and np.all(ys == np.round(ys))
    # marginal mean of a Poisson GLMM: exp(η_fixed + τ²/2)
    eta = res.fitted(include_re=False, type="link").to_numpy()
    expected = np.exp(eta + 0.5 * res.theta[0] ** 2)
    assert ys.mean(axis=0).mean() == pytest.approx(expected.mean(), rel=0.05)
    binary = simulate(glmm_fit("students_logit"), 3, seed=4)
    assert set(np.unique(binary)) <= {0.0, 1.0}
    size = glmm_data("cbpp_laplace")["size"].to_numpy()
    cb = simulate(glmm_fit("cbpp_laplace"), 2, seed=5) * size
    assert np.allclose(cb, np.round(cb))

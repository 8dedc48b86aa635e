"""Predictions with confidence and prediction intervals against R (lme4 1.1-31 estimates).

References: tests/reference/effects2/pred_*.json (shared) and effects2_more/pred_*.json
(make_more.R: a factor with a random slope, nested and crossed terms, rows seen in one factor
only). Conventions and tolerances as tests/reference/effects2/README.md: z quantiles, SE from
vcov, random-effect variance z'C_j z (seen) or z'Tz (unseen), fit 1e-4 relative, SE 1e-3,
bounds 1e-4 relative + 1e-3 of the half-width.  The simulation intervals have no R
counterpart: their sampler is checked against the exact conditional mean and R's vcov.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from effects2_reference import (
    assert_bounds,
    assert_estimate,
    assert_rel,
    case_files,
    fitted,
    load,
    newdata,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from mlm_jupyter.prediction_intervals import components, new_rows
from mlm_jupyter.prediction_simulation import PosteriorSampler, simulated_predictions

RESULTS = [(path, k) for path in case_files("pred") for k in range(len(load(path)["results"]))]


@pytest.mark.parametrize("item", RESULTS, ids=lambda it: f"{it[0].stem}-{it[1]}")
def test_intervals_match_r(item) -> None:
    path, k = item
    case = load(path)
    ref = case["results"][k]
    out = fitted(path).predict(newdata(case), include_re=ref["include_re"],
                               interval=ref["interval"], level=ref["level"])
    assert list(out.columns) == ["fit", "std_error", "lower", "upper"]
    assert_estimate(out["fit"], ref["fit"], ref["std_error"])
    assert_rel(out["std_error"], ref["std_error"])
    half = (np.array(ref["upper"]) - np.array(ref["lower"])) / 2
    assert_bounds(out["lower"], ref["lower"], half)
    assert_bounds(out["upper"], ref["upper"], half)


@pytest.mark.parametrize("path", case_files("pred"), ids=lambda p: p.stem)
def test_variance_components_match_r(path) -> None:
    case = load(path)
    res = fitted(path)
    comp = components(res, new_rows(res, newdata(case)))
    ref = case["components"]
    assert_rel(comp.xVx, ref["xVx"])
    assert_rel(comp.zTz, ref["zTz"], abs_=1e-9)
    assert_rel(comp.re_var, ref["zCz"], abs_=1e-9)
    assert comp.sigma2 == pytest.approx(ref["sigma2"], rel=1e-4)
    assert_estimate(comp.fit_conditional, ref["fit_conditional"], np.sqrt(ref["xVx"]))


def test_default_newdata_is_the_fitted_rows():
    res = fitted(case_files("pred")[0])
    out = res.predict(interval="confidence")
    np.testing.assert_allclose(out["fit"], res.fitted(), rtol=1e-12)
    assert out.index.equals(res.design.row_index)
    np.testing.assert_allclose(res.predict(type="link"), res.predict(type="response"))


# ---- bad input and data handling ------------------------------------------------------------
@pytest.fixture(scope="module")
def bdf():
    return next(p for p in case_files("pred") if p.stem == "pred_bdf_factor_slope")


def test_unseen_fixed_factor_level_is_a_specific_error(bdf):
    nd = newdata(load(bdf)).copy()
    nd.loc[1, "denomina"] = "jewish"
    # the model-matrix layer's wording: the column, the new level and the fit's levels
    with pytest.raises(ValueError, match=r"'denomina' has level\(s\) 'jewish' in the new data"
                       r".*\['catholic', 'nondenom', 'protestant', 'public'\]"):
        fitted(bdf).predict(nd, interval="prediction")


def test_missing_column_and_bad_arguments(bdf):
    res, nd = fitted(bdf), newdata(load(bdf))
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['IQ_verb'\]"):
        res.predict(nd.drop(columns="IQ_verb"), interval="confidence")
    with pytest.raises(ValueError, match="interval must be"):
        res.predict(nd, interval="credible")
    with pytest.raises(ValueError, match="level must be between"):
        res.predict(nd, interval="confidence", level=95)
    with pytest.raises(ValueError, match="method must be"):
        res.predict(nd, interval="confidence", method="bootstrap")


def test_cluster_ids_match_whatever_their_dtype():
    path = next(p for p in case_files("pred") if p.stem == "pred_sleep_slope")
    case, res = load(path), fitted(path)
    nd = newdata(case)
    seen = nd["Subject"] != "new"
    as_numbers = nd[seen].assign(Subject=nd.loc[seen, "Subject"].astype(int))
    as_floats = as_numbers.assign(Subject=as_numbers["Subject"].astype(float))
    want = res.predict(nd[seen], interval="prediction")
    for other in (as_numbers, as_floats):
        got = res.predict(other, interval="prediction")
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    missing = nd.assign(Subject=[None] * len(nd))
    population = res.predict(missing, interval="prediction")
    np.testing.assert_allclose(population["fit"], res.predict(nd, include_re=False))


@settings(max_examples=5, deadline=None)
@given(order=st.permutations(range(8)), code=st.sampled_from(["str", "category"]))
def test_row_order_and_factor_dtype_do_not_matter(order, code):
    path = next(p for p in case_files("pred") if p.stem == "pred_bdf_factor_slope")
    res, nd = fitted(path), newdata(load(path))
    base = res.predict(nd, interval="prediction")
    shuffled = nd.iloc[list(order)].copy()
    if code == "category":
        shuffled["denomina"] = shuffled["denomina"].astype("category")
    before = shuffled.copy()
    out = res.predict(shuffled, interval="prediction")
    pd.testing.assert_frame_equal(out, base.loc[shuffled.index], check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(shuffled, before)  # the user's frame is untouched


# ---- simulation intervals -------------------------------------------------------------------
@pytest.mark.parametrize("stem", ["pred_sleep_slope", "pred_oats_nested", "pred_scots_crossed"])
def test_sampler_mean_is_the_fit_and_its_spread_is_vcov(stem):
    path = next(p for p in case_files("pred") if p.stem == stem)
    case, res = load(path), fitted(path)
    sampler = PosteriorSampler(res.design)
    beta, u = sampler.draw(np.asarray(res.theta), res.sigma, None)
    np.testing.assert_allclose(beta, res.fixef, rtol=1e-8, atol=1e-8)
    for got, want in zip(u, res.random_effects, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-7 * max(1.0, np.abs(want).max()))
    rng = np.random.default_rng(7)
    draws = np.array([sampler.draw(np.asarray(res.theta), res.sigma, rng)[0]
                      for _ in range(1500)])
    var = np.diag(np.asarray(case["vcov"]))  # R's vcov(m)
    ratio = draws.var(axis=0, ddof=1) / var
    # the sample variance of 1,500 normal draws is within 4.5 SE (SE = sqrt(2/1499)) of truth
    assert np.all(np.abs(ratio - 1) < 4.5 * np.sqrt(2 / 1499)), ratio
    assert np.all(np.abs(draws.mean(axis=0) - res.fixef) < 4.5 * np.sqrt(var / 1500))


def test_simulated_population_intervals_agree_with_analytic_at_fixed_variances():
    """With θ and σ held at their estimates, a population-level prediction is exactly normal
    with the analytic variance, so the simulated quantiles must match it up to Monte Carlo."""
    path = next(p for p in case_files("pred") if p.stem == "pred_hsb_crosslevel")
    case, res = load(path), fitted(path)
    nd = newdata(case)
    rows = new_rows(res, nd, include_re=False)
    for interval in ("confidence", "prediction"):
        analytic = res.predict(nd, include_re=False, interval=interval)
        sim = simulated_predictions(res, rows, analytic["fit"].to_numpy(), False, interval,
                                    0.95, nsim=3000, seed=11, vary_variance=False)
        width = (analytic["upper"] - analytic["lower"]).to_numpy()
        assert np.all(np.abs((sim["upper"] - sim["lower"]).to_numpy() / width - 1) < 0.07)
        sd = width / (2 * 1.959963984540054)
        assert np.all(np.abs(sim["std_error"].to_numpy() / sd - 1) < 0.06)


def test_variance_uncertainty_widens_prediction_intervals_with_few_clusters():
    path = next(p for p in case_files("pred") if p.stem == "pred_sleep_slope")
    res, nd = fitted(path), newdata(load(path))
    nd = nd[nd["Subject"] == "new"]
    analytic = res.predict(nd, interval="prediction")
    a = res.predict(nd, interval="prediction", method="simulation", nsim=3000, seed=3)
    b = res.predict(nd, interval="prediction", method="simulation", nsim=3000, seed=3)
    pd.testing.assert_frame_equal(a, b)  # the seed makes it reproducible
    ratio = ((a["upper"] - a["lower"]) / (analytic["upper"] - analytic["lower"])).mean()
    assert 1.0 < ratio < 1.25
    np.testing.assert_allclose(a["fit"], analytic["fit"])
    with pytest.raises(ValueError, match="nsim must be at least"):
        res.predict(nd, interval="prediction", method="simulation", nsim=3)


def test_simulated_conditional_confidence_includes_the_cluster_effect():
    path = next(p for p in case_files("pred") if p.stem == "pred_hsb_crosslevel")
    case, res = load(path), fitted(path)
    nd = newdata(case)
    seen = np.array(case["seen"])
    sim = res.predict(nd, interval="confidence", method="simulation", nsim=2000, seed=5)
    comp = case["components"]
    # var(x'γ + z'u_j) is at most x'Vx + z'C_j z (γ and u_j are negatively correlated) and at
    # least z'C_j z - x'Vx; it far exceeds the analytic x'Vx alone
    sd = sim["std_error"].to_numpy()[seen]
    xvx, zcz = np.array(comp["xVx"])[seen], np.array(comp["zCz"])[seen]
    assert np.all(sd > 2 * np.sqrt(xvx))
    assert np.all(sd < 1.1 * np.sqrt(xvx + zcz))


def test_prediction_data_not_modified_and_frame_indexed(bdf):
    nd = newdata(load(bdf))
    nd.index = [f"r{i}" for i in range(len(nd))]
    before = nd.copy()
    out = fitted(bdf).predict(nd, interval="confidence")
    assert list(out.index) == list(nd.index)
    pd.testing.assert_frame_equal(nd, before)

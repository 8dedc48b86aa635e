"""Numbers to trust on real data: units, offsets, boundaries, degenerate fits.

Every example is a case that went wrong before the engine worked in its own units
(mlm_jupyter/engine/conditioning.py) and verified its optima (engine/verify.py).  The truth
is lme4 1.1-31 where lme4 is right (tests/reference/trust/trust_reference.json, made by
trust_reference.R on the CSV files of make_data.py) and, where lme4 is not, the fit of the
same data in the original units or an independent computation of the same quantity.

Tolerances: criteria 1e-6 absolute between unit changes of the same data (ML deviance is
exactly invariant, so only rounding differs), 1e-3 absolute against lme4; estimates 1e-7
relative between unit changes (a response shifted by 1e9 keeps ~7 significant digits, which
bounds that case at 1e-6); profile limits 1e-4 relative against lme4's fine-grid profile.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import reference_data
from hypothesis import given, settings
from hypothesis import strategies as st

import mlm_jupyter as mlm
from mlm_jupyter.engine.conditioning import DegenerateModelError

HERE = Path(__file__).parent / "reference" / "trust"
REF = json.loads((HERE / "trust_reference.json").read_text())
Z95 = 1.959963984540054


def fit(formula: str, data: pd.DataFrame, reml: bool = False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(formula, data, reml=reml)


def hsb() -> pd.DataFrame:
    return reference_data("hsb").copy()


@pytest.fixture(scope="module")
def hsb_slope():
    return fit("mathach ~ cses + (1 + cses | school)", hsb())


# -- units of a predictor -------------------------------------------------------------------
@pytest.mark.parametrize("k", [1e-4, 1e3, 1e4, 1e15])
def test_predictor_units_leave_the_fit_unchanged(hsb_slope, k: float) -> None:
    """x = cses * k: deviance identical, slope and its SD scale by 1/k (lme4 misses most)."""
    res = fit("mathach ~ x + (1 + x | school)", hsb().assign(x=lambda d: d.cses * k))
    assert res.converged and not res.messages
    assert res.objective == pytest.approx(hsb_slope.objective, abs=1e-6)
    assert res.objective == pytest.approx(REF["hsb_slope_ml_profile"]["objective"], abs=1e-3)
    np.testing.assert_allclose(res.fixef.to_numpy() * [1, k], hsb_slope.fixef, rtol=1e-7)
    sd, base = res.varcorr["sdcor"].to_numpy(), hsb_slope.varcorr["sdcor"].to_numpy()
    np.testing.assert_allclose(sd * [1, k, 1, 1], base, rtol=1e-6)
    assert res.summary()  # every display works (it raised LinAlgError at 1e15)


@pytest.mark.parametrize("c", [1000.0, 1e6])
def test_predictor_offset_leaves_the_fit_unchanged(hsb_slope, c: float) -> None:
    """x = cses + c (a year, an age in months) with a correlated random intercept."""
    res = fit("mathach ~ x + (1 + x | school)", hsb().assign(x=lambda d: d.cses + c))
    assert res.converged
    assert res.objective == pytest.approx(hsb_slope.objective, abs=1e-6)
    slope = hsb_slope.fixef.iloc[1]
    assert res.fixef.iloc[1] == pytest.approx(slope, rel=1e-7)
    assert res.fixef.iloc[0] == pytest.approx(hsb_slope.fixef.iloc[0] - c * slope, rel=1e-7)
    assert res.sigma == pytest.approx(hsb_slope.sigma, rel=1e-8)
    # The slope's SD is the same; the intercept's (at x = 0, far from the data) is not.
    assert res.varcorr["sdcor"].iloc[1] == pytest.approx(hsb_slope.varcorr["sdcor"].iloc[1],
                                                         rel=1e-6)


@pytest.mark.parametrize("c", [1e7, 1e8, 1e9])
def test_response_far_from_zero_only_moves_the_intercept(hsb_slope, c: float) -> None:
    res = fit("y ~ cses + (1 + cses | school)", hsb().assign(y=lambda d: d.mathach + c))
    assert res.converged and not res.is_singular
    assert res.objective == pytest.approx(hsb_slope.objective, abs=1e-4)
    np.testing.assert_allclose(res.theta, hsb_slope.theta, rtol=1e-6)
    assert res.sigma == pytest.approx(hsb_slope.sigma, rel=1e-8)
    assert res.fixef.iloc[0] - c == pytest.approx(hsb_slope.fixef.iloc[0], abs=1e-6)


@pytest.mark.parametrize("s", [1e-6, 1e6])
def test_response_units_scale_estimates_and_shift_the_criterion(hsb_slope, s: float) -> None:
    res = fit("y ~ cses + (1 + cses | school)", hsb().assign(y=lambda d: d.mathach * s))
    n = hsb_slope.nobs
    assert res.objective == pytest.approx(hsb_slope.objective + 2 * n * np.log(s), abs=1e-6)
    np.testing.assert_allclose(res.theta, hsb_slope.theta, rtol=1e-8)
    np.testing.assert_allclose(res.fixef / s, hsb_slope.fixef, rtol=1e-8)


def test_satterthwaite_and_kenward_roger_df_do_not_depend_on_units() -> None:
    """Satterthwaite df of x were 12,186 instead of 149 with the response times 1e6."""
    base = fit("mathach ~ cses * catholic + (1 + cses | school)", hsb(), reml=True)
    for data in (hsb().assign(mathach=lambda d: d.mathach * 1e6),
                 hsb().assign(cses=lambda d: d.cses * 1e4)):
        res = fit("mathach ~ cses * catholic + (1 + cses | school)", data, reml=True)
        for ddf in ("satterthwaite", "kenward-roger"):
            np.testing.assert_allclose(res.coefficients(ddf)["df"],
                                       base.coefficients(ddf)["df"], rtol=1e-6)
            np.testing.assert_allclose(res.coefficients(ddf)["t"],
                                       base.coefficients(ddf)["t"], rtol=1e-7)


# -- the optimum is verified ---------------------------------------------------------------------
@pytest.mark.parametrize("key, n_pred", [
    ("crossed_scalar8", 4), ("crossed_scalar16", 8), ("crossed_scalar16b", 8),
])
def test_many_scalar_variances_on_crossed_factors(key: str, n_pred: int) -> None:
    """(1|G) + (0+x1|G) + ... + (1|H) + ...: 8 or 16 scalar terms, several truly 0, with
    predictors in mixed units (0.1, 1, 10, ... times their simulation scale).

    A variance at 0 has a zero θ-gradient whatever the data say; the optimum check reads the
    φ = θ² derivative and restarts.  Before, the engine stopped 0.03 to 960 deviance units
    above the optimum on these data; lme4 stops 0.01 to 1,700 units above it.  The truth is
    lme4's fit of the same data in the simulation's units (``<key>_sim``), where lme4's own
    optimiser copes: ML deviance does not depend on the units of a predictor.
    """
    ref, truth = REF[key], REF[key + "_sim"]
    data = pd.read_csv(HERE / f"{key}.csv")
    res = fit(ref["formula"], data)
    assert res.converged
    assert res.objective == pytest.approx(truth["objective"], abs=1e-3)
    assert res.objective <= truth["objective"] + 1e-6
    assert res.objective <= ref["objective"] + 1e-6  # never worse than lme4
    scale = 10.0 ** (np.arange(n_pred - 1) - 1)  # undo the units: slopes times 10^(k-1)
    np.testing.assert_allclose(res.fixef.to_numpy()[1:] * scale, truth["fixef"][1:],
                               rtol=1e-3, atol=1e-5)
    # lme4's estimates in our criterion give lme4's deviance: the same function, a worse point.
    lme4_theta = res.conditioning.theta_to_engine(np.asarray(ref["theta"]), res.engine.cp)
    assert res.conditioning.criterion(res.engine(lme4_theta), False, res.nobs) == pytest.approx(
        ref["objective"], abs=1e-4)


def test_an_optimiser_that_stops_early_is_caught_and_restarted(monkeypatch) -> None:
    """A search that returns its start (as at x * 1e15 before) is not taken on trust."""
    from mlm_jupyter.engine import fit as engine_fit

    real = engine_fit._lbfgsb
    calls = []

    def lazy(obj, start, analytic, bounded=True):
        calls.append(1)
        if len(calls) == 1:
            theta = np.asarray(start, dtype=float).copy()
            theta[obj.lower == 0] = 0.0  # every variance at 0, where the θ-gradient vanishes
            return theta, float(obj(theta)), ""
        return real(obj, start, analytic, bounded)

    monkeypatch.setattr(engine_fit, "_lbfgsb", lazy)
    res = fit("mathach ~ cses + (1 | school)", hsb())
    assert res.optimization.n_restarts >= 1 and res.converged
    assert res.objective == pytest.approx(fit("mathach ~ cses + (1 | school)", hsb()).objective,
                                          abs=1e-6)


def test_a_saddle_or_slope_is_reported_not_called_converged(monkeypatch) -> None:
    from mlm_jupyter.engine import fit as engine_fit

    monkeypatch.setattr(engine_fit, "MAX_RESTARTS", 0)
    monkeypatch.setattr(engine_fit, "_lbfgsb",
                        lambda obj, start, analytic, bounded=True: (start * 0.3, obj(start * 0.3),
                                                                     ""))
    monkeypatch.setattr(engine_fit, "_finish", lambda obj, theta, value: (theta, value))
    res = fit("mathach ~ cses + (1 + cses | school)", hsb())
    assert not res.converged
    assert any(m.startswith("Convergence: the estimates were checked") for m in res.messages)


def test_all_fit_compares_optimisers_and_starts(hsb_slope) -> None:
    table = hsb_slope.all_fit()
    assert {"objective", "delta", "converged", "max_grad", "n_evals", "seconds", "message",
            "(Intercept)", "sd_cses|school", "sigma"} <= set(table.columns)
    assert len(table) >= 5 and table["converged"].all()
    assert table["objective"].min() == pytest.approx(hsb_slope.objective, abs=1e-6)
    assert table.attrs["spread"].max() < 1e-4
    assert "same optimum" in table.attrs["summary"]


# -- degenerate designs are reported, not fitted -----------------------------------------------
def test_collinear_columns_inside_a_random_term_are_refused() -> None:
    data = hsb().assign(x=lambda d: d.cses, x2=lambda d: 2 * d.cses + 1)
    with pytest.raises(ValueError, match=r"\(1 \+ x \+ x2 \| school\).*'x2'.*linear combination"):
        fit("mathach ~ x + (x + x2 | school)", data)


def test_a_response_the_fixed_effects_reproduce_is_refused() -> None:
    with pytest.raises(DegenerateModelError, match="reproduce the response 'y' exactly"):
        fit("y ~ cses + (1 | school)", hsb().assign(y=lambda d: 2 + 3 * d.cses))
    with pytest.raises(DegenerateModelError, match="same value .*3.5.* in all 7185 rows"):
        fit("y ~ cses + (1 | school)", hsb().assign(y=3.5))


def test_a_response_the_random_effects_reproduce_is_refused() -> None:
    with pytest.raises(DegenerateModelError, match="'meanses' is constant within every level"):
        fit("meanses ~ 1 + (1 | school)", hsb(), reml=True)


def test_a_predictor_offset_never_makes_it_collinear_with_the_intercept() -> None:
    """R's rank test on raw columns would drop x + 1e8 (its variation is 1e-8 of its size)."""
    base = fit("mathach ~ cses + (1 | school)", hsb())
    res = fit("mathach ~ x + (1 | school)", hsb().assign(x=lambda d: d.cses + 1e8))
    assert list(res.fixef.index) == ["(Intercept)", "x"]
    assert res.fixef["x"] == pytest.approx(base.fixef["cses"], rel=1e-6)


# -- profile intervals ---------------------------------------------------------------------------
def _limits(ci: pd.DataFrame) -> np.ndarray:
    return ci[["lower", "upper"]].to_numpy(dtype=float)


def _lme4_limits(key: str) -> np.ndarray:
    fine = REF[key]["profile_fine"]
    return np.column_stack([fine["lower"], fine["upper"]]).astype(float)


def test_profile_limits_equal_lme4s_profile_roots() -> None:
    ref = REF["hsb_slope_ml_profile"]
    ci = fit(ref["formula"], hsb()).confint()
    assert (ci["note"] == "").all()
    np.testing.assert_allclose(_limits(ci), _lme4_limits("hsb_slope_ml_profile"), rtol=1e-4)


def test_profile_of_a_factor_slope_reaches_the_correlations_bounds() -> None:
    ref = REF["factor_slope_profile"]
    data = hsb()
    data["sex"] = pd.Categorical(np.where(data.female == 1, "female", "male"), ["male", "female"])
    ci = fit(ref["formula"], data).confint()
    np.testing.assert_allclose(_limits(ci), _lme4_limits("factor_slope_profile"),
                               rtol=1e-4, atol=1e-8)
    assert _limits(ci)[1].tolist() == [-1.0, 1.0]


def test_profile_of_a_singular_fit_is_exact_where_lme4s_is_not() -> None:
    """Correlation at +1 in the fit.  lme4's profile puts its lower limit at -1; the exact
    profile deviance at ρ = 0 is the LR statistic against the uncorrelated model (7.06 >
    3.84), so 0 is outside the interval."""
    from mlm_jupyter.inference.profile import Profiler, var_parameters

    data = pd.read_csv(HERE / "small_slope.csv")
    res = fit("y ~ x + (1 + x | g)", data)
    ci = res.confint()
    assert np.isfinite(_limits(ci)).all() and (ci["note"] == "").all()
    uncorrelated = fit("y ~ x + (1 | g) + (0 + x | g)", data)
    prof = Profiler(res)
    rho = var_parameters(prof.cp)[1]
    at_zero = prof.cor_deviance(rho, 0.0, prof.theta_hat)[0] - prof.base
    assert at_zero == pytest.approx(uncorrelated.objective - res.objective, abs=1e-6)
    assert ci["lower"].iloc[1] > 0.3 and ci["upper"].iloc[1] == 1.0
    # Every SD limit is a root of ζ² = z² whatever the inner problem's start.
    rng = np.random.default_rng(1)
    for row, par in zip((0, 2), (var_parameters(prof.cp)[0], var_parameters(prof.cp)[2]),
                        strict=True):
        for limit in _limits(ci)[row]:
            values = [prof.sd_deviance(par, limit, np.abs(prof.theta_hat
                                                          + rng.normal(0, 0.3, 3)))[0]
                      for _ in range(5)]
            assert min(values) - prof.base == pytest.approx(Z95**2, abs=1e-5)
    # The fixed effects' limits are where lme4 puts them.
    np.testing.assert_allclose(_limits(ci)[4:], _lme4_limits("small_slope_profile")[4:],
                               rtol=1e-5)


def test_profiles_never_crash_and_lme4_failures_are_not_ours() -> None:
    """lme4 stops 4e-4 deviance units short on this I(Days^2) slope model and its profile
    fails ("profiling detected new, lower deviance"); the boundary fit of singular.csv gets
    NA intervals from lme4.  Here: a better optimum of the same function and finite limits."""
    ref = REF["quadratic_slope_profile"]
    res = fit(ref["formula"], reference_data("sleepstudy").copy())
    assert res.converged and res.objective < ref["objective"] - 1e-4
    lme4_theta = res.conditioning.theta_to_engine(np.asarray(ref["theta"]), res.engine.cp)
    lme4_value = res.conditioning.criterion(res.engine(lme4_theta), False, res.nobs)
    assert lme4_value == pytest.approx(ref["objective"], abs=1e-6)  # the same function
    for data, formula in ((reference_data("sleepstudy").copy(), ref["formula"]),
                          (pd.read_csv(reference_data_path("singular.csv")),
                           REF["singular_profile"]["formula"])):
        ci = fit(formula, data).confint()
        assert np.isfinite(_limits(ci)).all(), ci
        assert (ci["note"] == "").all()


def test_profile_limits_follow_the_units_of_a_predictor() -> None:
    base = fit("mathach ~ cses + (1 + cses | school)", hsb()).confint()
    res = fit("mathach ~ x + (1 + x | school)", hsb().assign(x=lambda d: d.cses * 1e4)).confint()
    scale = np.array([1, 1, 1e4, 1, 1, 1e4])[:, None]
    np.testing.assert_allclose(_limits(res) * scale, _limits(base), rtol=1e-5)


def test_wald_intervals_say_why_variance_limits_are_missing(hsb_slope) -> None:
    ci = hsb_slope.confint(method="wald")
    assert ci["lower"].iloc[:4].isna().all()
    assert ci["note"].iloc[0].startswith("no Wald interval for an SD or correlation")
    assert (ci["note"].iloc[4:] == "").all()


def reference_data_path(name: str) -> Path:
    return Path(__file__).parent / "reference" / "data" / name


# -- property tests: what must not matter ---------------------------------------------------------
def _crossed_slopes() -> pd.DataFrame:
    return pd.read_csv(Path(__file__).parent / "reference" / "extra" / "data" / "crossed_slope.csv")


MODELS = {
    "single": ("Reaction ~ Days + (Days | Subject)", lambda: reference_data("sleepstudy").copy(),
               "Days", "Reaction"),
    "nested": ("y ~ x + (1 + x | batch) + (1 | batch:cask)", lambda: _pastes_with_x(), "x", "y"),
    "crossed": ("y ~ x + (1 + x | subject) + (1 | item)", _crossed_slopes, "x", "y"),
}


def _pastes_with_x() -> pd.DataFrame:
    data = reference_data("pastes").copy()
    rng = np.random.default_rng(7)
    data["x"] = rng.normal(size=len(data))
    data["y"] = data["strength"] + 0.5 * data["x"] + rng.normal(0, 0.5, len(data))
    return data


_BASE: dict = {}


def _base(name: str):
    if name not in _BASE:
        formula, data, _, _ = MODELS[name]
        _BASE[name] = fit(formula, data())
    return _BASE[name]


@settings(max_examples=12, deadline=None)
@given(name=st.sampled_from(sorted(MODELS)), log_k=st.floats(-6, 9), c=st.floats(-1e6, 1e6),
       shift=st.booleans())
def test_property_predictor_units_and_offsets(name: str, log_k: float, c: float,
                                              shift: bool) -> None:
    """x·k for k in 1e-6…1e9, or x + c for |c| ≤ 1e6 (one at a time: x·1e-6 + 1e6 would
    keep only 4 of x's digits in a double, a loss in the data, not in the fit)."""
    formula, data, x, _ = MODELS[name]
    base = _base(name)
    d = data()
    if shift:
        log_k = 0.0
        d[x] = d[x] + c
    else:
        d[x] = d[x] * 10.0**log_k
    res = fit(formula, d)
    assert res.converged
    assert res.objective == pytest.approx(base.objective, abs=1e-6 * max(1, abs(base.objective)))
    assert res.fixef[x] * 10.0**log_k == pytest.approx(base.fixef[x], rel=1e-6)
    assert res.sigma == pytest.approx(base.sigma, rel=1e-6)


@settings(max_examples=12, deadline=None)
@given(name=st.sampled_from(sorted(MODELS)), log_s=st.floats(-3, 3), c=st.floats(-1e6, 1e6))
def test_property_response_units_and_offsets(name: str, log_s: float, c: float) -> None:
    """y·s + c: θ unchanged, the criterion shifted by 2n log s (ML)."""
    formula, data, x, y = MODELS[name]
    base = _base(name)
    d = data()
    s = 10.0**log_s
    d[y] = d[y] * s + c
    res = fit(formula, d)
    n = base.nobs
    assert res.objective == pytest.approx(base.objective + 2 * n * np.log(s),
                                          abs=1e-6 * max(1, abs(base.objective)))
    np.testing.assert_allclose(res.theta, base.theta, rtol=1e-5, atol=1e-8)
    assert res.fixef[x] / s == pytest.approx(base.fixef[x], rel=1e-6)

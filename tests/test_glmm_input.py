"""GLMM input handling: responses as lme4 takes them, specific errors for bad input, and
what must not matter (row order, units, label spelling, the user's frame)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from glmm_reference import glmm_data, glmm_fit
from hypothesis import given, settings
from hypothesis import strategies as st

import mlm_jupyter as mlm


def _fit(formula, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(formula, data, **kw)


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(20), 15)
    x = rng.normal(size=g.size)
    eta = -0.2 + 0.8 * x + rng.normal(0, 0.7, 20)[g]
    y = (rng.uniform(size=g.size) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"g": [f"g{i:02d}" for i in g], "x": x, "y": y})


def test_logical_and_two_level_factor_responses_equal_01(binary):
    base = _fit("y ~ x + (1 | g)", binary, family="binomial")
    logical = binary.assign(y=binary.y.astype(bool))
    labels = binary.assign(y=np.where(binary.y == 1, "pass", "fail"))  # 'fail' sorts first
    for data in (logical, labels):
        res = _fit("y ~ x + (1 | g)", data, family="binomial")
        assert res.loglik == pytest.approx(base.loglik, abs=1e-9)
        np.testing.assert_allclose(res.fixef, base.fixef, atol=1e-8)


def test_proportion_with_weights_equals_cbind():
    df = glmm_data("germination_weights").copy()
    a = _fit("prop ~ treatment + (1 | tray)", df, family="binomial", weights=df["n"].to_numpy())
    b = _fit("cbind(germinated, n - germinated) ~ treatment + (1 | tray)", df, family="binomial")
    c = _fit("prop ~ treatment + (1 | tray)", df, family="binomial", weights="n")
    assert a.loglik == pytest.approx(b.loglik, abs=1e-8) == c.loglik
    np.testing.assert_allclose(a.fixef, b.fixef, atol=1e-7)


@pytest.mark.parametrize(
    ("change", "family", "kwargs", "message"),
    [
        (lambda d: d.assign(y=d.y * 3), "binomial", {}, "outside"),
        (lambda d: d.assign(y=d.y * 0.5), "binomial", {}, "proportions"),
        (lambda d: d.assign(y=np.array(["a", "b", "c"])[np.arange(len(d)) % 3]), "binomial",
         {}, "3 distinct"),
        (lambda d: d.assign(y=d.y - 1), "poisson", {}, "negative"),
        (lambda d: d.assign(y=d.y + 0.5), "poisson", {}, "non-integer"),
        (lambda d: d, "gamma", {}, "not available"),
        (lambda d: d, "poisson", {"link": "probit"}, "link 'probit'"),
        (lambda d: d, "binomial", {"nagq": 0}, "positive integer"),
        (lambda d: d, "binomial", {"weights": np.ones(3)}, "one per row"),
        (lambda d: d, "binomial", {"weights": -np.ones(300)}, ">= 0"),
    ],
)
def test_bad_input_messages(binary, change, family, kwargs, message):
    with pytest.raises(ValueError, match=message):
        _fit("y ~ x + (1 | g)", change(binary), family=family, **kwargs)


def test_cbind_needs_binomial_and_glmm_options_need_a_family():
    df = glmm_data("cbpp_laplace").copy()
    with pytest.raises(ValueError, match="family='binomial'"):
        _fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", df)
    with pytest.raises(ValueError, match="binomial"):
        _fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", df, family="poisson")
    with pytest.raises(ValueError, match="weights"):
        _fit("incidence ~ period + (1 | herd)", df, weights=df["size"])


def test_quadrature_needs_one_term(binary):
    df = binary.assign(h=np.arange(len(binary)) % 7)
    with pytest.raises(ValueError, match="single random-effects term"):
        _fit("y ~ x + (1 | g) + (1 | h)", df, family="binomial", nagq=5)
    with pytest.raises(ValueError, match="quadrature points"):
        _fit("y ~ x + (1 + x | g)", df, family="binomial", nagq=200)


def test_complete_and_quasi_complete_separation(binary):
    df = binary.copy()
    df["y"] = (df.x > 0).astype(int)
    with pytest.raises(ValueError, match="separation.*'x'"):
        _fit("y ~ x + (1 | g)", df, family="binomial")
    df = binary.copy()
    df["grp"] = np.where(np.arange(len(df)) % 4 == 0, "a", "b")
    df.loc[df.grp == "a", "y"] = 0
    with pytest.raises(ValueError, match="separation.*grpb"):
        _fit("y ~ x + grp + (1 | g)", df, family="binomial")


def test_missing_values_dropped_and_counted(binary):
    df = binary.copy()
    df.loc[[3, 50], "x"] = np.nan
    with pytest.warns(mlm.MixedModelWarning, match="2 row"):
        res = mlm.fit("y ~ x + (1 | g)", df, family="binomial")
    assert res.n_dropped == 2 and res.nobs == len(df) - 2


def test_user_frame_is_not_modified():
    df = glmm_data("contraception_slope").copy()
    before = df.copy()
    _fit("use ~ age + urban + (1 | district)", df, family="binomial")
    pd.testing.assert_frame_equal(df, before)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.sampled_from([1e-3, 1.0, 1e3]),
       prefix=st.sampled_from(["", "cluster ", "Ü-"]))
def test_row_order_units_and_labels_do_not_matter(seed, scale, prefix):
    base = glmm_fit("panel_cbind_slope")
    df = glmm_data("panel_cbind_slope").copy()
    df = df.sample(frac=1.0, random_state=seed)
    df["time"] = df["time"] * scale
    df["id"] = prefix + df["id"]
    res = _fit("cbind(success, trials - success) ~ trt * time + (1 + time | id)", df,
               family="binomial")
    assert res.loglik == pytest.approx(base.loglik, abs=1e-6)
    mult = np.array([1, 1, scale, scale])
    np.testing.assert_allclose(res.fixef.to_numpy() * mult, base.fixef.to_numpy(), rtol=1e-4,
                               atol=1e-6)
    se = np.sqrt(np.diag(res.vcov.to_numpy())) * mult
    np.testing.assert_allclose(se, np.sqrt(np.diag(base.vcov.to_numpy())), rtol=1e-3)

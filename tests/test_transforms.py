"""Centring transforms inside formulas, checked against lme4's fits of the precomputed columns.

hsb's reference columns are exactly ``cses = ses - school mean`` and ``meanses = school mean``,
so fitting ``cwc(ses, school)`` / ``cm(ses, school)`` on raw ``ses`` must reproduce lme4's
``hsb_cmc`` and ``hsb_hybrid`` fits (tolerances of tests/reference/README.md).
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest
from conftest import reference_case, reference_data

import mlm_jupyter as mlm

CMC = "mathach ~ cwc(ses, school) + cm(ses, school) + (1 + cwc(ses, school) | school)"
HYBRID = "mathach ~ ses + cm(ses, school) + (1 + cwc(ses, school) | school)"
RENAME = {"cses": "cwc(ses, school)", "meanses": "cm(ses, school)"}


@cache
def _fit(formula: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(formula, reference_data("hsb").copy())


def test_columns_equal_precomputed_cluster_means() -> None:
    res, data = _fit(CMC), reference_data("hsb")
    X = pd.DataFrame(res.design.X, columns=res.design.fixed_names)
    np.testing.assert_allclose(X["cwc(ses, school)"], data["cses"], atol=1e-9)
    np.testing.assert_allclose(X["cm(ses, school)"], data["meanses"], atol=1e-9)


@pytest.mark.parametrize("formula, case_id", [(CMC, "hsb_cmc"), (HYBRID, "hsb_hybrid")])
def test_transform_fit_reproduces_lme4(formula: str, case_id: str) -> None:
    ref, res = reference_case(case_id), _fit(formula)
    names = [RENAME.get(n, n) for n in ref["fixef_names"]]
    assert list(res.fixef.index) == names
    assert res.objective == pytest.approx(ref["objective"], abs=1e-3)
    np.testing.assert_allclose(res.fixef.to_numpy(), ref["fixef"], rtol=1e-4)
    np.testing.assert_allclose(res.coef_table["std_error"], ref["se"], rtol=1e-3)
    np.testing.assert_allclose(res.coef_table["df"], ref["satterthwaite_df"], rtol=1e-3)
    assert res.sigma == pytest.approx(ref["sigma"], rel=1e-4)
    # The slope SD sits on a flat ridge (see test_engine_reference); 2e-3 as there.
    np.testing.assert_allclose(res.varcorr["vcov"], [v["vcov"] for v in ref["varcorr"]], rtol=2e-3)


def test_hybrid_and_cmc_same_fit_and_reference_contrasts() -> None:
    """Within, contextual and between effects from either parametrisation (lme4's contest1D)."""
    cmc, hybrid = _fit(CMC), _fit(HYBRID)
    assert cmc.objective == pytest.approx(hybrid.objective, abs=1e-6)
    for res, case_id in [(cmc, "hsb_cmc"), (hybrid, "hsb_hybrid")]:
        for c in reference_case(case_id)["contrasts"]:
            out = res.contrast(c["L"])
            assert out["estimate"] == pytest.approx(c["estimate"], rel=1e-4)
            assert out["std_error"] == pytest.approx(c["se"], rel=1e-3)
            assert out["df"] == pytest.approx(c["df"], rel=1e-3)
    contextual = cmc.contrast("cm(ses, school) - cwc(ses, school)")
    assert contextual["estimate"] == pytest.approx(hybrid.fixef["cm(ses, school)"], rel=1e-6)
    between = hybrid.contrast("ses + cm(ses, school)")
    assert between["estimate"] == pytest.approx(cmc.fixef["cm(ses, school)"], rel=1e-6)


def test_readable_term_names_in_interactions() -> None:
    res = _fit(
        "mathach ~ cwc(ses, school) * catholic + cm(ses, school) + (1 + cwc(ses, school) | school)"
    )
    assert "cwc(ses, school):catholic" in res.fixef.index
    assert "cwc(ses, school)" in res.ranef["school"].columns
    # Same model as the reference hsb_crosslevel (cses, meanses precomputed).
    ref = reference_case("hsb_crosslevel")
    assert res.objective == pytest.approx(ref["objective"], abs=1e-3)


def test_predict_uses_training_means() -> None:
    res, data = _fit(CMC), reference_data("hsb")
    school = data["school"].iloc[0]
    rows = data[data["school"] == school].iloc[:3].copy()
    rows["ses"] = [3.0, -2.0, 0.5]  # far from the school's mean: recomputing would change it
    train_mean = float(data.loc[data["school"] == school, "ses"].mean())
    g = res.fixef
    u = res.ranef["school"].loc[str(school)]
    within = rows["ses"].to_numpy() - train_mean
    expected_fixed = (
        g["(Intercept)"] + g["cwc(ses, school)"] * within + g["cm(ses, school)"] * train_mean
    )
    np.testing.assert_allclose(res.predict(rows, include_re=False), expected_fixed, rtol=1e-12)
    expected = expected_fixed + u["(Intercept)"] + u["cwc(ses, school)"] * within
    np.testing.assert_allclose(res.predict(rows), expected, rtol=1e-12)
    # Fitted rows predicted as new data give the fitted values.
    np.testing.assert_allclose(res.predict(data.iloc[:50]), res.fitted().iloc[:50], rtol=1e-10)


def test_predict_unseen_cluster_names_the_level() -> None:
    res, data = _fit(CMC), reference_data("hsb")
    rows = data.iloc[:2].copy()
    rows["school"] = ["NEW-1", "NEW-2"]
    with pytest.raises(Exception, match="NEW-1.*NEW-2.*not in the training data"):
        res.predict(rows)


def test_gmc_and_center_state() -> None:
    data = reference_data("hsb").copy()
    original = data.copy()
    res = _fit("mathach ~ gmc(ses) + (1 | school)")
    X = pd.DataFrame(res.design.X, columns=res.design.fixed_names)
    np.testing.assert_allclose(X["gmc(ses)"], data["ses"] - data["ses"].mean(), atol=1e-12)
    one = data.iloc[:1].copy()
    one["ses"] = 1.0
    pred = res.predict(one, include_re=False)
    expected = res.fixef["(Intercept)"] + res.fixef["gmc(ses)"] * (1.0 - data["ses"].mean())
    assert pred[0] == pytest.approx(expected, rel=1e-12)
    res_c = _fit("mathach ~ center(ses, 1) + (1 | school)")
    Xc = pd.DataFrame(res_c.design.X, columns=res_c.design.fixed_names)
    np.testing.assert_allclose(Xc["center(ses, 1)"], data["ses"] - 1, atol=1e-12)
    pd.testing.assert_frame_equal(data, original)


def test_means_use_the_rows_of_the_fit() -> None:
    """Rows dropped for missing values do not enter the cluster means."""
    data = reference_data("hsb").copy()
    data.loc[data.index[:5], "mathach"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("mathach ~ cwc(ses, school) + (1 | school)", data)
    used = data.dropna(subset=["mathach"])
    expected = used["ses"] - used.groupby("school")["ses"].transform("mean")
    X = pd.DataFrame(res.design.X, columns=res.design.fixed_names, index=res.design.row_index)
    np.testing.assert_allclose(X["cwc(ses, school)"], expected.loc[X.index], atol=1e-12)


def test_non_numeric_variable_is_a_clear_error() -> None:
    data = reference_data("hsb").copy()
    data["label"] = "a"
    with pytest.raises(Exception, match="numeric"):
        mlm.fit("mathach ~ cwc(label, school) + (1 | school)", data)

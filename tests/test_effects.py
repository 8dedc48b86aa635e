"""Effect sizes and simple slopes against R (performance 0.10.2 / insight 0.19.0, emmeans 1.8.4).

References: tests/reference/effects.json and extra/effects.json (shared scripts) and
extra_effects/extra_effects.json (make_extra_effects.R in that folder).  Tolerances: 1e-3
relative on ICC, R², variances, slopes and SEs; 2% on Satterthwaite df.  Formulas with no R
counterpart (random-slope ranges, reliabilities, marginal variance, variance explained) are
checked on the literature's numbers and on lme4's reference variance components.
"""

from __future__ import annotations

import json
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, fitted_case, reference_case, reference_data
from scipy import stats

import mlm_jupyter as mlm
from mlm_jupyter.effects import proportional_reduction, slope_range

SHARED = json.loads((REFERENCE / "effects.json").read_text())
EXTRA = json.loads((REFERENCE / "extra" / "effects.json").read_text())
MORE = json.loads((REFERENCE / "extra_effects" / "extra_effects.json").read_text())
DATASET = {"hsb_uncentred_slope": "hsb", "sleep_quadratic_reml": "sleepstudy"}


@cache
def _result(case: str, formula: str | None = None):
    try:
        reference_case(case)
        return fitted_case(case)
    except KeyError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return mlm.fit(formula, reference_data(DATASET[case]).copy())


def _entries(key: str) -> list[dict]:
    return SHARED[key] + EXTRA[key] + MORE[key]


@pytest.mark.parametrize("ref", _entries("icc"), ids=lambda r: r["case"])
def test_icc_matches_performance(ref: dict) -> None:
    out = _result(ref["case"], ref.get("formula")).icc()
    assert out["adjusted"] == pytest.approx(ref["adjusted"], rel=1e-3)
    assert out["unadjusted"] == pytest.approx(ref["unadjusted"], rel=1e-3)


@pytest.mark.parametrize("ref", _entries("r2"), ids=lambda r: r["case"])
def test_r2_nakagawa_matches_performance(ref: dict) -> None:
    out = _result(ref["case"], ref.get("formula")).r2()
    assert out["marginal"] == pytest.approx(ref["marginal"], rel=1e-3, abs=1e-12)
    assert out["conditional"] == pytest.approx(ref["conditional"], rel=1e-3)


@pytest.mark.parametrize("ref", EXTRA["variances"] + MORE["variances"], ids=lambda r: r["case"])
def test_variance_pieces_match_insight(ref: dict) -> None:
    from mlm_jupyter.effects import nakagawa_variances

    formula = next((r["formula"] for r in MORE["icc"] if r["case"] == ref["case"]), None)
    out = nakagawa_variances(_result(ref["case"], formula))
    assert out["fixed"] == pytest.approx(ref["var.fixed"], rel=1e-3)
    assert out["random"] == pytest.approx(ref["var.random"], rel=1e-3)
    assert out["residual"] == pytest.approx(ref["var.residual"], rel=1e-3)


@pytest.mark.parametrize(
    "ref", _entries("simple_slopes"), ids=lambda r: f"{r['case']}-{r['at']}"
)
def test_simple_slopes_match_emtrends(ref: dict) -> None:
    res = _result(ref["case"], ref.get("formula"))
    at = {k: [v] for k, v in ref["at"].items()}
    row = res.simple_slopes(ref["slope_of"], at).iloc[0]
    assert row["estimate"] == pytest.approx(ref["estimate"], rel=1e-3)
    assert row["std_error"] == pytest.approx(ref["se"], rel=1e-3)
    assert row["df"] == pytest.approx(ref["df"], rel=0.02)
    assert row["lower"] == pytest.approx(ref["lower"], rel=2e-3, abs=1e-3)
    assert row["upper"] == pytest.approx(ref["upper"], rel=2e-3, abs=1e-3)
    assert np.log(row["p"]) == pytest.approx(np.log(ref["p"]), rel=0.02)


def test_simple_slopes_table_and_held_moderators() -> None:
    res = fitted_case("hsb_rb")
    table = res.simple_slopes("cses", {"meanses": [-0.5, 0.5]})
    assert list(table.columns) == [
        "meanses", "estimate", "std_error", "df", "t", "p", "lower", "upper", "held_at"
    ]
    assert set(table["held_at"]) == {"catholic=0"}
    assert res.simple_slopes("cses", {"meanses": 0, "catholic": 0})["held_at"].iloc[0] == ""
    with pytest.raises(ValueError, match="not a variable|neither"):
        res.simple_slopes("nonsense", {"catholic": [0]})


def test_simple_slope_of_transformed_term_is_within_slope() -> None:
    """``of="ses"`` in a cwc/cm model moves ses within a school: the cwc slope, not cm's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit(
            "mathach ~ cwc(ses, school) * catholic + cm(ses, school) + "
            "(1 + cwc(ses, school) | school)",
            reference_data("hsb").copy(),
        )
    by_data = res.simple_slopes("ses", {"catholic": [0, 1]})
    by_name = res.simple_slopes("cwc(ses, school)", {"catholic": [0, 1]})
    ref = [r for r in SHARED["simple_slopes"] if r["case"] == "hsb_crosslevel"]
    for table in (by_data, by_name):
        np.testing.assert_allclose(table["estimate"], [r["estimate"] for r in ref], rtol=1e-3)
        np.testing.assert_allclose(table["df"], [r["df"] for r in ref], rtol=0.02)


def test_johnson_neyman_matches_emtrends_boundaries() -> None:
    ref = MORE["johnson_neyman"][0]
    res = fitted_case(ref["case"])
    jn = res.johnson_neyman(ref["slope_of"], ref["moderator"], level=ref["level"])
    bounds = jn.attrs["boundaries"]["value"].to_numpy()
    np.testing.assert_allclose(bounds, ref["boundaries"], rtol=2e-3)
    assert list(jn["significant"]) == [True, False, True]
    assert jn.attrs["held_at"] == "catholic=0"
    # At a boundary the simple slope is exactly at the edge of significance.
    at = res.simple_slopes("cses", {"meanses": list(bounds)})
    np.testing.assert_allclose(at["p"], 1 - ref["level"], rtol=1e-6)


def test_johnson_neyman_rejects_non_moderator() -> None:
    with pytest.raises(ValueError, match="does not moderate"):
        fitted_case("hsb_crosslevel").johnson_neyman("cses", "meanses")


def test_slope_range_literature_example() -> None:
    """Raudenbush & Bryk style: 1.72 ± 1.96·√0.91 = -0.15 to 3.59."""
    lower, upper, opposite = slope_range(1.72, 0.91)
    assert lower == pytest.approx(-0.15, abs=0.005)
    assert upper == pytest.approx(3.59, abs=0.005)
    assert opposite == pytest.approx(stats.norm.cdf(-1.72 / np.sqrt(0.91)), rel=1e-12)


@pytest.mark.parametrize("case_id", ["hsb_crosslevel", "sleep_noint_slope", "hsb_uncorr_female"])
def test_random_slope_ranges_from_lme4_components(case_id: str) -> None:
    ref, res = reference_case(case_id), fitted_case(case_id)
    table = res.random_slope_ranges()
    fixef = dict(zip(ref["fixef_names"], ref["fixef"], strict=True))
    variances = [v for v in ref["varcorr"] if v["grp"] != "Residual" and not v["var2"]]
    assert len(table) == len(variances)
    z = stats.norm.ppf(0.975)
    for row, v in zip(table.itertuples(), variances, strict=True):
        assert row.term == v["var1"]
        centre = fixef.get(v["var1"], 0.0)
        assert row.lower == pytest.approx(centre - z * v["sdcor"], rel=2e-3, abs=1e-6)
        assert row.upper == pytest.approx(centre + z * v["sdcor"], rel=2e-3, abs=1e-6)


def test_proportional_reduction_literature_examples() -> None:
    assert proportional_reduction(54.89, 51.32) == pytest.approx(0.065, abs=5e-4)
    assert proportional_reduction(4.67, 3.86) == pytest.approx(0.173, abs=5e-4)


def test_variance_explained_against_lme4_components() -> None:
    base, model = fitted_case("hsb_empty"), fitted_case("hsb_cmc")
    table = mlm.variance_explained(base, model)
    vb, vm = (
        {
            (v["grp"], v["var1"] or ""): v["vcov"]
            for v in reference_case(c)["varcorr"]
            if not v["var2"]
        }
        for c in ("hsb_empty", "hsb_cmc")
    )
    row = table[(table["group"] == "school") & (table["term"] == "(Intercept)")].iloc[0]
    key = ("school", "(Intercept)")
    assert row["reduction"] == pytest.approx((vb[key] - vm[key]) / vb[key], rel=1e-3)
    resid = table[table["group"] == "Residual"].iloc[0]
    rk = ("Residual", "")
    assert resid["reduction"] == pytest.approx((vb[rk] - vm[rk]) / vb[rk], rel=1e-3)
    assert np.isnan(table[table["term"] == "cses"]["reduction"].iloc[0])
    with pytest.raises(ValueError, match="different numbers of observations"):
        mlm.variance_explained(base, fitted_case("sleep_slope_reml"))


def test_marginal_variance_formula() -> None:
    ref, res = reference_case("sleep_slope_reml"), fitted_case("sleep_slope_reml")
    vc = {(v["var1"], v["var2"] or ""): v["vcov"] for v in ref["varcorr"]}
    t00, t11, t01 = vc[("(Intercept)", "")], vc[("Days", "")], vc[("(Intercept)", "Days")]
    s2 = vc[("", "")] if ("", "") in vc else ref["sigma"] ** 2
    x = np.array([0.0, 4.5, 9.0])
    table = res.marginal_variance(x)
    expected = t00 + 2 * x * t01 + x**2 * t11 + s2
    np.testing.assert_allclose(table["variance"], expected, rtol=2e-3)
    cov = table.attrs["covariance_matrix"]
    assert cov[0, 2] == pytest.approx(t00 + (0 + 9) * t01 + 0 * 9 * t11, rel=2e-3)
    with pytest.raises(ValueError, match="no random slope"):
        fitted_case("hsb_empty").marginal_variance([0, 1])


def test_reliability_formulas() -> None:
    ref, res = reference_case("hsb_slope"), fitted_case("hsb_slope")
    vc = {(v["var1"], v["var2"] or ""): v["vcov"] for v in ref["varcorr"]}
    t00, t11, s2 = vc[("(Intercept)", "")], vc[("cses", "")], ref["sigma"] ** 2
    data = reference_data("hsb")
    table = res.reliability()
    counts = data.groupby("school").size()
    ss = data.groupby("school")["cses"].apply(lambda v: float(np.sum((v - v.mean()) ** 2)))
    lam0 = t00 / (t00 + s2 / counts)
    lam1 = t11 / (t11 + s2 / ss)
    clusters = table.drop(index="(mean)")
    np.testing.assert_allclose(clusters["(Intercept)"], lam0.loc[clusters.index], rtol=2e-3)
    np.testing.assert_allclose(clusters["cses"], lam1.loc[clusters.index], rtol=5e-3)
    assert table.loc["(mean)", "(Intercept)"] == pytest.approx(lam0.mean(), rel=2e-3)


def test_rights_sterba_decomposition() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit(
            "mathach ~ cwc(ses, school) + cm(ses, school) + (1 + cwc(ses, school) | school)",
            reference_data("hsb").copy(),
        )
    ref = reference_case("hsb_cmc")
    out = res.r2("rights-sterba")
    data = reference_data("hsb")
    g = dict(zip(ref["fixef_names"], ref["fixef"], strict=True))
    vc = {(v["var1"], v["var2"] or ""): v["vcov"] for v in ref["varcorr"]}
    assert out["f1"] == pytest.approx(g["cses"] ** 2 * data["cses"].var(), rel=1e-3)
    assert out["f2"] == pytest.approx(g["meanses"] ** 2 * data["meanses"].var(), rel=1e-3)
    assert out["m"] == pytest.approx(vc[("(Intercept)", "")], rel=2e-3)
    assert out["v"] == pytest.approx(vc[("cses", "")] * data["cses"].var(), rel=2e-3)
    assert out["residual"] == pytest.approx(ref["sigma"] ** 2, rel=2e-4)
    # f + v + m over the total is Nakagawa's conditional R2 up to n versus n - 1 divisors.
    nak = next(r for r in MORE["r2"] if r["case"] == "hsb_cmc")
    assert out["R2_total_fvm"] == pytest.approx(nak["conditional"], rel=1e-3)
    assert out["R2_total_f"] == pytest.approx(nak["marginal"], rel=1e-3)
    assert out["R2_between_f2"] + out["R2_between_m"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="cluster-mean-centred.*'ses'"):
        fitted_case("hsb_hybrid").r2("rights-sterba")
    with pytest.raises(ValueError, match="method"):
        res.r2("other")


def test_results_are_tables_of_stable_shape() -> None:
    res = fitted_case("hsb_crosslevel")
    assert list(res.icc().index) == ["adjusted", "unadjusted"]
    assert list(res.r2().index) == ["marginal", "conditional"]
    assert list(res.random_slope_ranges().columns) == [
        "group", "term", "fixed", "variance", "sd", "lower", "upper", "share_opposite_sign"
    ]
    assert isinstance(res.reliability(), pd.DataFrame)

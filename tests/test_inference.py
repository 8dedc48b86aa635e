"""Satterthwaite / Kenward-Roger tables, contrasts and intervals against lmerTest, pbkrtest, lme4.

Tolerances (relative): Satterthwaite and KR df 2% (lmerTest and pbkrtest numbers come from
numerical derivatives / n x n algebra; we are usually within 1e-4), SEs 1e-3, t 1e-3,
p-values 2e-3 relative when p > 1e-10 (a 1e-4 df difference moves p by ~1e-3 at df ~ 5);
below 1e-10 p amplifies the last digits of t (d log p / dt ~ t) so there log10 p within 0.02;
profile limits 1e-3.
Reference numbers: tests/reference{,/extra}/lme4/*.json (lmerTest 3.1-3, pbkrtest 0.5.2) and
tests/reference/extra_inference/inference_reference.json (make_inference_reference.R).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import case_ids, fitted_case, reference_case, reference_data

import mlm_jupyter as mlm
from mlm_jupyter.inference import (
    coefficient_table,
    confint,
    contrast,
    parse_contrast,
    satterthwaite_parts,
)

EXTRA = json.loads(
    (Path(__file__).parent / "reference/extra_inference/inference_reference.json").read_text()
)
KR_CASES = [c for c in case_ids() if "kenward_roger_df" in reference_case(c)]
CONTRAST_CASES = [
    (c, i) for c in case_ids() for i, _ in enumerate(reference_case(c).get("contrasts") or [])
]


def close(actual, expected, rel, abs_=0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rel, atol=abs_
    )


def close_p(actual, expected) -> None:
    actual, expected = (
        np.atleast_1d(np.asarray(actual, float)),
        np.atleast_1d(np.asarray(expected, float)),
    )
    big = expected > 1e-10
    close(actual[big], expected[big], 2e-3)
    tiny = np.log10(np.maximum(actual[~big], 1e-300)), np.log10(np.maximum(expected[~big], 1e-300))
    close(*tiny, 0, 0.02)


def extra_fit(key: str):
    spec = EXTRA[key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(spec["formula"], reference_data(spec["dataset"]).copy(), reml=spec["reml"])


@pytest.mark.parametrize("case_id", case_ids())
def test_satterthwaite_table_matches_lmertest(case_id: str) -> None:
    ref = reference_case(case_id)
    table = fitted_case(case_id).coef_table
    assert list(table.columns) == ["estimate", "std_error", "df", "t", "p"]
    assert list(table.index) == ref["fixef_names"]
    close(table["df"], ref["satterthwaite_df"], 0.02)
    close(table["std_error"], ref["se"], 1e-3)
    close(table["t"], ref["t"], 1e-3)
    close_p(table["p"], ref["p"])


def test_satterthwaite_df_is_much_tighter_than_the_tolerance() -> None:
    """On the hsb cross-level model our df agree with lmerTest to 1e-4 (not just 2%)."""
    ref = reference_case("hsb_crosslevel")
    close(fitted_case("hsb_crosslevel").coef_table["df"], ref["satterthwaite_df"], 1e-4)


@pytest.mark.parametrize("case_id", KR_CASES)
def test_kenward_roger_matches_pbkrtest(case_id: str) -> None:
    ref = reference_case(case_id)
    table = fitted_case(case_id).coefficients(ddf="kenward-roger")
    close(table["df"], ref["kenward_roger_df"], 0.02)
    close(table["std_error"], ref["kenward_roger_se"], 1e-3)


def test_residual_ddf_is_n_minus_p() -> None:
    res = fitted_case("sleep_slope_reml")
    table = res.coefficients(ddf="residual")
    assert np.all(table["df"] == 180 - 2)
    close(table["std_error"], reference_case("sleep_slope_reml")["se"], 1e-3)


@pytest.mark.parametrize(("case_id", "k"), CONTRAST_CASES)
def test_contrast_vector_matches_contest1d(case_id: str, k: int) -> None:
    ref = reference_case(case_id)["contrasts"][k]
    out = fitted_case(case_id).contrast(np.array(ref["L"], dtype=float))
    close(out["estimate"], ref["estimate"], 1e-4, 1e-8)
    close(out["std_error"], ref["se"], 1e-3)
    close(out["df"], ref["df"], 0.02)
    close(out["t"], ref["t"], 1e-3)
    close_p(out["p"], ref["p"])
    assert out["lower"] < out["estimate"] < out["upper"]


def test_contrast_text_equals_the_vector_and_gives_the_t_interval() -> None:
    res = fitted_case("hsb_crosslevel")
    ref = reference_case("hsb_crosslevel")["contrasts"][0]  # cses + cses:catholic
    out = res.contrast("cses + cses:catholic", level=0.9)
    close(out["estimate"], ref["estimate"], 1e-4)
    close(out["df"], ref["df"], 0.02)
    from scipy import stats

    half = stats.t.ppf(0.95, out["df"]) * out["std_error"]
    close([out["lower"], out["upper"]], [out["estimate"] - half, out["estimate"] + half], 1e-12)


@pytest.mark.parametrize(
    ("text", "weights"),
    [
        ("meanses - cses", {"meanses": 1, "cses": -1}),
        ("cses + cses:catholic", {"cses": 1, "cses:catholic": 1}),
        ("2*cses - 0.5*meanses", {"cses": 2, "meanses": -0.5}),
        ("  -cses*3 + catholic:cses ", {"cses": -3, "cses:catholic": 1}),
        ("(Intercept) + catholic", {"(Intercept)": 1, "catholic": 1}),
        ("cses + cses", {"cses": 2}),
        ("1e-1 * meanses", {"meanses": 0.1}),
    ],
)
def test_parse_contrast_table(text: str, weights: dict) -> None:
    names = ["(Intercept)", "cses", "catholic", "meanses", "cses:catholic"]
    expected = np.array([weights.get(n, 0.0) for n in names], dtype=float)
    np.testing.assert_array_equal(parse_contrast(text, names), expected)


@pytest.mark.parametrize(
    ("L", "message"),
    [
        ("mean_ses - cses", "Did you mean 'meanses'"),
        ("cses catholic", "Did you mean 'cses:catholic'"),
        ("cses + 2 meanses", "coefficients with '\\*'"),
        ("cses - ", "missing"),
        ("", "at least one fixed effect"),
        ("cses * ", "number after"),
        (np.ones(3), "needs 5 weights"),
        (np.zeros(5), "all weights zero"),
        (np.ones((2, 4)), "needs 5 columns"),
        (pd.Series({"meanses": 1.0, "ses": -1.0}), "'ses'"),
        ({"a": 1}, "not a fixed effect"),
    ],
)
def test_contrast_errors_are_specific(L, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fitted_case("hsb_crosslevel").contrast(L)


def test_bad_ddf_and_level() -> None:
    res = fitted_case("hsb_crosslevel")
    with pytest.raises(ValueError, match="ddf must be one of"):
        coefficient_table(res, ddf="containment")
    with pytest.raises(ValueError, match="level"):
        contrast(res, "cses", level=95)
    with pytest.raises(ValueError, match="REML"):
        fitted_case("sleep_slope_ml").coefficients(ddf="kenward-roger")


@pytest.mark.parametrize(
    "key", ["f_satterthwaite", "f3_satterthwaite", "f_kenward_roger", "f3_kenward_roger"]
)
def test_matrix_contrast_matches_contestmd(key: str) -> None:
    ref = EXTRA["hsb_crosslevel_tests"][key]
    ddf = "kenward-roger" if "kenward" in key else "satterthwaite"
    out = fitted_case("hsb_crosslevel").contrast(np.array(ref["L"], dtype=float), ddf=ddf)
    assert list(out.index) == ["F", "num_df", "den_df", "p"]
    close(out["F"], ref["F"], 1e-3)
    assert out["num_df"] == ref["num_df"]
    close(out["den_df"], ref["den_df"], 0.02)
    close_p(out["p"], ref["p"])


def test_text_list_is_a_joint_test_and_one_row_f_is_t_squared() -> None:
    res = fitted_case("hsb_crosslevel")
    ref = EXTRA["hsb_crosslevel_tests"]["f_satterthwaite"]
    joint = res.contrast(["cses", "cses:catholic"])
    close(joint["F"], ref["F"], 1e-3)
    one = res.contrast(np.array([[0, 1, 0, 0, 0]], dtype=float))
    t = res.coef_table.loc["cses"]
    close([one["F"], one["den_df"]], [t["t"] ** 2, t["df"]], 1e-10)


def test_kenward_roger_contrast_matches_contest1d() -> None:
    ref = EXTRA["hsb_crosslevel_tests"]["kr_contrast"]
    out = fitted_case("hsb_crosslevel").contrast("meanses - cses", ddf="kenward-roger")
    close(
        [out["estimate"], out["std_error"], out["t"]], [ref["estimate"], ref["se"], ref["t"]], 1e-3
    )
    close(out["df"], ref["df"], 0.02)


def test_satterthwaite_parts_reproduce_the_df_and_are_cached() -> None:
    res = fitted_case("hsb_crosslevel")
    grad, A = satterthwaite_parts(res)
    assert grad.shape == (4, 5, 5) and A.shape == (4, 4)
    V = res.vcov.to_numpy()
    ref = reference_case("hsb_crosslevel")
    for j in range(5):
        e = np.eye(5)[j]
        g = np.einsum("i,kij,j->k", e, grad, e)
        close(2 * (e @ V @ e) ** 2 / (g @ A @ g), ref["satterthwaite_df"][j], 1e-3)
    grad[:] = 0  # callers get copies; the cache is not corrupted
    close(satterthwaite_parts(res)[0][0, 0, 0], satterthwaite_parts(res)[0][0, 0, 0], 0)
    assert np.any(satterthwaite_parts(res)[0] != 0)


@pytest.mark.parametrize("key", ["sleep_slope_reml", "sleep_slope_ml", "hsb_int"])
def test_profile_confint_matches_lme4(key: str) -> None:
    ref = EXTRA[key]["profile"]
    ci = extra_fit(key).confint(method="profile")
    assert list(ci["lme4_name"]) == ref["names"]
    close(ci["lower"], ref["lower"], 1e-3, 1e-6)
    close(ci["upper"], ref["upper"], 1e-3, 1e-6)


def test_wald_confint_is_normal_theory_for_fixed_effects_only() -> None:
    res = fitted_case("sleep_slope_reml")
    ci = confint(res, "wald")
    assert ci.index[:4].tolist() == [
        "sd_(Intercept)|Subject",
        "cor_(Intercept).Days|Subject",
        "sd_Days|Subject",
        "sigma",
    ]
    assert ci.iloc[:4][["lower", "upper"]].isna().all().all()
    se = np.array(reference_case("sleep_slope_reml")["se"])
    est = np.array(reference_case("sleep_slope_reml")["fixef"])
    close(ci.iloc[4:]["lower"], est - 1.959963984540054 * se, 1e-4)


def test_boot_confint_agrees_with_lme4_within_monte_carlo_error_and_is_seeded() -> None:
    ref = EXTRA["sleep_slope_reml"]
    res = extra_fit("sleep_slope_reml")
    ci = res.confint(method="boot", nsim=300, seed=11, progress=False)
    width = np.array(ref["profile"]["upper"]) - np.array(ref["profile"]["lower"])
    assert np.all(np.abs(ci["lower"].to_numpy() - ref["boot"]["lower"]) < 0.2 * width)
    assert np.all(np.abs(ci["upper"].to_numpy() - ref["boot"]["upper"]) < 0.2 * width)
    assert ci.attrs["n_failed"] == 0 and ci.attrs["nsim"] == 300
    again = res.confint(method="boot", nsim=300, seed=11, progress=False)
    pd.testing.assert_frame_equal(ci, again)


def test_confint_errors() -> None:
    res = fitted_case("sleep_slope_reml")
    with pytest.raises(ValueError, match="method must be"):
        res.confint(method="bayes")
    with pytest.raises(ValueError, match="nsim"):
        res.confint(method="boot", nsim=2)
    with pytest.raises(ValueError, match="level"):
        res.confint(level=1.5)


def test_response_updater_equals_rebuilt_cross_products() -> None:
    from dataclasses import replace

    from mlm_jupyter.engine.blocks import cross_products
    from mlm_jupyter.engine.simulate import ResponseUpdater

    for case_id in ("hsb_crosslevel", "penicillin_crossed", "egsingle_3level"):
        res = fitted_case(case_id)
        y = np.random.default_rng(0).normal(size=res.design.n)
        new = ResponseUpdater(res.engine_design, res.engine.cp).cross_products(y)
        full = cross_products(replace(res.engine_design, y=y))
        np.testing.assert_allclose(new.D, full.D, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(new.A22, full.A22, rtol=1e-12, atol=1e-9)
        assert (new.S != full.S).nnz == 0


def test_simulated_responses_have_the_model_moments() -> None:
    from mlm_jupyter.engine.simulate import simulate_responses

    res = fitted_case("hsb_empty")  # mathach ~ 1 + (1 | school)
    ys = simulate_responses(res, 400, np.random.default_rng(3))
    total = res.sigma**2 + res.tau("school").iloc[0, 0]
    assert abs(ys.mean() - res.fixef.iloc[0]) < 0.1
    assert abs(ys.var(axis=1).mean() / total - 1) < 0.05


def test_progress_is_silent_unless_enabled(capsys: pytest.CaptureFixture) -> None:
    from mlm_jupyter.progress import Progress

    with Progress(3, "quiet", enabled=False) as bar:
        for _ in range(3):
            bar.update()
    with Progress(3, "quiet") as bar:  # pytest's stderr is not a terminal
        bar.update(3)
    assert capsys.readouterr().err == ""
    with Progress(2, "loud", enabled=True, delay=0) as bar:
        bar.update(2)
    err = capsys.readouterr().err
    assert "loud: 2 of 2 (100%)" in err and "loud: done, 2 steps in" in err

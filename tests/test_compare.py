"""Model comparison against lme4's anova (comparisons.json), chi-bar-square mixture, bootstrap LRT.

Tolerances: chisq, deviance, loglik, aic, bic within 2e-3 absolute (lme4 prints its optimum to
~1e-6); df exact; p within 1e-3 relative (log10 within 0.02 below 1e-10).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import comparisons, fitted_case, reference_data
from scipy import stats

import mlm_jupyter as mlm
from mlm_jupyter import compare as compare_function
from mlm_jupyter.compare import ComparisonTable, chibar_critical, chibar_pvalue
from mlm_jupyter.engine.simulate import QuickFit

EXTRA = json.loads(
    (Path(__file__).parent / "reference/extra_inference/inference_reference.json").read_text()
)
CASES = comparisons()


def fit(formula: str, data: pd.DataFrame, reml: bool = True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(formula, data, reml=reml)


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['smaller']}-{c['larger']}-refit{c['refit']}" for c in CASES]
)
def test_lrt_matches_lme4_anova(case: dict) -> None:
    small, large = fitted_case(case["smaller"]), fitted_case(case["larger"])
    table = mlm.compare(small, large, refit=case["refit"])
    assert list(table.columns[:9]) == [
        "npar", "aic", "bic", "loglik", "deviance", "chisq", "df", "p", "p_mixture",
    ]  # fmt: skip
    assert table["npar"].tolist() == case["npar"]
    for col in ("aic", "bic", "loglik", "deviance"):
        np.testing.assert_allclose(table[col], case[col], atol=2e-3, rtol=0)
    row = table.iloc[1]
    np.testing.assert_allclose(row["chisq"], case["chisq"], atol=2e-3, rtol=0)
    assert row["df"] == case["df"]
    if case["p"] > 1e-10:
        np.testing.assert_allclose(row["p"], case["p"], rtol=1e-3)
    else:
        np.testing.assert_allclose(np.log10(row["p"]), np.log10(case["p"]), atol=0.02)
    assert np.isnan(table.iloc[0]["chisq"])
    refitted = any(note.startswith("REML fits were refitted") for note in table.notes)
    assert refitted == (case["refit"] and (small.reml or large.reml))


def test_reml_comparison_without_refit_uses_reml_criteria() -> None:
    ref = EXTRA["reml_comparison"]
    hsb = reference_data("hsb").copy()
    small, large = fit(ref["smaller"], hsb), fit(ref["larger"], hsb)
    table = mlm.compare(small, large, refit=False)
    np.testing.assert_allclose(table["deviance"], ref["deviance"], atol=2e-3)
    np.testing.assert_allclose(table.iloc[1]["chisq"], ref["chisq"], atol=2e-3)
    np.testing.assert_allclose(table.iloc[1]["p"], ref["p"], rtol=1e-3)
    assert table.notes == [n for n in table.notes if "refitted" not in n]


@pytest.mark.parametrize(("df", "critical"), [(1, 2.71), (2, 5.14), (3, 7.05)])
def test_chibar_critical_values_reproduce_the_published_table(df: int, critical: float) -> None:
    assert round(chibar_critical(df, 0.05), 2) == critical
    assert chibar_pvalue(critical, df) == pytest.approx(0.05, abs=5e-4)


def test_chibar_with_zero_df_component_is_a_point_mass() -> None:
    assert chibar_pvalue(0.0, 1) == pytest.approx(1.0)
    assert chibar_pvalue(3.0, 1) == pytest.approx(0.5 * stats.chi2.sf(3.0, 1))


def test_p_mixture_only_when_one_random_variance_is_added() -> None:
    case = CASES[0]  # sleep (1 | Subject) vs (Days | Subject), ML: adds a variance + covariance
    table = mlm.compare(fitted_case(case["smaller"]), fitted_case(case["larger"]), refit=False)
    expected = 0.5 * stats.chi2.sf(case["chisq"], 1) + 0.5 * stats.chi2.sf(case["chisq"], 2)
    np.testing.assert_allclose(table.iloc[1]["p_mixture"], expected, rtol=1e-3)
    assert any("mixture" in n for n in table.notes)
    fixed = mlm.compare(fitted_case("hsb_slope"), fitted_case("hsb_crosslevel"))
    assert np.isnan(fixed.iloc[1]["p_mixture"])  # fixed effects differ: no boundary mixture


def test_rows_are_ordered_by_npar_and_table_renders() -> None:
    small, large = fitted_case("sleep_int_ml"), fitted_case("sleep_slope_ml")
    table = mlm.compare(large, small)
    assert table["npar"].tolist() == [4, 6]
    assert isinstance(table, ComparisonTable) and isinstance(table, pd.DataFrame)
    html = table._repr_html_()
    assert "<table" in html and "Stram" in html
    assert "Note:" in str(table)
    assert isinstance(table[["chisq", "p"]], ComparisonTable)


def test_public_compare_is_the_function() -> None:
    assert callable(compare_function) and mlm.compare.__name__ == "compare"


def test_nesting_is_read_from_the_designs_not_the_names() -> None:
    """lme4: anova(strength ~ 1 + (1 | batch:cask), strength ~ 1 + (1 | batch/cask)) gives
    chisq 0.4072, df 1, p 0.5234 (the cask:batch term is the same grouping)."""
    pastes = reference_data("pastes").copy()
    small = fit("strength ~ 1 + (1 | batch:cask)", pastes)
    large = fit("strength ~ 1 + (1 | batch/cask)", pastes)
    row = mlm.compare(small, large).iloc[1]
    np.testing.assert_allclose([row["chisq"], row["p"]], [0.4072, 0.5234], atol=5e-4)
    assert row["df"] == 1
    # ses = cses + meanses in hsb: the hybrid model's fixed effects lie in the cross-level
    # model's span, so the comparison is a valid LRT though no name matches.
    a, b = fitted_case("hsb_hybrid"), fitted_case("hsb_crosslevel")
    table = mlm.compare(a, b)
    expected = a.refit(reml=False).objective - b.refit(reml=False).objective
    np.testing.assert_allclose(table["chisq"].iloc[1], expected, atol=1e-6)


def test_errors_not_nested_different_rows_reml_without_refit() -> None:
    hsb = reference_data("hsb").copy()
    a = fit("mathach ~ female + (1 + cses | school)", hsb)
    b = fitted_case("hsb_crosslevel")  # cses * catholic + meanses
    with pytest.raises(ValueError, match="not nested.*fixed effect.*'female'"):
        mlm.compare(a, b)
    c = fit("mathach ~ cses * catholic + meanses + (1 + ses | school)", hsb)
    with pytest.raises(ValueError, match=r"not nested.*random term \(\(Intercept\) \+ ses"):
        mlm.compare(c, b)
    sub = fit("mathach ~ cses + (1 + cses | school)", hsb.iloc[:-10].copy())
    with pytest.raises(ValueError, match="different rows"):
        mlm.compare(sub, b)
    with pytest.raises(ValueError, match="REML criteria of models with different fixed effects"):
        mlm.compare(fitted_case("hsb_slope"), b, refit=False)
    with pytest.raises(ValueError, match="must be REML or all ML"):
        mlm.compare(fitted_case("hsb_crosslevel_ml"), b, refit=False)
    other = fit("ses ~ 1 + (1 | school)", hsb)
    with pytest.raises(ValueError, match="response"):
        mlm.compare(other, b)
    with pytest.raises(ValueError, match="at least two"):
        mlm.compare(b)


def test_bootstrap_lrt_is_seeded_and_sensible() -> None:
    small, large = fitted_case("sleep_int_ml"), fitted_case("sleep_slope_ml")
    t1 = mlm.compare(small, large, nsim=40, seed=5, progress=False)
    t2 = mlm.compare(small, large, nsim=40, seed=5, progress=False)
    assert t1.iloc[1]["p_boot"] == t2.iloc[1]["p_boot"]
    # chisq = 42 is far beyond every replicate: p_boot = 1 / (1 + successes)
    assert t1.iloc[1]["p_boot"] == pytest.approx(1 / (1 + 40 - t1.attrs["n_failed"]))
    assert np.isnan(t1.iloc[0]["p_boot"])


def test_bootstrap_failures_are_counted_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    cmp = importlib.import_module("mlm_jupyter.compare")  # the module (mlm.compare is the function)

    real = cmp.quick_refit
    calls = {"n": 0}

    def flaky(obj, theta0):
        calls["n"] += 1
        out = real(obj, theta0)
        if calls["n"] % 6 == 1:  # every third replicate's first refit fails
            return QuickFit(out.theta, float("nan"), False, "forced failure")
        return out

    monkeypatch.setattr(cmp, "quick_refit", flaky)
    small, large = fitted_case("sleep_int_ml"), fitted_case("sleep_slope_ml")
    table = mlm.compare(small, large, nsim=12, seed=1, progress=False)
    assert table.attrs["n_failed"] == 4
    assert any("4 of 12 bootstrap refits failed" in n for n in table.notes)
    assert table.iloc[1]["p_boot"] == pytest.approx(1 / (1 + 8))


def test_several_added_variances_get_a_note_instead_of_a_mixture() -> None:
    sleep = reference_data("sleepstudy").copy()
    sleep["Days2"] = sleep["Days"] ** 2 / 10
    small = fit("Reaction ~ Days + Days2 + (1 | Subject)", sleep, reml=False)
    large = fit("Reaction ~ Days + Days2 + (1 + Days + Days2 | Subject)", sleep, reml=False)
    table = mlm.compare(small, large)
    assert np.isnan(table.iloc[1]["p_mixture"])
    assert any("2 random-effect variances are added" in n for n in table.notes)

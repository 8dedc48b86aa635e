"""Pooling over multiply imputed data against mitml/mice (tests/reference/effects2).

mi_*.json: fits of one model to every completed data set, pooled by mitml's
``testEstimates(..., df.com = df.residual)`` / ``mice::pool`` (Barnard-Rubin df), variance
components averaged; tm_*.json: mitml's ``testModels`` (D1, D2, D3) for nested pairs, made by
extra/make_extra.R.  Tolerances are the README's: estimates 1e-4 relative (floor 1e-3 of
the SE), std_error/df/t/riv/fmi 1e-3 relative (t 1e-3 absolute too; riv, fmi 1e-6
absolute), p 1e-3 absolute, pooled vcov 1e-3 relative, m exact.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlm_jupyter as mlm
from mlm_jupyter import MixedModelWarning, PooledResult

EFFECTS2 = Path(__file__).parent / "reference" / "effects2"
MI = sorted([*EFFECTS2.glob("mi_*.json"), *(EFFECTS2 / "extra").glob("mi_*.json")])
TM = sorted((EFFECTS2 / "extra").glob("tm_*.json"))
HSB = EFFECTS2 / "mi_hsb_int.json"
HSB_FULL = "mathach ~ ses + minority + female + meanses + (1 | school)"
HSB_NULL = "mathach ~ ses + minority + (1 | school)"


@cache
def case(path: Path) -> dict:
    return json.loads(path.read_text())


@cache
def imputations(path: Path) -> tuple[pd.DataFrame, ...]:
    ref = case(path)
    return tuple(pd.read_csv(path.parent / p, dtype={c: str for c in ref["string_columns"]})
                 for p in ref["imputations"])


@cache
def hsb_pooled(formula: str) -> PooledResult:
    return mlm.fit(formula, data=list(imputations(HSB)), warn=False)


def _check_pooled(pooled: PooledResult, ref: dict) -> None:
    P = ref["pooled"]
    ct = pooled.coef_table
    assert pooled.m == ref["m"]
    assert list(ct.columns) == ["estimate", "std_error", "df", "t", "p", "riv", "fmi"]
    assert list(ct.index) == P["terms"]
    se = np.array(P["std_error"])
    assert np.all(np.abs(ct["estimate"] - P["estimate"])
                  <= np.maximum(1e-4 * np.abs(P["estimate"]), 1e-3 * se))
    for col in ("std_error", "df"):
        assert ct[col].to_numpy() == pytest.approx(P[col], rel=1e-3)
    assert ct["t"].to_numpy() == pytest.approx(P["t"], rel=1e-3, abs=1e-3)
    for col in ("riv", "fmi"):
        assert ct[col].to_numpy() == pytest.approx(P[col], rel=1e-3, abs=1e-6)
    assert ct["p"].to_numpy() == pytest.approx(P["p"], abs=1e-3)
    assert pooled.df_com == P["df_com"]
    expected = pd.DataFrame(ref["varcorr"]).fillna("")
    got = pooled.varcorr.assign(var1=pooled.varcorr["var1"].fillna(""),
                                var2=pooled.varcorr["var2"].fillna(""))
    merged = got.merge(expected, left_on=["group", "var1", "var2"],
                       right_on=["grp", "var1", "var2"], suffixes=("", "_r"))
    assert len(merged) == len(expected) == len(got)
    assert merged["vcov"].to_numpy() == pytest.approx(merged["vcov_r"].to_numpy(), rel=1e-3)
    # sdcor: SDs and correlations of the averaged covariance matrices (documented choice)
    assert merged["sdcor"].to_numpy() == pytest.approx(
        merged["sdcor_of_mean_vcov"].to_numpy(), rel=1e-3)


@pytest.mark.parametrize("path", MI, ids=[p.stem for p in MI])
def test_pool_matches_mitml(path: Path) -> None:
    ref = case(path)
    data = imputations(path)
    fits = [mlm.fit(ref["formula"], d, reml=ref["reml"], warn=False) for d in data]
    for k, (res, per) in enumerate(zip(fits, ref["per_imputation"], strict=True)):
        assert res.objective == pytest.approx(per["objective"], abs=1e-3), k
    _check_pooled(mlm.pool(fits), ref)
    _check_pooled(mlm.fit(ref["formula"], data=list(data), reml=ref["reml"], warn=False), ref)


def _test_kwargs(key: str, ref: dict) -> dict:
    parts = key.split(":")
    kwargs: dict = {"method": parts[0]}
    for part in parts[1:]:
        if part in ("wald", "likelihood"):
            kwargs["use"] = part
        elif part == "positive":
            kwargs["ariv"] = "positive"
        elif part == "df_com":
            kwargs["df_com"] = ref["df_com"]
    return kwargs


@pytest.mark.parametrize("path", TM, ids=[p.stem for p in TM])
def test_test_models_matches_mitml(path: Path) -> None:
    ref = case(path)
    data = list(imputations(path))
    full = mlm.fit(ref["formula"], data=data, reml=ref["reml"], warn=False)
    null = mlm.fit(ref["null_formula"], data=data, reml=ref["reml"], warn=False)
    for key, expected in ref["tests"].items():
        table = mlm.test_models(full, null, **_test_kwargs(key, ref))
        row = table.iloc[0]
        assert list(table.columns) == ["F", "df1", "df2", "p", "riv"]
        assert row["df1"] == expected["df1"], key
        assert row["F"] == pytest.approx(expected["F"], rel=1e-3), key
        assert row["df2"] == pytest.approx(expected["df2"], rel=1e-3), key
        assert row["p"] == pytest.approx(expected["p"], abs=1e-3), key
        assert row["riv"] == pytest.approx(expected["riv"], rel=1e-3, abs=1e-6), key
        assert table.attrs["refit_ml"] == expected["refit_ml"], key


def test_d3_likelihoods_at_pooled_estimates() -> None:
    """The pieces of D3: each data set's ML log-likelihood at its own and at the pooled
    estimates, as mitml's .evaluateUserLogLik (lme4's devfun2 with the fixed part as offset)."""
    from mlm_jupyter.pooling.model_tests import _ml_fits, _pooled_logliks

    ref = case(EFFECTS2 / "extra" / "tm_hsb_random.json")
    data = list(imputations(EFFECTS2 / "extra" / "tm_hsb_random.json"))
    for formula, own, pooled in ((ref["formula"], "model", "model_at_pooled"),
                                 (ref["null_formula"], "null", "null_at_pooled")):
        fits = _ml_fits(mlm.fit(formula, data=data, warn=False))
        assert [r.loglik for r in fits] == pytest.approx(ref["loglik"][own], abs=1e-4)
        assert _pooled_logliks(fits) == pytest.approx(ref["loglik"][pooled], abs=1e-4)


# -- bad input ------------------------------------------------------------------------------
def test_list_of_one_and_empty() -> None:
    data = imputations(HSB)
    with pytest.raises(ValueError, match="list of one data frame.*data=df"):
        mlm.fit(HSB_FULL, data=[data[0]])
    with pytest.raises(ValueError, match="no imputed data sets"):
        mlm.fit(HSB_FULL, data=[])
    with pytest.raises(ValueError, match="at least two imputed data sets; got 1"):
        mlm.pool([mlm.fit(HSB_FULL, data[0])])
    with pytest.raises(TypeError, match="imputed data set 2 is a dict"):
        mlm.fit(HSB_FULL, data=[data[0], {"a": 1}])


def test_different_columns_or_rows() -> None:
    a, b = imputations(HSB)[:2]
    with pytest.raises(ValueError, match="data set 2 has other columns.*lacks 'female'"):
        mlm.fit(HSB_FULL, data=[a, b.drop(columns="female")])
    with pytest.raises(ValueError, match="has 'extra' that data set 1 lacks"):
        mlm.fit(HSB_FULL, data=[a, b.assign(extra=1)])
    with pytest.raises(ValueError, match="data set 2 has 7180 rows but data set 1 has 7185"):
        mlm.fit(HSB_FULL, data=[a, b.iloc[5:]])
    shuffled = b.sample(frac=1.0, random_state=1)
    with pytest.raises(ValueError, match="grouping column 'school' in \\d+ rows.*same order"):
        mlm.fit(HSB_FULL, data=[a, shuffled])
    holes = b.copy()
    holes.loc[holes.index[:12], "ses"] = np.nan
    with pytest.raises(ValueError, match="missing values in other rows.*'ses'"):
        mlm.fit(HSB_FULL, data=[a, holes])


def test_same_missing_rows_everywhere_are_dropped_and_reported() -> None:
    frames = [d.copy() for d in imputations(HSB)[:3]]
    for d in frames:
        d.loc[d.index[:10], "mathach"] = np.nan
    with pytest.warns(MixedModelWarning, match="every imputation"):
        pooled = mlm.fit(HSB_FULL, data=frames)
    assert pooled.nobs == 7175 and pooled.n_dropped == 10


def test_pool_rejects_mismatched_fits() -> None:
    data = imputations(HSB)
    a = mlm.fit(HSB_FULL, data[0], warn=False)
    with pytest.raises(ValueError, match="fit 2 is 'mathach ~ ses \\+ minority"):
        mlm.pool([a, mlm.fit(HSB_NULL, data[1], warn=False)])
    with pytest.raises(ValueError, match="fit 2 is ML but fit 1 is REML"):
        mlm.pool([a, mlm.fit(HSB_FULL, data[1], reml=False, warn=False)])
    with pytest.raises(ValueError, match="fit 2 used 7000 observations"):
        mlm.pool([a, mlm.fit(HSB_FULL, data[1].iloc[:7000], warn=False)])
    with pytest.raises(TypeError, match="takes a list"):
        mlm.pool(a)


def test_test_models_bad_pairs() -> None:
    full, null = hsb_pooled(HSB_FULL), hsb_pooled(HSB_NULL)
    with pytest.raises(ValueError, match="is the larger model: pass the larger model first"):
        mlm.test_models(null, full)
    other = hsb_pooled("mathach ~ ses + catholic + (1 | school)")
    with pytest.raises(ValueError, match="is not nested in.*'catholic'.*nested models only"):
        mlm.test_models(full, other)
    slope = hsb_pooled("mathach ~ ses + minority + female + meanses + (1 + minority | school)")
    with pytest.raises(ValueError, match="differ only in their random effects; use method='D3'"):
        mlm.test_models(slope, full)
    with pytest.raises(ValueError, match="same parameters"):
        mlm.test_models(full, full)
    with pytest.raises(ValueError, match="method='D4'"):
        mlm.test_models(full, null, method="D4")
    with pytest.raises(TypeError, match="two pooled results"):
        mlm.test_models(full, null.results[0])
    with pytest.raises(TypeError, match="mlm.test_models"):
        mlm.compare(full, null)
    fewer = mlm.fit(HSB_NULL, data=list(imputations(HSB)[:3]), warn=False)
    with pytest.raises(ValueError, match="m = 5 imputations but null_model has m = 3"):
        mlm.test_models(full, fewer)
    swapped = mlm.fit(HSB_NULL, data=list(imputations(HSB)[::-1]), warn=False)
    with pytest.raises(ValueError, match="not fitted to the same imputed data sets"):
        mlm.test_models(full, swapped)


# -- what must not matter ---------------------------------------------------------------------
def test_order_of_imputations_labels_and_rows_do_not_matter() -> None:
    data = list(imputations(HSB))
    base = hsb_pooled(HSB_FULL)
    rng = np.random.default_rng(7)
    perm = rng.permutation(len(data[0]))
    renamed = [d.iloc[perm].assign(school="S-" + d["school"].iloc[perm]) for d in data[::-1]]
    other = mlm.fit(HSB_FULL, data=renamed, warn=False)
    pd.testing.assert_frame_equal(other.coef_table, base.coef_table, rtol=1e-6, atol=1e-9)
    assert other.varcorr["vcov"].to_numpy() == pytest.approx(base.varcorr["vcov"], rel=1e-6)
    assert data[0]["school"].iloc[0] != renamed[0]["school"].iloc[0]  # inputs untouched


def test_user_frames_not_modified() -> None:
    data = [d.copy() for d in imputations(HSB)]
    before = [d.copy() for d in data]
    pooled = mlm.fit(HSB_FULL, data=data, warn=False)
    pooled.summary()
    for d, b in zip(data, before, strict=True):
        pd.testing.assert_frame_equal(d, b)


def test_large_sample_df_with_infinite_df_com() -> None:
    """df_com = inf gives Rubin's (1987) df, mitml's default without df.com."""
    ref = case(HSB)
    fits = hsb_pooled(HSB_FULL).results
    rubin = mlm.pool(fits, df_com=float("inf")).coef_table
    assert rubin["df"].to_numpy() == pytest.approx(ref["mitml_rubin"]["df"], rel=1e-3)
    assert rubin["fmi"].to_numpy() == pytest.approx(ref["mitml_rubin"]["fmi"], rel=1e-3)


# -- displays -----------------------------------------------------------------------------------
def test_summary_and_html_say_m_and_rules(tmp_path: Path) -> None:
    pooled = hsb_pooled(HSB_FULL)
    text = " ".join(pooled.summary().split())  # the rules sentence is wrapped
    assert "pooled over m = 5 imputations" in text and "Barnard-Rubin df" in text
    assert "Rubin's rules" in text and "RIV" in text and "FMI" in text
    assert "averaged over the imputations" in text
    html = pooled._repr_html_()
    assert "m = 5" in html and "Barnard-Rubin" in html and "<th class=\"mlmj-r\">RIV</th>" in html
    page = mlm.report(pooled, path=tmp_path / "pooled.html")
    assert (tmp_path / "pooled.html").read_text(encoding="utf-8") == page
    assert page.startswith("<!DOCTYPE html>") and "Variance components by imputation" in page
    assert "<script" not in page and "http" not in page.split("</style>", 1)[1]


def test_pooled_html_escapes_names() -> None:
    evil = "<img src=x onerror=alert(1)>"
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(15), 6)
    base = pd.DataFrame({"y": rng.normal(size=90) + rng.normal(size=15)[g],
                         "<b>g</b>": [f"<i>{k}</i>" for k in g]})
    frames = [base.assign(**{evil: rng.normal(size=90)}) for _ in range(3)]
    pooled = mlm.fit(f"y ~ `{evil}` + (1 | `<b>g</b>`)", data=frames, warn=False)
    for page in (pooled._repr_html_(), pooled.to_html()):
        assert "<img" not in page and "<b>g" not in page and "<i>" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page

"""Cluster cross-validation against brute-force lme4 refits (tests/reference/effects2).

Every cv_*.json holds, per model, R's sum over folds of log N(y_f; X_f b, V_f) with b, theta,
sigma from an lme4 refit without the fold (tight optimizer tolerances), the pooled rmse of
X_f b and the per-fold values; README.md in that folder (and extra/make_extra.R) define them.
Tolerances are the README's: elpd 1e-3 absolute, rmse 1e-4 relative, n_folds exact.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlm_jupyter as mlm
from mlm_jupyter.crossval import CrossValidationTable

EFFECTS2 = Path(__file__).parent / "reference" / "effects2"
CASES = sorted([*EFFECTS2.glob("cv_*.json"), *(EFFECTS2 / "extra").glob("cv_*.json")])


@cache
def case(path: Path) -> dict:
    return json.loads(path.read_text())


@cache
def case_data(path: Path) -> pd.DataFrame:
    ref = case(path)
    return pd.read_csv(path.parent / ref["data"], dtype={c: str for c in ref["string_columns"]})


@cache
def case_fits(path: Path) -> tuple:
    ref = case(path)
    return tuple(mlm.fit(m["formula"], case_data(path), reml=ref["reml"], warn=False)
                 for m in ref["models"])


@pytest.fixture(scope="module")
def sleep(sleepstudy: pd.DataFrame) -> tuple:
    return tuple(mlm.fit(f, sleepstudy, warn=False) for f in (
        "Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days | Subject)"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_matches_lme4_refits(path: Path) -> None:
    ref = case(path)
    table = mlm.cross_validate(*case_fits(path), group=ref["group_arg"],
                               folds=ref.get("folds_map"))
    assert isinstance(table, CrossValidationTable) and len(table) == len(ref["models"])
    for i, model in enumerate(ref["models"]):
        row = table.iloc[i]
        assert row["elpd"] == pytest.approx(model["elpd"], abs=1e-3)
        assert row["rmse"] == pytest.approx(model["rmse"], rel=1e-4)
        assert row["n_folds"] == model["n_folds"]
        folds = table.folds[table.folds["model"] == i + 1]
        assert folds["elpd"].to_numpy() == pytest.approx(model["folds"]["elpd"], abs=1e-3)
        assert folds["n_obs"].tolist() == model["folds"]["n"]
        assert folds["sse"].to_numpy() == pytest.approx(model["folds"]["sse"], rel=1e-4)


def test_default_group_is_the_outer_factor() -> None:
    """Nested terms leave with their outer cluster; the default finds that factor."""
    for stem, group in (("cv_oats_nested_ml", "Block"), ("extra/cv_egsingle_3level", "schoolid")):
        fits = case_fits(EFFECTS2 / f"{stem}.json")
        default = mlm.cross_validate(*fits)
        given = mlm.cross_validate(*fits, group=group)
        pd.testing.assert_frame_equal(pd.DataFrame(default), pd.DataFrame(given))
        assert default.notes[0].startswith(f"leave one {group} out")


def test_crossed_factors_need_group() -> None:
    fits = case_fits(EFFECTS2 / "extra" / "cv_crossed_item.json")
    with pytest.raises(ValueError, match=r"crossed.*group='<factor>'"):
        mlm.cross_validate(*fits)
    with pytest.raises(KeyError, match="Did you mean 'item'"):
        mlm.cross_validate(*fits, group="itme")


def test_kfold_is_reproducible_and_balanced(sleep: tuple) -> None:
    a = mlm.cross_validate(*sleep, folds=4, seed=3)
    b = mlm.cross_validate(*sleep, folds=4, seed=3)
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))
    assert (a["n_folds"] == 4).all()
    sizes = a.folds[a.folds["model"] == 1]["clusters"].str.split(", ").map(len)
    assert sorted(sizes) == [4, 4, 5, 5]
    # the same folds for every model
    assert (a.folds[a.folds["model"] == 1]["clusters"].tolist()
            == a.folds[a.folds["model"] == 2]["clusters"].tolist())
    # the folds are a partition of the 18 subjects
    members = sum(a.folds[a.folds["model"] == 1]["clusters"].str.split(", ").tolist(), [])
    assert sorted(members) == sorted(sleep[0].ranef["Subject"].index)


def test_kfold_with_one_cluster_per_fold_is_leave_one_out(sleep: tuple) -> None:
    levels = sleep[0].ranef["Subject"].index
    loo = mlm.cross_validate(*sleep)
    mapped = mlm.cross_validate(*sleep, folds={lev: f"f{lev}" for lev in levels})
    assert mapped["elpd"].to_numpy() == pytest.approx(loo["elpd"].to_numpy(), abs=1e-9)


@pytest.mark.parametrize("folds, match", [
    (1, "2 <= K <= 18"), (19, "2 <= K <= 18"), (2.5, "folds must be"),
    ({"308": 1}, "no fold for 17"), ({**{str(s): 1 for s in range(300, 400)}}, "not clusters"),
])
def test_bad_folds(sleep: tuple, folds: object, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        mlm.cross_validate(*sleep, folds=folds)


def test_one_fold_for_all_clusters_is_refused(sleep: tuple) -> None:
    with pytest.raises(ValueError, match="at least two folds"):
        mlm.cross_validate(sleep[0], folds=dict.fromkeys(sleep[0].ranef["Subject"].index, "a"))


def test_a_cluster_that_cannot_be_left_out(sleepstudy: pd.DataFrame) -> None:
    """Without subject 308 its own dummy is all zero: that fold fails, elpd is NaN, and the
    other folds are still reported."""
    data = sleepstudy.assign(special=(sleepstudy["Subject"] == "308").astype(float))
    res = mlm.fit("Reaction ~ Days + special + (1 | Subject)", data, warn=False)
    table = mlm.cross_validate(res)
    assert np.isnan(table["elpd"].iloc[0]) and np.isnan(table["rmse"].iloc[0])
    assert any("rank deficient" in n and "'special'" in n and "Subject '308'" in n
               for n in table.notes)
    folds = table.folds.set_index("fold")
    assert np.isnan(folds.loc["308", "elpd"]) and folds["elpd"].notna().sum() == 17


def test_models_on_other_rows_or_not_fits(sleepstudy: pd.DataFrame, sleep: tuple) -> None:
    fewer = mlm.fit("Reaction ~ Days + (1 | Subject)", sleepstudy.iloc[10:], warn=False)
    with pytest.raises(ValueError, match="different rows"):
        mlm.cross_validate(sleep[0], fewer)
    with pytest.raises(TypeError, match="not a fitted"):
        mlm.cross_validate(sleep[0], sleepstudy)
    with pytest.raises(ValueError, match="at least one"):
        mlm.cross_validate()


def test_compare_adds_elpd_cv(sleep: tuple) -> None:
    table = mlm.compare(sleep[1], sleep[0], cv=True)  # given out of npar order
    cv = mlm.cross_validate(*sleep)
    assert table["elpd_cv"].to_numpy() == pytest.approx(cv["elpd"].to_numpy(), abs=1e-9)
    assert any(n.startswith("elpd_cv: leave one Subject out") for n in table.notes)
    kfold = mlm.compare(*sleep, cv={"folds": 3, "seed": 1})
    assert kfold["elpd_cv"].to_numpy() == pytest.approx(
        mlm.cross_validate(*sleep, folds=3, seed=1)["elpd"].to_numpy(), abs=1e-9)


def test_progress_bar(sleep: tuple, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    from mlm_jupyter import progress

    monkeypatch.setattr(progress, "DELAY", 0.0)  # this run is shorter than the usual delay
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    mlm.cross_validate(sleep[0], progress=True)
    assert "cross-validation" in capsys.readouterr().err


def test_displays_escape_names(sleepstudy: pd.DataFrame) -> None:
    data = sleepstudy.rename(columns={"Days": "<b>days</b>", "Subject": "<i>s</i>"})
    res = mlm.fit("Reaction ~ `<b>days</b>` + (1 | `<i>s</i>`)", data, warn=False)
    table = mlm.cross_validate(res)
    assert "Note: leave one <i>s</i> out" in str(table)
    html = table._repr_html_()
    assert "<b>" not in html and "<i>" not in html
    assert "&lt;b&gt;days&lt;/b&gt;" in html and "leave one &lt;i&gt;s&lt;/i&gt; out" in html


# -- what must not matter ------------------------------------------------------------------
@cache
def _sleep_cv(order_seed: int | None, rename: bool, shift: float, scale: float) -> tuple:
    from conftest import reference_data

    data = reference_data("sleepstudy").copy()
    if order_seed is not None:
        data = data.sample(frac=1.0, random_state=order_seed)
    if rename:
        data["Subject"] = "subject <" + data["Subject"].astype(str) + ">"
    data["Reaction"] = shift + scale * data["Reaction"]
    res = mlm.fit("Reaction ~ Days + (Days | Subject)", data, warn=False)
    table = mlm.cross_validate(res)
    return float(table["elpd"].iloc[0]), float(table["rmse"].iloc[0]), len(data)


@settings(max_examples=6, deadline=None)
@given(order_seed=st.one_of(st.none(), st.integers(0, 10)), rename=st.booleans(),
       shift=st.sampled_from([0.0, -250.0, 1e4]), scale=st.sampled_from([1.0, 0.001, 60.0]))
def test_invariances(order_seed: int | None, rename: bool, shift: float, scale: float) -> None:
    """Row order and cluster labels change nothing; a shift of y changes nothing and a change
    of units c moves elpd by -N log c (the density of c·y) and multiplies rmse by c."""
    elpd0, rmse0, n = _sleep_cv(None, False, 0.0, 1.0)
    elpd, rmse, _ = _sleep_cv(order_seed, rename, shift, scale)
    assert elpd == pytest.approx(elpd0 - n * np.log(scale), abs=2e-3)
    assert rmse == pytest.approx(rmse0 * scale, rel=1e-5)


def test_differences_from_the_best_model(sleep: tuple) -> None:
    table = mlm.cross_validate(*sleep)
    best = table["elpd"].max()
    assert table["elpd_diff"].to_numpy() == pytest.approx(table["elpd"].to_numpy() - best)
    folds = table.folds.pivot(index="fold", columns="model", values="elpd")
    diff = folds[1] - folds[2] if table["elpd"].iloc[1] == best else folds[2] - folds[1]
    worse = int(np.argmin(table["elpd"].to_numpy()))
    assert table["se_diff"].iloc[worse] == pytest.approx(np.sqrt(18 * diff.var(ddof=1)))
    assert table["se_diff"].iloc[1 - worse] == 0.0

"""ModelExplorer and its state: what the browser receives, and the selection round trip.

The browser-side computations are tested by vitest (js/tests) against fixtures written by
tests/js_fixtures/make_fixtures.py; the real-browser behaviour by tests/browser/.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlm_jupyter as mlm
from mlm_jupyter.display.explorer_state import build_state, monomial, split_column
from mlm_jupyter.display.widget import ModelExplorer, bundle_paths

REF = Path(__file__).parent / "reference"
HSB_FORMULA = "mathach ~ cses * catholic + meanses + (1 + cses | school)"


@pytest.fixture(scope="module")
def hsb() -> pd.DataFrame:
    return mlm.load_dataset("hsb")


@pytest.fixture(scope="module")
def hsb_res(hsb):
    return mlm.fit(HSB_FORMULA, hsb)


@pytest.fixture(scope="module")
def hsb_state(hsb_res):
    return build_state(hsb_res)


# -- column names as products of variables ------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("(Intercept)", {}),
        ("cses", {"cses": 1}),
        ("cses:catholic", {"cses": 1, "catholic": 1}),
        ("I(Days^2)", {"Days": 2}),
        ("Days:I(Days^2)", {"Days": 3}),
        ("intakemid:standLRT", {"intakemid": 1, "standLRT": 1}),
        ("log(x)", None),  # not a known variable: held at its column mean in the browser
    ],
)
def test_monomial(name, expected):
    known = {"cses", "catholic", "Days", "intakemid", "standLRT"}
    assert monomial(name, known) == expected


def test_split_column_ignores_colons_inside_calls():
    assert split_column("C(a, levels=['x:y']):b") == ["C(a, levels=['x:y'])", "b"]


# -- the state of the hsb cross-level model --------------------------------------------------
def test_state_is_strict_json(hsb_state):
    text = json.dumps(hsb_state, allow_nan=False)
    assert json.loads(text)["version"] == 1
    # 160 schools: the state stays small (it grows with clusters, not with 7,185 rows); the
    # diagnostics block is bounded by its 2,000-point residual sample.
    rest = {k: v for k, v in hsb_state.items() if k != "diagnostics"}
    assert len(json.dumps(rest)) < 60_000
    assert len(json.dumps(hsb_state["diagnostics"])) < 70_000


def test_state_fixed_part_is_exact(hsb_state, hsb_res):
    fixed = hsb_state["fixed"]
    assert fixed["names"] == list(hsb_res.fixef.index)
    np.testing.assert_array_equal(fixed["estimate"], hsb_res.fixef.to_numpy())
    np.testing.assert_array_equal(np.asarray(fixed["vcov"]), hsb_res.vcov.to_numpy())
    assert fixed["monomials"] == [{}, {"cses": 1}, {"catholic": 1}, {"meanses": 1},
                                  {"cses": 1, "catholic": 1}]


def test_state_fixed_part_matches_lme4(hsb_state):
    ref = json.loads((REF / "lme4" / "hsb_crosslevel.json").read_text())
    np.testing.assert_allclose(hsb_state["fixed"]["estimate"], ref["fixef"], rtol=1e-4)
    np.testing.assert_allclose(np.asarray(hsb_state["fixed"]["vcov"]), ref["vcov"], rtol=2e-3)
    assert hsb_state["sigma"] == pytest.approx(ref["sigma"], rel=1e-4)


def test_state_variables_and_predictors(hsb_state, hsb):
    v = hsb_state["variables"]
    assert v["catholic"]["kind"] == "binary" and v["catholic"]["level"] == 2
    assert v["catholic"]["values"] == [0.0, 1.0]
    assert v["meanses"]["kind"] == "continuous" and v["meanses"]["level"] == 2
    assert v["cses"]["level"] == 1
    assert v["cses"]["min"] == pytest.approx(hsb["cses"].min())
    assert v["cses"]["max"] == pytest.approx(hsb["cses"].max())
    # Level-2 ticks come from the distribution across schools (mean and SD of meanses).
    school_meanses = hsb.groupby("school")["meanses"].first()
    ticks = {t["label"]: t["value"] for t in v["meanses"]["ticks"]}
    assert ticks["mean"] == pytest.approx(school_meanses.mean())
    assert ticks["+1 SD"] == pytest.approx(school_meanses.mean() + school_meanses.std())
    assert hsb_state["predictors"] == [{"name": "cses", "random": True, "moderators": ["catholic"]}]


def test_state_random_part(hsb_state, hsb_res):
    rnd = hsb_state["random"]
    assert rnd["terms"] == ["(Intercept)", "cses"]
    np.testing.assert_allclose(np.asarray(rnd["tau"]), hsb_res.tau("school").to_numpy())
    vc = hsb_res.varcorr
    corr = vc[(vc.var1 == "(Intercept)") & (vc.var2 == "cses")]["sdcor"].iloc[0]
    assert rnd["corr"][0][1] == pytest.approx(corr, rel=1e-10)
    ranges = {r["term"]: r for r in hsb_state["slope_ranges"]}
    sd = math.sqrt(hsb_res.tau("school").loc["cses", "cses"])
    assert ranges["cses"]["lower"] == pytest.approx(hsb_res.fixef["cses"] - 1.959964 * sd, rel=1e-6)


def test_state_clusters(hsb_state, hsb_res, hsb):
    cl = hsb_state["clusters"]
    assert cl["ids"] == list(hsb_res.ranef["school"].index)
    assert all(isinstance(i, str) for i in cl["ids"])
    assert not cl["sampled"] and cl["total"] == 160
    sizes = hsb.groupby(hsb["school"].astype(str)).size()
    assert cl["n"] == [int(sizes[i]) for i in cl["ids"]]
    np.testing.assert_allclose(cl["ranef"]["cses"], hsb_res.ranef["school"]["cses"], rtol=1e-7)
    np.testing.assert_allclose(cl["ranef_se"]["(Intercept)"],
                               hsb_res.ranef_se["school"]["(Intercept)"], rtol=1e-7)
    by = hsb.groupby(hsb["school"].astype(str))
    np.testing.assert_allclose(cl["x_min"]["cses"], by["cses"].min()[cl["ids"]], rtol=1e-7)
    np.testing.assert_allclose(cl["x_max"]["cses"], by["cses"].max()[cl["ids"]], rtol=1e-7)
    np.testing.assert_allclose(cl["vars"]["meanses"], by["meanses"].first()[cl["ids"]], rtol=1e-7)


def test_reliability_of_intercept_is_raudenbush_bryk(hsb_state, hsb_res, hsb):
    # lambda_j = tau00 / (tau00 + Delta_j00), Delta_j = sigma^2 (Z_j'Z_j)^-1: for a cluster-
    # centred slope Z_j'Z_j is diagonal, so Delta_j00 = sigma^2 / n_j.
    tau00 = hsb_res.tau("school").loc["(Intercept)", "(Intercept)"]
    n = hsb.groupby("school").size().to_numpy()
    expected = np.mean(tau00 / (tau00 + hsb_res.sigma**2 / n))
    assert hsb_state["reliability"]["(Intercept)"] == pytest.approx(expected, rel=1e-3)


def test_sampling_is_seeded_and_keeps_selected(hsb_res):
    a = build_state(hsb_res, max_clusters=40, seed=3, selected=["1224"])
    b = build_state(hsb_res, max_clusters=40, seed=3, selected=["1224"])
    c = build_state(hsb_res, max_clusters=40, seed=4)
    assert a["clusters"]["sampled"] and a["clusters"]["total"] == 160
    assert a["clusters"]["ids"] == b["clusters"]["ids"]
    assert a["clusters"]["ids"] != c["clusters"]["ids"]
    assert "1224" in a["clusters"]["ids"]
    assert len(c["clusters"]["ids"]) == 40 and a["clusters"]["seed"] == 3
    assert len(a["clusters"]["ranef"]["cses"]) == len(a["clusters"]["ids"])


def test_factor_moderator_becomes_one_control():
    exam = pd.read_csv(REF / "extra" / "data" / "exam.csv", dtype={"school": str})
    res = mlm.fit("normexam ~ intake * standLRT + (1 | school)", exam)
    state = build_state(res)
    assert state["factors"]["intake"]["levels"] == ["bottom", "mid", "top"]
    assert state["factors"]["intake"]["reference"] == "bottom"
    assert state["predictors"] == [{"name": "standLRT", "random": False, "moderators": ["intake"]}]
    assert state["variables"]["intakemid"]["factor"] == "intake"


def test_group_choice_and_bad_group(hsb_res):
    assert build_state(hsb_res, "school")["group"] == "school"
    with pytest.raises(ValueError, match="not a grouping factor.*school"):
        build_state(hsb_res, "district")


def test_random_intercept_model_still_offers_its_level1_slope(hsb):
    res = mlm.fit("mathach ~ cses + meanses + (1 | school)", hsb)
    state = build_state(res)
    assert state["predictors"] == [{"name": "cses", "random": False, "moderators": []}]
    assert state["random"]["terms"] == ["(Intercept)"]


# -- the widget ----------------------------------------------------------------------------
def test_bundle_is_built_and_self_contained():
    js, css = bundle_paths()
    text = js.read_text()
    assert "renderStatic" in text and "export{" in text
    # Nothing is fetched from a CDN at run time: no script/module URL other than schema ids.
    for cdn in ("cdn.jsdelivr", "unpkg.com", "esm.sh", "cdnjs"):
        assert cdn not in text
    assert ".mlm-explorer" in css.read_text()


def test_widget_syncs_state_and_selection(hsb_res):
    w = ModelExplorer(hsb_res)
    assert w.state["version"] == 1 and w.selected == []
    assert w.group == "school" and w.result is hsb_res
    # What the front end sends when the user brushes (ipywidgets calls set_state).
    w.set_state({"selected": ["1224", "1288"]})
    assert w.selected == ["1224", "1288"]
    rows = w.selected_data()
    assert set(rows["school"].astype(str)) == {"1224", "1288"}
    assert len(rows) == int((hsb_res.data["school"].astype(str).isin(["1224", "1288"])).sum())
    # And from Python: ids may be numbers, they are stored as the level strings.
    w.selected = [1296]
    assert w.selected == ["1296"]
    state = w.get_state()
    assert state["selected"] == ["1296"]


def test_widget_rejects_unknown_ids_and_options(hsb_res):
    with pytest.raises(ValueError, match=r"unknown school id\(s\) \['9999'\]"):
        ModelExplorer(hsb_res, selected=["9999"])
    w = ModelExplorer(hsb_res)
    with pytest.raises(ValueError, match="unknown school"):
        w.selected = ["not-a-school"]
    with pytest.raises(TypeError, match="list of school ids"):
        ModelExplorer(hsb_res, selected="1224")
    with pytest.raises(ValueError, match="tab must be one of"):
        ModelExplorer(hsb_res, tab="charts")
    with pytest.raises(ValueError, match="predictor 'meanses' has no random or moderated slope"):
        ModelExplorer(hsb_res, predictor="meanses")
    with pytest.raises(ValueError, match="'sector' in at="):
        ModelExplorer(hsb_res, at={"sector": 1})


def test_widget_initial_view(hsb_res):
    w = ModelExplorer(hsb_res, tab="clusters", predictor="cses", at={"catholic": 1},
                      selected=["1224"])
    assert w.state["initial"] == {"tab": "clusters", "predictor": "cses", "at": {"catholic": 1.0}}
    assert w.selected == ["1224"]
    assert "ModelExplorer(" in repr(w) and "1 of 160" in repr(w)


def test_user_data_is_not_modified(hsb):
    before = hsb.copy()
    ModelExplorer(mlm.fit(HSB_FORMULA, hsb))
    pd.testing.assert_frame_equal(hsb, before)


# -- state.diagnostics (the explorer's Diagnostics panel) --------------------------------------
def _lme4_diagnostics() -> dict:
    return json.loads((REF / "diagnostics.json").read_text())["hsb_crosslevel"]


def test_diagnostics_influence_matches_lme4(hsb_state, hsb_res):
    """Exact refits (160 clusters, one grouping factor): Cook's distance, covratio and
    leverage of every school within 1% of lme4's influence() (diagnostics_reference.R)."""
    inf = hsb_state["diagnostics"]["influence"]
    ref = _lme4_diagnostics()["deletion"]
    assert inf["exact"] is True and "exact" in inf["method"]
    assert inf["cutoff"] == pytest.approx(4 / 160) and inf["error"] is None
    assert inf["ids"] == [str(v) for v in ref["level"]]
    for ours, theirs in [("cooks", "cooks"), ("covratio", "covratio"), ("leverage", "leverage")]:
        np.testing.assert_allclose(inf[ours], ref[theirs], rtol=1e-2, err_msg=ours)
    cooks = np.asarray(ref["cooks"])
    assert inf["flag"] == list(cooks > 4 / 160)
    assert sum(inf["flag"]) == 5
    # and the same numbers as res.influence (8 significant digits)
    table = hsb_res.influence("school", exact=True, progress=False)
    np.testing.assert_allclose(inf["cooks"], table["cooks"], rtol=1e-7)
    assert inf["n"] == table["n_obs"].tolist()


def test_diagnostics_residual_sample_is_seeded_and_matches_lme4(hsb_state, hsb):
    r = hsb_state["diagnostics"]["residuals"]
    ref = _lme4_diagnostics()["residuals"]
    N = len(hsb)
    assert r["sampled"] and r["total"] == N and r["max_points"] == 2000 and r["seed"] == 0
    keep = np.sort(np.random.default_rng(0).choice(N, size=2000, replace=False))
    np.testing.assert_allclose(r["residual"], np.asarray(ref["conditional"])[keep],
                               rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(r["fitted"], np.asarray(ref["fitted"])[keep], rtol=1e-3)
    ids = hsb_state["diagnostics"]["influence"]["ids"]
    assert [ids[c] for c in r["cluster"]] == hsb["school"].astype(str).to_numpy()[keep].tolist()
    assert r["sigma"] == pytest.approx(hsb_state["sigma"])


def test_diagnostics_qq_are_sorted_standardized_blups(hsb_state, hsb_res):
    from scipy import stats

    qq = hsb_state["diagnostics"]["qq"]
    assert qq["level"] == 0.95 and list(qq["terms"]) == ["(Intercept)", "cses"]
    for term, block in qq["terms"].items():
        blup = hsb_res.ranef["school"][term]
        z = (blup - blup.mean()) / blup.std(ddof=1)
        order = np.argsort(z.to_numpy(), kind="stable")
        assert block["ids"] == [str(i) for i in z.index[order]]
        np.testing.assert_allclose(block["sample"], z.to_numpy()[order], rtol=1e-3, atol=1e-4)
        G = len(z)
        i = np.arange(1, G + 1)
        np.testing.assert_allclose(block["theoretical"], stats.norm.ppf((i - 0.5) / G), rtol=1e-3)
        # pointwise 95% envelope of the i-th normal order statistic
        lower = stats.norm.ppf(stats.beta.ppf(0.025, i, G - i + 1))
        np.testing.assert_allclose(block["lower"], lower, rtol=1e-3, atol=1e-4)
        assert all(lo < hi for lo, hi in zip(block["lower"], block["upper"], strict=True))


def test_qq_envelope_equals_the_chart_helper(hsb_res):
    from mlm_jupyter.display.diagnostic_charts import qq_frame
    from mlm_jupyter.display.explorer_diagnostics import qq_envelope

    values = hsb_res.ranef["school"]["cses"].to_numpy()
    ours = qq_envelope(values)
    chart = qq_frame(values, max_points=len(values))
    for key in ("theoretical", "sample", "lower", "upper"):
        np.testing.assert_allclose(ours[key], chart[key], rtol=1e-12, err_msg=key)


def test_diagnostics_checks_are_res_check(hsb_state, hsb_res):
    found = hsb_state["diagnostics"]["checks"]
    assert [(c["check"], c["finding"], c["look_at"], c["severity"]) for c in found] == [
        (f.check, f.finding, f.look_at, f.severity) for f in hsb_res.check()]
    assert any(c["check"].startswith("influential") for c in found)


def test_diagnostics_one_step_for_crossed_or_many_clusters(hsb_res, monkeypatch):
    from conftest import fitted_case

    from mlm_jupyter.display import explorer_diagnostics

    crossed = build_state(fitted_case("penicillin_crossed"), group="plate")
    inf = crossed["diagnostics"]["influence"]
    assert inf["exact"] is False and "one-step" in inf["method"]
    table = fitted_case("penicillin_crossed").influence("plate", exact=False, progress=False)
    np.testing.assert_allclose(inf["cooks"], table["cooks"], rtol=1e-7)
    assert len(inf["ids"]) == 24 and crossed["diagnostics"]["residuals"]["sampled"] is False
    monkeypatch.setattr(explorer_diagnostics, "ONE_STEP_MAX_CLUSTERS_MULTI", 10)
    skipped = build_state(fitted_case("penicillin_crossed"), group="plate")["diagnostics"]
    assert "res.influence('plate'" in skipped["influence"]["error"]
    assert len(skipped["influence"]["ids"]) == 24 and skipped["influence"]["cooks"] == [None] * 24
    assert skipped["qq"]["terms"] and skipped["checks"]  # the rest of the block is still there
    monkeypatch.setattr(explorer_diagnostics, "EXACT_MAX_CLUSTERS", 100)
    many = build_state(hsb_res)["diagnostics"]["influence"]
    assert many["exact"] is False
    one_step = hsb_res.influence("school", exact=False, progress=False)
    np.testing.assert_allclose(many["cooks"], one_step["cooks"], rtol=1e-7)


def test_state_without_diagnostics(hsb_res):
    assert "diagnostics" not in build_state(hsb_res, diagnostics=False)

"""Residuals, hat values and cluster-deletion influence against lme4 (diagnostics.json).

Reference: tests/reference/diagnostics.json (sleepstudy random slope, hsb cross-level) and
tests/reference/extra/diagnostics.json (crossed design deleting `item`, three-level design
deleting the outer factor `schoolid`), all from exact lme4 refits with tight tolerances
(diagnostics_reference.R, HLMdiag's definitions with approx = FALSE).

Tolerances (what the numbers allow, stated once):
- residuals and fitted values: 1e-5 * sd(y) absolute (they are differences of O(sd(y)) numbers);
- hat values, leverage: 1e-4 relative;
- cooks, mdffits, covratio: 1% relative, absolute floor 1e-6 (Cook's distances near 0);
- covtrace = |tr(V⁻¹V_(j)) - p| is a difference of O(p) numbers: 1% relative with an absolute
  floor of 5e-5 * p (the flat REML optimum leaves ~1e-5 relative noise in V, in lme4 too);
- rvc = vc_(j)/vc - 1: 1% relative with an absolute floor of 5e-4 (a 1e-4 relative
  difference in the full fit's variance component shifts every rvc by 1e-4).
"""

from __future__ import annotations

import html
import json
import warnings

import altair as alt
import numpy as np
import pandas as pd
import pytest
from conftest import ROOTS, fitted_case, reference_data

import mlm_jupyter as mlm
from mlm_jupyter.diagnostics import (
    Finding,
    check,
    hatvalues,
    influence,
    residuals,
    varcorr_labels,
    without,
)
from mlm_jupyter.display import diagnostic_charts as dc


def _diag_cases() -> dict[str, dict]:
    out = {}
    for root in ROOTS:
        path = root / "diagnostics.json"
        if path.exists():
            out.update(json.loads(path.read_text()))
    return out


DIAG = _diag_cases()
IDS = sorted(DIAG)


def _fit(formula: str, data: pd.DataFrame, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(formula, data, **kw)


@pytest.fixture(scope="module")
def influence_tables() -> dict[str, pd.DataFrame]:
    return {}


def _table(case_id: str, cache: dict) -> pd.DataFrame:
    if case_id not in cache:
        ref = DIAG[case_id]
        cache[case_id] = influence(fitted_case(case_id), ref["group"])
    return cache[case_id]


def test_reference_cases_present() -> None:
    assert {"sleep_slope_reml", "hsb_crosslevel"} <= set(IDS)


@pytest.mark.parametrize("case_id", IDS)
@pytest.mark.parametrize("kind", ["conditional", "pearson", "marginal", "fitted"])
def test_residuals_match_lme4(case_id: str, kind: str) -> None:
    ref, res = DIAG[case_id], fitted_case(case_id)
    expected = np.asarray(ref["residuals"][kind])
    ours = res.fitted() if kind == "fitted" else residuals(res, kind)
    assert ours.index.equals(res.design.row_index)
    scale = float(np.std(res.design.y))
    np.testing.assert_allclose(ours.to_numpy(), expected, rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize("case_id", IDS)
def test_hatvalues_match_lme4(case_id: str) -> None:
    ref, res = DIAG[case_id], fitted_case(case_id)
    h = hatvalues(res)
    np.testing.assert_allclose(h.to_numpy(), ref["residuals"]["hatvalues"], rtol=1e-4)
    assert h.index.equals(res.design.row_index)


@pytest.mark.parametrize("case_id", IDS)
def test_influence_matches_lme4_refits(case_id: str, influence_tables) -> None:
    ref = DIAG[case_id]
    table = _table(case_id, influence_tables)
    dl = ref["deletion"]
    levels = [str(x) for x in dl["level"]]
    assert sorted(table.index) == sorted(levels)
    table = table.loc[levels]
    assert (table["note"] == "").all()
    p = len(ref["fixef_names"])
    floors = {"cooks": 1e-6, "mdffits": 1e-6, "covratio": 1e-6, "covtrace": 5e-5 * p}
    for col, atol in floors.items():
        np.testing.assert_allclose(table[col].to_numpy(), dl[col], rtol=0.01, atol=atol,
                                   err_msg=col)
    np.testing.assert_allclose(table["leverage"].to_numpy(), dl["leverage"], rtol=1e-4)
    rvc_cols = [c for c in table.columns if c.startswith("rvc:")]
    np.testing.assert_allclose(table[rvc_cols].to_numpy(), np.asarray(dl["rvc"]),
                               rtol=0.01, atol=5e-4)


@pytest.mark.parametrize("case_id", IDS)
def test_rvc_columns_named_after_varcorr_rows(case_id: str, influence_tables) -> None:
    ref = DIAG[case_id]
    table = _table(case_id, influence_tables)
    # R writes "grp|var1|var2" with NA for missing parts; ours drop them.
    expected = ["rvc:" + "|".join(x for x in row.split("|") if x != "NA")
                for row in ref["varcorr_rows"]]
    assert [c for c in table.columns if c.startswith("rvc:")] == expected
    assert ["rvc:" + x for x in varcorr_labels(fitted_case(case_id))] == expected


@pytest.mark.parametrize("case_id", IDS)
def test_flag_is_cooks_above_4_over_g(case_id: str, influence_tables) -> None:
    table = _table(case_id, influence_tables)
    G = len(table)
    assert (table["flag"] == (table["cooks"] > 4 / G)).all()
    assert table["n_obs"].sum() == fitted_case(case_id).nobs


def test_without_matches_lme4_refit() -> None:
    ref, res = DIAG["hsb_crosslevel"], fitted_case("hsb_crosslevel")
    dl = ref["deletion"]
    j = int(np.argmax(dl["cooks"]))
    out = without(res, [dl["level"][j]], group="school")
    np.testing.assert_allclose(out.result.fixef.to_numpy(), dl["fixef"][j], rtol=1e-3)
    assert out.result.ngroups["school"] == res.ngroups["school"] - 1
    assert out.result.nobs == res.nobs - int(np.sum(res.design.terms[0].codes ==
                                                     res.design.terms[0].levels.index(str(dl["level"][j]))))
    table = out.table
    assert list(table.columns) == ["full", "without", "difference", "relative_change"]
    assert list(table.index) == list(res.fixef.index) + varcorr_labels(res)
    np.testing.assert_allclose(table["difference"], table["without"] - table["full"])
    vc_rel = table.loc["Residual", "without"] / table.loc["Residual", "full"] - 1
    rvc_ref = dl["rvc"][j][-1]
    assert vc_rel == pytest.approx(rvc_ref, rel=0.01, abs=5e-4)
    assert "<table" in out._repr_html_() and "Refit without school" in str(out)


def test_exact_false_is_one_step_with_theta_fixed() -> None:
    res = fitted_case("hsb_crosslevel")
    approx = influence(res, "school", exact=False)
    exact = _table("hsb_crosslevel", {})
    columns = ["cooks", "mdffits", "covratio", "covtrace", "rvc:Residual"]
    assert np.isfinite(approx[columns].to_numpy()).all()
    assert approx["rvc:school|(Intercept)"].isna().all()
    # The one-step values track the exact ones closely for 160 clusters.
    assert np.corrcoef(approx["cooks"], exact["cooks"])[0, 1] > 0.95


def test_unknown_group_suggests_close_match() -> None:
    res = fitted_case("hsb_crosslevel")
    with pytest.raises(KeyError, match="Did you mean 'school'"):
        influence(res, "schol")
    with pytest.raises(KeyError, match="'9999' is not a level of 'school'"):
        without(res, ["9999"])


def test_removal_leaving_one_level_is_explained_in_its_row() -> None:
    data = reference_data("sleepstudy")
    two = data[data["Subject"].isin(["308", "309"])].copy()
    res = _fit("Reaction ~ Days + (1 | Subject)", two)
    table = influence(res)
    assert len(table) == 2
    assert table["note"].str.contains("leaves grouping factor 'Subject' with 1 level").all()
    assert table["cooks"].isna().all()
    with pytest.raises(ValueError, match="'Subject' has 1 level"):
        without(res, ["308"])


def test_rank_deficiency_is_explained_in_that_row_only() -> None:
    data = reference_data("hsb")
    first = sorted(data["school"].unique())[0]
    data = data.assign(special=(data["school"] == first).astype(float))
    before = data.copy()
    res = _fit("mathach ~ cses + special + (1 | school)", data)
    table = influence(res, "school", exact=False)
    assert "'special'" in table.loc[first, "note"] and "rank deficient" in table.loc[first, "note"]
    assert np.isnan(table.loc[first, "cooks"])
    others = table.drop(index=first)
    assert (others["note"] == "").all() and np.isfinite(others["cooks"]).all()
    with pytest.raises(ValueError, match="rank deficient"):
        without(res, [first])
    pd.testing.assert_frame_equal(data, before)  # the user's data is untouched


@pytest.mark.parametrize("group", ["sample", "plate"])
def test_crossed_factor_runs(group: str) -> None:
    res = fitted_case("penicillin_crossed")
    table = influence(res, group)
    assert len(table) == res.ngroups[group]
    stats = table[["cooks", "mdffits", "covratio", "covtrace", "leverage", "rvc:Residual"]]
    assert np.isfinite(stats.to_numpy()).all() and (table["note"] == "").all()


def test_nested_outer_factor_removes_all_inner_levels() -> None:
    res = fitted_case("pastes_nested")
    table = influence(res, "batch")
    assert len(table) == 10 and (table["n_obs"] == 6).all()
    assert np.isfinite(table[["cooks", "covratio", "leverage"]].to_numpy()).all()
    out = without(res, ["A"], group="batch")
    assert out.result.ngroups == {"cask:batch": 27, "batch": 9}


def test_check_findings_are_complete_and_escaped() -> None:
    findings = check(fitted_case("hsb_crosslevel"))
    assert all(isinstance(f, Finding) for f in findings)
    names = " ".join(f.check for f in findings)
    for expected in ["fit", "residual normality", "residual outliers",
                     "residual spread across school",
                     "residual spread against fitted values", "random effect '(Intercept)'",
                     "random effect 'cses'", "influential school clusters"]:
        assert expected in names
    assert all(f.severity in {"ok", "note", "warning"} for f in findings)
    f = Finding("a<b", "<script>x</script>", "rows <i>", "warning")
    assert "<script>" not in f._repr_html_() and html.escape("<script>") in f._repr_html_()
    assert str(f).startswith("[WARNING] a<b")


def test_check_reports_singular_fit() -> None:
    findings = check(fitted_case("dyestuff2_singular"))
    assert any(f.check == "singular fit" and f.severity == "warning" for f in findings)


def _simulated(n_groups: int, size: int, noise, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), size)
    x = rng.normal(size=g.size)
    y = 1 + 0.5 * x + rng.normal(size=n_groups)[g] + noise(rng, g.size)
    return pd.DataFrame({"y": y, "x": x, "g": [f"g{i:04d}" for i in g]})


def test_check_is_quiet_for_a_large_well_specified_model() -> None:
    # 40,000 rows: any p-value-based normality test would reject; effect sizes do not.
    data = _simulated(400, 100, lambda r, n: r.normal(size=n), seed=1)
    findings = check(_fit("y ~ x + (1 | g)", data))
    assert not [f for f in findings if f.severity == "warning"], [str(f) for f in findings]


def test_check_flags_heavy_tails_and_uneven_spread() -> None:
    heavy = _simulated(200, 50, lambda r, n: r.standard_t(3, size=n), seed=2)
    found = {f.check: f for f in check(_fit("y ~ x + (1 | g)", heavy))}
    assert found["residual normality"].severity == "warning"
    assert found["residual outliers"].severity == "warning"
    uneven = _simulated(200, 50, lambda r, n: r.normal(size=n) * np.repeat(
        r.choice([0.4, 2.0], size=200), 50), seed=3)
    found = {f.check: f for f in check(_fit("y ~ x + (1 | g)", uneven))}
    assert found["residual spread across g"].severity == "warning"


def test_qq_envelope_matches_simulation() -> None:
    n, sims = 40, 4000
    frame = dc.qq_frame(np.random.default_rng(0).normal(size=n))
    rng = np.random.default_rng(1)
    draws = np.sort(rng.normal(size=(sims, n)), axis=1)
    lo, hi = np.quantile(draws, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(frame["lower"], lo, atol=0.08)
    np.testing.assert_allclose(frame["upper"], hi, atol=0.08)


def test_charts_build_offline_specs() -> None:
    res = fitted_case("sleep_slope_reml")
    table = influence(res)
    charts = dc.diagnostic_charts(res, table)
    assert set(charts) == {"residuals_vs_fitted", "qq_residuals", "qq_random_effects",
                           "residual_spread", "influence"}
    for chart in charts.values():
        assert isinstance(chart, alt.TopLevelMixin)
        spec = chart.to_dict()
        assert "$schema" in spec
    assert set(dc.diagnostic_charts(res, None)) == set(charts) - {"influence"}
    auto = dc.diagnostic_charts(res)["influence"].to_dict()  # computed when cheap
    assert json.dumps(auto) == json.dumps(charts["influence"].to_dict())
    flagged = table.index[table["flag"]]
    spec = json.dumps(dc.influence_index_plot(table, cutoff=0.0).to_dict())
    assert all(str(level) in spec for level in table.index)
    assert len(flagged) == 0 or str(flagged[0]) in json.dumps(charts["influence"].to_dict())
    with pytest.raises(KeyError, match="not a column"):
        dc.influence_index_plot(table, "nope")


@pytest.mark.parametrize("case_id, group", [
    ("sleep_slope_reml", "Subject"), ("singular_slope", "g"), ("dyestuff2_singular", "Batch"),
    ("penicillin_crossed", "plate"), ("pastes_nested", "batch"), ("hsb_crosslevel_ml", "school"),
])
def test_fast_refit_reaches_the_general_optimum(case_id: str, group: str) -> None:
    """The warm-started quasi-Newton refit (and its bound handling) finds the same optimum
    as the engine's full optimiser on the reduced cross-products."""
    from mlm_jupyter.diagnostics.influence import group_codes
    from mlm_jupyter.diagnostics.refit import refit_theta, subtract, warm_start
    from mlm_jupyter.engine.blocks import cross_products
    from mlm_jupyter.engine.fit import optimize
    from mlm_jupyter.engine.objective import ProfiledDeviance

    res = fitted_case(case_id)
    codes, levels = group_codes(res, group)
    start = warm_start(res.engine, res.engine_theta)
    for j in range(0, len(levels), max(1, len(levels) // 5)):
        rows = np.flatnonzero(codes == j)
        cp = subtract(res.engine.cp, cross_products(res.engine_design, rows=rows))
        obj = ProfiledDeviance(cp, reml=res.reml)
        theta, converged = refit_theta(obj, start)
        reference = optimize(obj, res.engine_theta)
        assert converged
        assert obj(theta) <= reference.objective + 1e-7


def test_batched_one_step_equals_per_cluster_solve() -> None:
    """exact=False for one random term uses a batched Schur-complement update; it must give
    what solving each reduced problem at θ̂ from its own cross-products gives."""
    from mlm_jupyter.diagnostics.refit import subtract
    from mlm_jupyter.engine.blocks import cross_products
    from mlm_jupyter.engine.objective import ProfiledDeviance, solve, unscaled_vcov

    res = fitted_case("hsb_crosslevel")
    table = influence(res, "school", exact=False)
    codes = res.design.terms[0].codes
    Vinv = np.linalg.inv(res.vcov.to_numpy())
    cond = res.conditioning
    for j in (0, 57, 159):
        rows = np.flatnonzero(codes == j)
        cp = subtract(res.engine.cp, cross_products(res.engine_design, rows=rows))
        sol = solve(ProfiledDeviance(cp, reml=True), res.engine_theta)
        d = res.fixef.to_numpy() - cond.beta(sol.beta)
        Vj = cond.vcov(unscaled_vcov(sol.factor, 0, cp.p) * sol.sigma**2)
        sigma_j = cond.scale * sol.sigma
        row = table.iloc[j]
        assert row["cooks"] == pytest.approx(d @ Vinv @ d / cp.p, rel=1e-8)
        assert row["covtrace"] == pytest.approx(abs(np.trace(Vinv @ Vj) - cp.p), rel=1e-6)
        assert row["rvc:Residual"] == pytest.approx(sigma_j**2 / res.sigma**2 - 1, rel=1e-8)

"""Fits on data where they live (Parquet, CSV, DuckDB relations; Spark in test_warehouse_spark).

Ground truth twice over: lme4's numbers for the reference cases (the same tolerances as the
in-memory reference tests), and our in-memory fit of the same rows, which the aggregated
path must equal to 1e-8 relative (every estimate, the criterion, the Satterthwaite and
Kenward-Roger df, the effects and the explorer's state).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import fitted_case, reference_case, reference_data

import mlm_jupyter as mlm
from mlm_jupyter.formula import FormulaError
from mlm_jupyter.warehouse import RowsNotInMemory, SourceError
from mlm_jupyter.warehouse.aggregate import DesignTooLarge

duckdb = pytest.importorskip("duckdb")

REL = 1e-8


def quiet(formula, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(formula, data, **kw)


def assert_same_fit(mem, wh, rel: float = REL) -> None:
    """The aggregated fit equals the in-memory fit (names, counts, estimates, criterion)."""
    assert list(wh.fixef.index) == list(mem.fixef.index)
    assert (wh.nobs, wh.n_dropped, wh.ngroups, wh.npar) == (mem.nobs, mem.n_dropped,
                                                            mem.ngroups, mem.npar)
    scale = np.sqrt(np.diag(mem.vcov.to_numpy()))
    np.testing.assert_allclose(wh.fixef.to_numpy(), mem.fixef.to_numpy(), rtol=rel,
                               atol=rel * scale.max())
    np.testing.assert_allclose(np.sqrt(np.diag(wh.vcov)), scale, rtol=1e-7)
    assert wh.sigma == pytest.approx(mem.sigma, rel=rel)
    np.testing.assert_allclose(wh.theta, mem.theta, rtol=1e-7, atol=1e-7)
    assert wh.objective == pytest.approx(mem.objective, rel=rel, abs=1e-7)
    np.testing.assert_allclose(wh.varcorr["sdcor"], mem.varcorr["sdcor"], rtol=1e-7,
                               atol=1e-7)
    for group, table in mem.ranef.items():
        other = wh.ranef[group]
        assert list(other.index) == list(table.index)
        np.testing.assert_allclose(other.to_numpy(), table.to_numpy(), rtol=1e-6,
                                   atol=1e-7 * max(1.0, float(np.abs(table.to_numpy()).max())))
    assert wh.messages == mem.messages


# -- lme4's reference cases, from Parquet -----------------------------------------------
CASES = ["hsb_crosslevel", "hsb_uncorr_female", "pastes_nested", "penicillin_crossed",
         "egsingle_3level", "crossed_slope", "categorical3", "sleep_quadratic",
         "dyestuff2_singular"]


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("warehouse")


def _parquet(folder, dataset: str) -> str:
    path = folder / f"{dataset}.parquet"
    if not path.exists():
        reference_data(dataset).to_parquet(path, index=False)
    return str(path)


@pytest.mark.parametrize("case_id", CASES)
def test_reference_cases_equal_lme4_and_the_in_memory_fit(case_id, parquet_dir):
    ref = reference_case(case_id)
    res = quiet(ref["formula"], _parquet(parquet_dir, ref["dataset"]), reml=ref["reml"])
    assert res.data_used is None
    assert res.objective == pytest.approx(ref["objective"], abs=1e-3)
    assert res.nobs == ref["nobs"] and res.ngroups == ref["ngroups"]
    assert list(res.fixef.index) == ref["fixef_names"]
    np.testing.assert_allclose(res.fixef, ref["fixef"], rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(res.vcov)), ref["se"], rtol=1e-3)
    assert res.sigma == pytest.approx(ref["sigma"], rel=1e-4)
    assert res.is_singular == ref["is_singular"]
    if ref.get("satterthwaite_df") and not ref["is_singular"]:
        np.testing.assert_allclose(res.coef_table["df"], ref["satterthwaite_df"], rtol=2e-3)
    assert_same_fit(fitted_case(case_id), res)


def test_kenward_roger_from_cross_products_equals_pbkrtest(parquet_dir):
    ref = reference_case("hsb_crosslevel")
    res = quiet(ref["formula"], _parquet(parquet_dir, "hsb"))
    table = res.coefficients("kenward-roger")
    np.testing.assert_allclose(table["df"], ref["kenward_roger_df"], rtol=1e-3)
    np.testing.assert_allclose(table["std_error"], ref["kenward_roger_se"], rtol=1e-4)
    mem = fitted_case("hsb_crosslevel").coefficients("kenward-roger")
    np.testing.assert_allclose(table["df"], mem["df"], rtol=1e-7)


# -- formulas, designs and sources ---------------------------------------------------------
def _school_data(seed: int = 3) -> pd.DataFrame:
    """Students in classes in schools (nested), a crossed rater, factors, missing values."""
    rng = np.random.default_rng(seed)
    S, C, m = 25, 4, 9
    school = np.repeat(np.arange(S), C * m)
    cls = np.repeat(np.arange(S * C), m)
    n = school.size
    x = rng.normal(size=n)
    f = rng.choice(["a", "b", "c"], size=n)
    rater = rng.integers(0, 6, size=n)
    z = rng.normal(size=n)
    w = rng.normal(size=S)[school]
    y = (2 + 0.5 * x + 0.3 * w + 0.2 * x * w + 0.4 * (f == "b") + rng.normal(size=S)[school]
         + 0.3 * rng.normal(size=S)[school] * x + 0.5 * rng.normal(size=S * C)[cls]
         + 0.3 * rng.normal(size=6)[rater] + rng.normal(size=n))
    df = pd.DataFrame({"school": school.astype(str), "cls": cls, "rater": rater, "x": x,
                       "w": w, "f": f, "z": z, "t": rng.uniform(1, 2, n), "y": y,
                       "flag": rng.random(n) > 0.5})
    df.loc[rng.choice(n, 15, replace=False), "z"] = np.nan
    df.loc[rng.choice(n, 4, replace=False), "f"] = None
    return df


@pytest.fixture(scope="module")
def schools(parquet_dir):
    df = _school_data()
    path = parquet_dir / "schools.parquet"
    df.to_parquet(path, index=False)
    return df, str(path)


FORMULAS = [
    "y ~ x * w + (1 + x | school)",
    "y ~ x + f + z + (1 | school/cls)",
    "y ~ x + (1 | school) + (1 | rater)",
    "y ~ x * f + (x || school)",
    "y ~ cwc(x, school) + cm(x, school) + (1 + cwc(x, school) | school)",
    "y ~ I(x^2) + log(t) + factor(rater) + flag + (1 | school)",
    "y ~ gmc(x) + scale(z) + offset(t) + (1 | cls:school)",
    "y ~ relevel(factor(f), ref = 'c') + poly(x, 2, raw = TRUE) + I(z > 0) + (1 | school)",
    "y ~ 0 + x + w + (0 + x | school)",
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_formula_features_equal_the_in_memory_fit(formula, schools):
    df, path = schools
    assert_same_fit(quiet(formula, df), quiet(formula, path))


def test_nested_four_levels(parquet_dir):
    rng = np.random.default_rng(11)
    a = np.repeat(np.arange(8), 60)
    b = np.repeat(np.arange(32), 15)  # 4 per a
    c = np.repeat(np.arange(160), 3)  # 5 per b
    y = (rng.normal(size=8)[a] + 0.7 * rng.normal(size=32)[b] + 0.5 * rng.normal(size=160)[c]
         + rng.normal(size=a.size))
    df = pd.DataFrame({"a": a, "b": b % 4, "c": c % 5, "x": rng.normal(size=a.size)})
    df["y"] = y + 0.5 * df["x"]
    path = parquet_dir / "four.parquet"
    df.to_parquet(path, index=False)
    formula = "y ~ x + (1 | a/b/c)"
    mem, wh = quiet(formula, df), quiet(formula, str(path))
    assert list(wh.ngroups) == ["c:(b:a)", "b:a", "a"] or wh.ngroups == mem.ngroups
    assert_same_fit(mem, wh)


def test_csv_files_and_duckdb_relations(schools, parquet_dir):
    df, path = schools
    csv = parquet_dir / "schools.csv"
    df.to_csv(csv, index=False)
    formula = "y ~ x + f + (1 + x | school)"
    # CSV has no types: DuckDB reads the school ids as numbers (levels sorted numerically)
    assert_same_fit(quiet(formula, df.assign(school=df["school"].astype(int))),
                    quiet(formula, str(csv)))
    mem = quiet(formula, df)
    con = duckdb.connect()
    relation = con.sql(f"SELECT * FROM read_parquet('{path}')")
    assert_same_fit(mem, quiet(formula, relation))
    glob = str(parquet_dir / "school*.parquet")
    assert_same_fit(mem, quiet(formula, glob))


@pytest.mark.parametrize("shift,scale", [(1e9, 1.0), (0.0, 1e4), (-3e7, 1e-3)])
def test_units_and_offsets_lose_no_digits(shift, scale, parquet_dir):
    """y + 1e9 and x in other units: the same model in new coordinates (centring before
    aggregation keeps the digits), equal to the in-memory fit of the clean data."""
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(120), 12)
    x = rng.normal(size=g.size)
    y = (1 + 0.5 * x + rng.normal(size=120)[g] + 0.3 * rng.normal(size=120)[g] * x
         + rng.normal(size=g.size))
    clean = pd.DataFrame({"g": g, "x": x, "y": y})
    moved = pd.DataFrame({"g": g, "x": x * scale, "y": y + shift})
    path = parquet_dir / f"units_{shift}_{scale}.parquet"
    moved.to_parquet(path, index=False)
    formula = "y ~ x + (1 + x | g)"
    mem, wh = quiet(formula, clean), quiet(formula, str(path))
    assert wh.fixef["(Intercept)"] - shift == pytest.approx(mem.fixef["(Intercept)"],
                                                            abs=1e-8 * max(1, abs(shift)))
    assert wh.fixef["x"] * scale == pytest.approx(mem.fixef["x"], rel=REL)
    assert wh.sigma == pytest.approx(mem.sigma, rel=REL)
    sd = wh.varcorr["sdcor"].to_numpy()
    ref = mem.varcorr["sdcor"].to_numpy()
    np.testing.assert_allclose(sd * np.array([1, scale, 1, 1]), ref, rtol=1e-7, atol=1e-8)


# -- results without rows ------------------------------------------------------------------
@pytest.fixture(scope="module")
def pair(schools):
    df, path = schools
    formula = "y ~ x * w + f + (1 + x | school)"
    return quiet(formula, df), quiet(formula, path)


def test_results_need_no_rows(pair):
    mem, wh = pair
    assert wh.data_used is None
    assert wh.summary() == mem.summary()  # the residual quantiles are computed in the database
    np.testing.assert_allclose(wh.coef_table["df"], mem.coef_table["df"], rtol=1e-6)
    np.testing.assert_allclose(wh.coefficients("kenward-roger")["df"],
                               mem.coefficients("kenward-roger")["df"], rtol=1e-6)
    np.testing.assert_allclose(wh.icc(), mem.icc(), rtol=1e-9)
    np.testing.assert_allclose(wh.r2(), mem.r2(), rtol=1e-9)
    np.testing.assert_allclose(wh.reliability(), mem.reliability(), rtol=1e-9)
    a, b = mem.confint(), wh.confint()
    np.testing.assert_allclose(b["lower"], a["lower"], rtol=1e-5)
    np.testing.assert_allclose(b["upper"], a["upper"], rtol=1e-5)
    slopes = {"w": [-1.0, 1.0]}
    np.testing.assert_allclose(wh.simple_slopes("x", at=slopes)[["estimate", "std_error"]],
                               mem.simple_slopes("x", at=slopes)[["estimate", "std_error"]],
                               rtol=1e-8)
    assert wh.equations() == mem.equations()
    new = pd.DataFrame({"x": [0.0, 1.0], "w": [0.5, -0.5], "f": ["a", "b"],
                        "school": ["0", "unseen"]})
    np.testing.assert_allclose(wh.predict(new), mem.predict(new), rtol=1e-9)
    ml_mem, ml_wh = mem.refit(reml=False), wh.refit(reml=False)
    assert ml_wh.objective == pytest.approx(ml_mem.objective, rel=REL)


def test_explorer_state_equals_the_in_memory_one(pair):
    from mlm_jupyter.display.explorer_state import build_state

    a, b = (build_state(r, diagnostics=False) for r in pair)

    def same(x, y, path=""):
        if isinstance(x, dict):
            assert set(x) == set(y), path
            for k in x:
                same(x[k], y[k], f"{path}/{k}")
        elif isinstance(x, list):
            assert len(x) == len(y), path
            for i, (u, v) in enumerate(zip(x, y, strict=True)):
                same(u, v, f"{path}[{i}]")
        elif isinstance(x, float):
            assert y == pytest.approx(x, rel=1e-6, abs=1e-9), path
        else:
            assert x == y, path

    same(a, b)
    assert b["clusters"]["x_min"] and b["random"]["terms"] == ["(Intercept)", "x"]
    state = build_state(pair[1])  # diagnostics: a seeded sample of rows, no influence
    assert state["diagnostics"]["influence"]["error"].startswith("influence not computed")
    assert 0 < len(state["diagnostics"]["residuals"]["residual"]) <= pair[1].nobs


def test_report_and_display_work_offline(pair):
    _, wh = pair
    html = wh.to_html()
    assert "random sample of" in html
    assert 'src="http' not in html and "import(\"http" not in html
    assert "<table" in wh._repr_html_()


def test_row_level_methods_say_what_they_need(pair):
    _, wh = pair
    for method in (lambda: wh.residuals(), lambda: wh.hatvalues(), lambda: wh.influence(),
                   lambda: wh.fitted()):
        with pytest.raises(RowsNotInMemory, match="stay in .*schools.parquet.*sample_residuals"):
            method()
    with pytest.raises(AttributeError, match="stay in"):
        _ = wh.data
    with pytest.raises(RowsNotInMemory, match="A new response needs the rows"):
        wh.refit(y=np.zeros(wh.nobs))


def test_sample_residuals_equal_the_in_memory_residuals(pair, schools):
    from mlm_jupyter.warehouse.rowwise import sample_residuals

    mem, wh = pair
    sample = sample_residuals(wh, n=50, seed=1)
    assert len(sample) == 50
    df = schools[0].loc[mem.design.row_index]
    full = df.assign(residual=mem.residuals().to_numpy(), fitted=mem.fitted().to_numpy())
    merged = sample.merge(full, on=["school", "x", "y"], suffixes=("", "_mem"))
    assert len(merged) == 50
    np.testing.assert_allclose(merged["residual"], merged["residual_mem"], rtol=1e-8,
                               atol=1e-10)
    np.testing.assert_allclose(merged["fitted"], merged["fitted_mem"], rtol=1e-10)


def test_likelihood_ratio_tests(schools):
    df, path = schools
    small, large = "y ~ x + w + (1 | school)", "y ~ x + w + (1 + x | school)"
    a = mlm.compare(quiet(small, df), quiet(large, df))
    b = mlm.compare(quiet(small, path), quiet(large, path))
    np.testing.assert_allclose(b["chisq"].to_numpy(dtype=float)[1:],
                               a["chisq"].to_numpy(dtype=float)[1:], rtol=1e-7)
    with pytest.raises(ValueError, match="not in the larger model|different"):
        mlm.compare(quiet("y ~ x + f + (1 | school)", path), quiet(large, path))


# -- bad input --------------------------------------------------------------------------------
def test_bad_input_gets_specific_messages(schools, parquet_dir):
    df, path = schools
    with pytest.raises(FormulaError, match="scool") as err:
        mlm.fit("y ~ x + (1 | scool)", path)
    assert "school" in str(err.value)
    with pytest.raises(ValueError, match="'f' is not numeric"):
        mlm.fit("f ~ x + (1 | school)", path)
    with pytest.raises(FileNotFoundError, match="No file matches .*nowhere"):
        mlm.fit("y ~ x + (1 | school)", str(parquet_dir / "nowhere" / "*.parquet"))
    bad = parquet_dir / "data.json"
    bad.write_text("{}")
    with pytest.raises(SourceError, match="neither a Parquet file"):
        mlm.fit("y ~ x + (1 | school)", str(bad))
    with pytest.raises(FormulaError, match="orthogonal polynomials.*raw = TRUE"):
        mlm.fit("y ~ poly(x, 2) + (1 | school)", path)
    with pytest.raises(FormulaError, match="log1p"):
        mlm.fit("y ~ log1p(t) + (1 | school)", path)
    with pytest.raises(FormulaError, match="levels = c"):
        mlm.fit("y ~ factor(f, levels = c('a', 'b')) + (1 | school)", path)
    with pytest.raises(FormulaError, match="not supported"):
        mlm.fit("y ~ ordered(f) + (1 | school)", path)
    with pytest.raises(ValueError, match="'log\\(x\\)' has .* infinite or undefined"):
        mlm.fit("y ~ log(x) + (1 | school)", path)


def test_designs_too_large_are_refused_before_the_big_pass(schools):
    from mlm_jupyter.warehouse.fit import fit_source

    _, path = schools
    with pytest.raises(DesignTooLarge, match="cells.*GB"):
        fit_source("y ~ x + (1 | school) + (1 | rater)", path, memory_limit=1000)


def test_no_rows_come_into_python(pair):
    _, wh = pair
    with pytest.raises(RowsNotInMemory):
        np.asarray(wh.design.X)
    cells = wh.design.X.origin.cells
    assert cells.gram.shape[0] == wh.ngroups["school"]  # one aggregate per cluster


def test_collinear_columns_keep_a_qr_s_accuracy(parquet_dir):
    """x near 10⁶ in an interaction: centring leaves w and x:w nearly parallel; the second
    pass in pre-orthogonalised columns keeps the digits a QR of the rows would."""
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(150), 20)
    xc = rng.normal(size=g.size)
    w = rng.normal(size=150)[g]
    y = (1 + 0.5 * xc + 0.3 * w + 0.2 * xc * w + rng.normal(size=150)[g]
         + 0.3 * rng.normal(size=150)[g] * xc + rng.normal(size=g.size))
    path = parquet_dir / "collinear.parquet"
    pd.DataFrame({"g": g, "x": xc + 1e6, "w": w, "y": y}).to_parquet(path, index=False)
    formula = "y ~ x * w + (1 | g)"
    truth = quiet(formula, pd.DataFrame({"g": g, "x": xc, "w": w, "y": y}))
    wh = quiet(formula, str(path))
    for name in ("x", "x:w"):
        assert wh.fixef[name] == pytest.approx(truth.fixef[name], rel=1e-7)
    assert wh.sigma == pytest.approx(truth.sigma, rel=1e-8)
    np.testing.assert_allclose(wh.theta, truth.theta, rtol=1e-7)


# -- textbook data read by DuckDB straight from their CSV files ------------------------------
TEXTBOOK = __import__("pathlib").Path(__file__).parent / "reference" / "textbook"


@pytest.mark.parametrize("key", ["exam_slope_ml", "exam_slope_ml_rescaled", "gcsemv_int",
                                 "oxboys_quad_ml_rescaled", "scots_crossed_shifted",
                                 "chem97_nested", "cake_factorial", "star_crossed"])
def test_textbook_csv_files_equal_the_in_memory_fits(key):
    import json

    case = json.loads((TEXTBOOK / "textbook_reference.json").read_text())[key]
    path = TEXTBOOK / "data" / f"{case['dataset']}.csv"
    mem = quiet(case["formula"], pd.read_csv(path), reml=case["reml"])
    wh = quiet(case["formula"], str(path), reml=case["reml"])
    assert_same_fit(mem, wh, rel=1e-7)
    if not key.endswith(("_rescaled", "_shifted")):  # there lme4 itself stops short
        assert wh.objective == pytest.approx(case["objective"], abs=1e-3)
        np.testing.assert_allclose(wh.fixef, case["fixef"], rtol=1e-4, atol=1e-6)

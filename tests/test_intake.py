"""Data as users bring it (issue 15): every dtype and frame library gives R's numbers.

Reference numbers come from tests/reference/model_matrix (R 4.2, lme4 1.1-31, made by
model_matrix.R): the int16 age x income model and fits on a 60-row data set.  The rest are
properties: a column's dtype, library or missing-value spelling must not change a fit.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlm_jupyter as mlm
from mlm_jupyter import FormulaError

HERE = Path(__file__).parent / "reference" / "model_matrix"


@cache
def reference() -> dict:
    return json.loads((HERE / "model_matrix.json").read_text())


def small() -> pd.DataFrame:
    return pd.read_csv(HERE / "data.csv")


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(*args, **kwargs)


def assert_matches_fit(res, name: str, rel: float = 1e-5) -> None:
    """Names exactly; numbers within tests/reference/README.md's tolerances (tighter here:
    where lme4's optimizer stops a little short, our criterion is lower, never higher)."""
    ref = reference()["fits"][name]
    fixef = pd.Series(ref["fixef"])
    assert list(res.fixef.index) == list(fixef.index)
    np.testing.assert_allclose(res.fixef.to_numpy(), fixef.to_numpy(), rtol=rel, atol=1e-6)
    assert res.sigma == pytest.approx(ref["sigma"], rel=rel)
    assert res.objective == pytest.approx(ref["objective"], abs=1e-6)
    assert res.objective <= ref["objective"] + 1e-7
    np.testing.assert_allclose(res.fitted().to_numpy(), ref["fitted"], rtol=rel, atol=1e-6)


# -- integer widths: R promotes to double before multiplying --------------------------------
@pytest.mark.parametrize("dtype", ["int8", "int16", "uint8", "int32", "Int16", "uint16",
                                   "int16[pyarrow]", "float32"])
def test_products_of_small_integers_do_not_overflow(dtype):
    data = pd.read_csv(HERE / "age_income.csv")
    if dtype in ("int8", "uint8"):  # 150..250 does not fit: scale into the type's range
        data = data.assign(age=data.age - 150, inc=data.inc - 100)
        data = data.assign(y=data.y)  # same response; only the coding of x changes
        res = quiet_fit("y ~ age * inc + (1 | g)", data.astype({"age": dtype, "inc": "int16"}))
        ref = quiet_fit("y ~ age * inc + (1 | g)", data.astype(float))
        np.testing.assert_allclose(res.fixef, ref.fixef, rtol=1e-9)
        assert res.sigma == pytest.approx(ref.sigma, rel=1e-9)
        return
    res = quiet_fit("y ~ age * inc + (1 | g)", data.astype({"age": dtype, "inc": dtype}))
    assert_matches_fit(res, "age_income")


def test_int16_products_inside_calls_and_random_slopes():
    data = pd.read_csv(HERE / "age_income.csv").astype({"age": "int16", "inc": "int16"})
    res = quiet_fit("y ~ I(age * inc) + (1 | g)", data)
    assert res.fixef["I(age * inc)"] == pytest.approx(0.001, abs=1e-4)
    wide = quiet_fit("y ~ I(age * inc) + (1 | g)", data.astype(float))
    assert res.objective == pytest.approx(wide.objective, rel=1e-10)


# -- frames of other libraries --------------------------------------------------------------
@pytest.mark.parametrize("library", ["polars", "polars-lazy", "pyarrow"])
def test_other_frame_libraries_give_the_same_fit(library):
    data = small()
    formula = "y ~ x:f1 + (1 | g)"
    if library.startswith("polars"):
        pl = pytest.importorskip("polars")
        frame = pl.from_pandas(data)
        frame = frame.lazy() if library == "polars-lazy" else frame
    else:
        pa = pytest.importorskip("pyarrow")
        frame = pa.Table.from_pandas(data)
    res = quiet_fit(formula, frame)
    assert_matches_fit(res, "x_by_f1")
    # predictions accept the same frames
    np.testing.assert_allclose(res.predict(frame), res.fitted().to_numpy(), atol=1e-10)


def test_polars_categorical_levels_sorted_as_r_factor():
    pl = pytest.importorskip("polars")
    data = small()
    frame = pl.from_pandas(data).with_columns(pl.col("f1").cast(pl.Categorical))
    res = quiet_fit("y ~ x:f1 + (1 | g)", frame)
    assert_matches_fit(res, "x_by_f1")


# -- factors: string, categorical, boolean -----------------------------------------------------
@pytest.mark.parametrize(
    "convert",
    [
        lambda s: s.astype("string"),
        lambda s: s.astype("string[pyarrow]"),
        lambda s: s.astype(object),
        lambda s: pd.Categorical(s),
        lambda s: pd.Categorical(s, categories=["zzz", "a", "b", "c", "unused"]),
        lambda s: s.astype(pd.ArrowDtype(__import__("pyarrow").string())),
    ],
    ids=["string", "string-pyarrow", "object", "category", "category-unused", "arrow"],
)
def test_text_and_categorical_factors_agree_with_r(convert):
    data = small()
    data["f1"] = convert(data["f1"])
    res = quiet_fit("y ~ f1:f2 + (1 | g)", data)
    assert_matches_fit(res, "f1f2_no_main")


@pytest.mark.parametrize("dtype", [bool, "boolean", "bool[pyarrow]", object])
def test_booleans_are_factors_named_as_r(dtype):
    data = small()
    data["flag"] = data["flag"].astype(dtype)
    res = quiet_fit("y ~ x * flag + (1 | g)", data)
    assert list(res.fixef.index) == ["(Intercept)", "x", "flagTRUE", "x:flagTRUE"]
    numeric = quiet_fit("y ~ x * flag01 + (1 | g)", data.assign(flag01=data.flag.astype(float)))
    np.testing.assert_allclose(res.fixef.to_numpy(), numeric.fixef.to_numpy(), rtol=1e-8)


def test_nullable_boolean_with_na_drops_the_row():
    data = small()
    flag = pd.array(data["flag"].to_numpy(), dtype="boolean")
    flag[3] = pd.NA
    res = quiet_fit("y ~ flag + (1 | g)", data.assign(flag=flag))
    assert res.n_dropped == 1 and res.nobs == 59


@pytest.mark.parametrize("missing", [np.nan, None, pd.NA])
def test_every_spelling_of_missing_is_dropped_and_counted(missing):
    data = small().astype({"x": object, "f1": object})
    data.loc[2, "x"] = missing
    data.loc[5, "f1"] = missing
    res = quiet_fit("y ~ x + f1 + (1 | g)", data)
    assert res.n_dropped == 2
    clean = quiet_fit("y ~ x + f1 + (1 | g)", small().drop(index=[2, 5]))
    assert res.objective == pytest.approx(clean.objective, rel=1e-10)


@pytest.mark.parametrize(
    "column, dtype",
    [("w", "Int64"), ("w", "Int8"), ("w", "UInt16"), ("w", "int64[pyarrow]"), ("x", "Float64"),
     ("x", "double[pyarrow]"), ("x", object)],
)
def test_nullable_numbers_with_na(column, dtype):
    data = small()
    values = data[column].astype(object)
    values[7] = None
    data[column] = values.astype(dtype) if dtype is not object else values
    res = quiet_fit(f"y ~ {column} + (1 | g)", data)
    clean = quiet_fit(f"y ~ {column} + (1 | g)", small().drop(index=[7]))
    assert res.n_dropped == 1
    np.testing.assert_allclose(res.fixef, clean.fixef, rtol=1e-10)


# -- cluster ids ------------------------------------------------------------------------------
def test_object_ids_mixing_3_and_text_3_are_one_cluster():
    data = small()
    ids = data["g"].str[1:].astype(int)
    mixed = pd.Series([int(v) if i % 2 else str(v) for i, v in enumerate(ids)], dtype=object)
    res = quiet_fit("y ~ x + (1 | g)", data.assign(g=mixed))
    assert res.ngroups == {"g": 10}
    # R coerces a vector mixing 3 and "3" to text, so the levels sort as text
    assert list(res.ranef["g"].index) == sorted(str(k) for k in range(1, 11))
    ref = quiet_fit("y ~ x + (1 | g)", data.assign(g=ids))
    assert res.objective == pytest.approx(ref.objective, rel=1e-12)


@pytest.mark.parametrize("dtype", ["int16", "uint8", float, "Int64", str, "category"])
def test_numeric_ids_get_r_labels_whatever_their_dtype(dtype):
    data = small()
    ids = data["g"].str[1:].astype(int)
    res = quiet_fit("y ~ x + (1 | g)", data.assign(g=ids.astype(dtype)))
    labels = [str(k) for k in range(1, 11)]
    if dtype is str:  # text sorts as text, as R's factor() of character
        labels = sorted(labels)
    assert list(res.ranef["g"].index) == labels


def test_dates_can_be_grouping_factors():
    data = small()
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(data["g"].str[1:].astype(int), "D")
    res = quiet_fit("y ~ x + (1 | day)", data.assign(day=day))
    ref = quiet_fit("y ~ x + (1 | g)", data)
    assert res.objective == pytest.approx(ref.objective, rel=1e-12)
    assert res.ranef["day"].index[0].startswith("2024-01-02")


# -- refused columns, naming the column ----------------------------------------------------------
@pytest.mark.parametrize(
    "column, match",
    [
        (lambda d: d.x + 1j, r"'x' is complex"),
        (lambda d: (d.x + 1j).astype(object), r"'x' holds complex"),
        (lambda d: pd.Timestamp("2020-01-01") + pd.to_timedelta(d.index, "D"), r"'x' is a date"),
        (lambda d: pd.to_timedelta(d.index, "h"), r"'x' is a time span"),
        (lambda d: [[1.0]] * len(d), r"'x' holds list values"),
        (lambda d: [{"a": 1}] * len(d), r"'x' holds dict values"),
    ],
)
def test_unusable_columns_are_refused_by_name(column, match):
    data = small()
    data["x"] = column(data)
    with pytest.raises(ValueError, match=match):
        mlm.fit("y ~ x + (1 | g)", data)


@pytest.mark.parametrize("which", ["x", "y", "g", "`1`"])
def test_duplicate_column_names_are_refused(which):
    data = small().rename(columns={"x.1": "1"})
    name = which.strip("`")
    data = pd.concat([data, data[[name]]], axis=1)
    with pytest.raises(ValueError, match=f"more than one column named '{name}'"):
        mlm.fit(f"y ~ {which} + (1 | g)" if which not in ("y", "g") else "y ~ x + (1 | g)", data)


def test_names_equal_once_stringified_are_duplicates():
    data = pd.DataFrame({"y": [1.0, 2, 3, 4], 1: [1.0, 2, 3, 4], "1": [4.0, 3, 2, 1]})
    with pytest.raises(ValueError, match="more than one column named '1'"):
        mlm.fit("y ~ `1` + (1 | g)", data)


def test_user_frame_is_never_modified():
    data = small().astype({"w": "int16", "f1": "category", "flag": "boolean"})
    data.loc[3, "x"] = np.nan
    before = data.copy()
    res = quiet_fit("y ~ poly(x, 2) + scale(z) + factor(w) + f1 + flag + offset(z) + (1 | g)",
                    data)
    res.predict(data)
    pd.testing.assert_frame_equal(data, before)
    assert not np.shares_memory(res.data["x"].to_numpy(), data["x"].to_numpy())


# -- names: backticks, dots, integers, functions ------------------------------------------------
def test_backticked_1_is_a_column_not_the_intercept():
    data = small().rename(columns={"x": "1"})
    res = quiet_fit("y ~ `1` + (1 | g)", data)
    assert list(res.fixef.index) == ["(Intercept)", "`1`"]
    ref = quiet_fit("y ~ x + (1 | g)", small())
    np.testing.assert_allclose(res.fixef.to_numpy(), ref.fixef.to_numpy(), rtol=1e-12)


def test_integer_column_names():
    data = small()
    frame = pd.DataFrame({0: data.y, 1: data.x, 2: data.g})
    res = quiet_fit("`0` ~ `1` + (1 | `2`)", frame)
    ref = quiet_fit("y ~ x + (1 | g)", data)
    np.testing.assert_allclose(res.fixef.to_numpy(), ref.fixef.to_numpy(), rtol=1e-12)
    assert list(res.fixef.index) == ["(Intercept)", "`1`"]
    np.testing.assert_allclose(res.predict(frame.head()), ref.predict(data.head()), rtol=1e-12)


def test_dotted_names_inside_calls_agree_with_r():
    data = small()
    res = quiet_fit("y ~ log(x.1) + I(x.1^2) + (1 | g.id)", data)
    assert_matches_fit(res, "dotted")
    quoted = quiet_fit("y ~ log(`x.1`) + I(`x.1`^2) + (1 | `g.id`)", data)
    np.testing.assert_allclose(quoted.fixef.to_numpy(), res.fixef.to_numpy(), rtol=1e-12)
    centred = quiet_fit("y ~ cwc(x.1, g.id) + cm(x.1, g.id) + (1 | g.id)", data)
    assert list(centred.fixef.index) == ["(Intercept)", "cwc(x.1, g.id)", "cm(x.1, g.id)"]


def test_columns_named_like_functions():
    data = small().rename(columns={"x": "center", "z": "cwc", "x.1": "log"})
    res = quiet_fit("y ~ center + cwc + log(log) + cwc(center, g) + (1 | g)", data)
    assert list(res.fixef.index) == ["(Intercept)", "center", "cwc", "log(log)",
                                     "cwc(center, g)"]


def test_interaction_grouping_of_a_column_with_itself():
    data = small()
    res = quiet_fit("y ~ x + (1 | g:g)", data)
    ref = quiet_fit("y ~ x + (1 | g)", data)
    assert res.objective == pytest.approx(ref.objective, rel=1e-12)
    assert res.ngroups == {"g:g": 10}
    assert res.ranef["g:g"].index[0] == "s01:s01"


# -- formula idioms ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["poly_scale", "factor_call", "offset", "offset_scaled",
                                  "f1f2_no_main", "x_by_f1", "random_factor", "new_levels"])
def test_r_idioms_agree_with_lmer(name):
    ref = reference()["fits"][name]
    res = quiet_fit(ref["formula"], small(), reml=ref["reml"])
    assert_matches_fit(res, name)


def test_as_factor_equals_factor_and_as_numeric_of_numbers():
    data = small()
    a = quiet_fit("y ~ as.factor(w) + as.numeric(z) + (1 | g)", data)
    b = quiet_fit("y ~ factor(w) + z + (1 | g)", data)
    np.testing.assert_allclose(a.fixef.to_numpy(), b.fixef.to_numpy(), rtol=1e-12)
    assert a.fixef.index[1] == "as.factor(w)1"


def test_offset_changes_the_fit_exactly_as_a_known_term():
    data = small()
    res = quiet_fit("y ~ x + offset(z) + (1 | g)", data)
    shifted = quiet_fit("y_minus_z ~ x + (1 | g)", data.assign(y_minus_z=data.y - data.z))
    np.testing.assert_allclose(res.fixef, shifted.fixef, rtol=1e-10)
    np.testing.assert_allclose(res.fitted(), shifted.fitted() + data.z, rtol=1e-10)
    np.testing.assert_allclose(res.residuals(), shifted.residuals(), atol=1e-8)
    ref = reference()["fits"]["offset"]
    np.testing.assert_allclose(res.predict(data.iloc[:8]), ref["predict"], rtol=1e-5)


@pytest.mark.parametrize(
    "formula, match",
    [
        ("y ~ foo(x) + (1 | g)", r"foo\(\) is not supported"),
        ("y ~ np.log(x) + (1 | g)", r"np.log\(\) is not supported"),
        ("y ~ C(f1, contr.sum) + (1 | g)", r"C\(\) contrasts"),
        ("y ~ . + (1 | g)", r"'\.' \(every other column\)"),
        ("y ~ x + (1 + offset(z) | g)", "offset"),
        ("y ~ I(offset(z)) + (1 | g)", "offset"),
        ("y ~ poly(x, 0) + (1 | g)", "degree"),
        ("y ~ log(nope) + (1 | g)", "no column named 'nope'"),
        ("y ~ y + x + (1 | g)", "response y also appears"),
        ("y ~ log(y) + (1 | g)", None),
        ("y ~ 0 + (1 | g)", "no fixed effects"),
        ("y ~ -1 + (1 | g)", "no fixed effects"),
        ("y ~ x + (1 | g) + (1 | g)", "appears twice"),
        ("y ~ 2 + x + (1 | g)", "not a term"),
        ("f1 ~ x + (1 | g)", "not numeric"),
        ("flag ~ x + (1 | g)", "not numeric"),
        ("y ~ relevel(f1, ref = 'zz') + (1 | g)", "not a level"),
        ("y ~ relevel(ordered(f1), ref = 'b') + (1 | g)", "unordered factors"),
        ("y ~ x + I(f1 * 2) + (1 | g)", "is a factor"),
    ],
)
def test_unsupported_formulas_get_specific_messages(formula, match):
    data = small()
    data["flag"] = data["flag"].astype(bool)
    if match is None:  # a response transformed on the right is a different variable
        quiet_fit(formula, data)
        return
    with pytest.raises((FormulaError, ValueError), match=match):
        mlm.fit(formula, data)


def test_reml_none_is_refused_not_ml():
    with pytest.raises(TypeError, match="reml must be True or False"):
        mlm.fit("y ~ x + (1 | g)", small(), reml=None)


def test_stata_files_read_by_the_cli_keep_their_int16_columns(tmp_path):
    from mlm_jupyter.cli import read_data

    data = pd.read_csv(HERE / "age_income.csv").astype({"age": "int16", "inc": "int16"})
    data.to_stata(tmp_path / "ai.dta", write_index=False)
    read = read_data(str(tmp_path / "ai.dta"))
    assert read["age"].dtype == np.int16
    assert_matches_fit(quiet_fit("y ~ age * inc + (1 | g)", read), "age_income")


def test_factor_of_the_grouping_column_is_the_grouping_column():
    data = small().assign(gid=lambda d: d.g.str[1:].astype(int))
    res = quiet_fit("y ~ x + (1 | factor(gid))", data)
    ref = quiet_fit("y ~ x + (1 | g)", data)
    assert res.objective == pytest.approx(ref.objective, rel=1e-12)
    assert res.ngroups == {"gid": 10}


def test_cluster_deletion_keeps_the_offset():
    data = small()
    res = quiet_fit("y ~ x + offset(z) + (1 | g)", data)
    ref = quiet_fit("y ~ x + offset(z) + (1 | g)", data[data.g != "s01"])
    deleted = res.without(["s01"]).result
    assert deleted.objective == pytest.approx(ref.objective, rel=1e-10)
    np.testing.assert_allclose(deleted.fixef, ref.fixef, rtol=1e-8)

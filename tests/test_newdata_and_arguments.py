"""``predict(newdata)`` as lme4, immutable results, and argument checks that name the argument.

Predictions: lme4's ``predict(m, newdata, allow.new.levels = TRUE)`` gives a row whose
cluster is missing or new the population prediction; ids match whatever their dtype; a
fixed-effect factor level the fit never saw is an error; NA in a predictor is NA.  The
reference predictions (poly/scale/offset models) are lme4's, from
tests/reference/model_matrix/model_matrix.R.
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
from mlm_jupyter.predict import newdata_matrices

HERE = Path(__file__).parent / "reference" / "model_matrix"


@cache
def reference() -> dict:
    return json.loads((HERE / "model_matrix.json").read_text())["fits"]


def small() -> pd.DataFrame:
    return pd.read_csv(HERE / "data.csv")


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(*args, **kwargs)


@cache
def model():
    return quiet_fit("y ~ x + f1 + flag + (1 + x | g)", small())


def rows() -> pd.DataFrame:
    return small().iloc[[0, 6, 12, 18]].reset_index(drop=True)


# -- lme4's predictions with training constants --------------------------------------------------
@pytest.mark.parametrize("name", ["poly_scale", "dotted", "factor_call", "random_factor",
                                  "new_levels"])
def test_predictions_use_the_training_basis_as_lme4(name):
    ref = reference()[name]
    res = quiet_fit(ref["formula"], small())
    newdata = rows().assign(x=lambda d: d.x + 0.25)
    if name == "new_levels":  # an unseen and a missing cluster id, as in the R script
        newdata = newdata.astype({"g": object})
        newdata.loc[1, "g"] = "s99"
        newdata.loc[2, "g"] = None
    # tolerances of tests/reference/README.md (fixed effects 1e-4; here tighter)
    np.testing.assert_allclose(res.predict(newdata), ref["predict"], rtol=1e-5)
    np.testing.assert_allclose(res.predict(newdata, include_re=False), ref["predict_fixed"],
                               rtol=1e-5)


# -- cluster ids ---------------------------------------------------------------------------------
@pytest.mark.parametrize("convert", [
    lambda s: s.str[1:].astype(int), lambda s: s.str[1:].astype(float),
    lambda s: s.str[1:].astype("Int64"), lambda s: s.str[1:].astype(int).astype(str),
    lambda s: s.str[1:].astype(int).astype(object),
], ids=["int", "float", "Int64", "str", "object"])
@pytest.mark.parametrize("new", [
    lambda s: s.str[1:].astype(int), lambda s: s.str[1:].astype(float),
    lambda s: s.str[1:].astype(int).astype(str), lambda s: s.str[1:].astype("int16"),
], ids=["new-int", "new-float", "new-str", "new-int16"])
def test_ids_match_whatever_their_dtype(convert, new):
    data = small()
    res = quiet_fit("y ~ x + (1 | g)", data.assign(g=convert(data.g)))
    newdata = rows().assign(g=new(rows().g))
    expected = res.fitted().to_numpy()[[0, 6, 12, 18]]
    np.testing.assert_allclose(res.predict(newdata), expected, rtol=1e-12)


def test_missing_and_unseen_ids_get_the_population_prediction():
    res = model()
    newdata = rows().astype({"g": object})
    newdata.loc[1, "g"] = None
    newdata.loc[2, "g"] = np.nan
    newdata.loc[3, "g"] = "s99"
    population = res.predict(newdata, include_re=False)
    full = res.predict(newdata)
    np.testing.assert_allclose(full[1:], population[1:], rtol=1e-12)
    assert full[0] != pytest.approx(population[0])
    assert full[0] == pytest.approx(res.fitted().iloc[0], rel=1e-12)


def test_allow_new_levels_false_raises_naming_the_ids():
    newdata = rows().astype({"g": object})
    newdata.loc[3, "g"] = "s99"
    newdata.loc[2, "g"] = None
    with pytest.raises(ValueError, match=r"'s99' not in the fit and 1 missing id.*'g'"):
        model().predict(newdata, allow_new_levels=False)


def test_newdata_matrices_marks_unseen_and_missing_clusters():
    newdata = rows().astype({"g": object})
    newdata.loc[2, "g"] = None
    newdata.loc[3, "g"] = "new"
    mats = newdata_matrices(model(), newdata)
    (codes,) = mats.codes
    assert codes[2] == -1 and codes[3] == -1 and codes[0] >= 0
    assert mats.X.shape == (4, len(model().fixef))
    assert mats.Z[0].shape == (4, 2)


# -- fixed-effect factors and missing predictors -------------------------------------------------
@pytest.mark.parametrize("level", ["zz", "A", "a "])
def test_unseen_fixed_factor_level_raises_naming_column_and_level(level):
    newdata = rows().assign(f1=["a", level, "b", "c"])
    with pytest.raises(ValueError, match=rf"'f1' has level\(s\) '{level}'"):
        model().predict(newdata)


@pytest.mark.parametrize("column, value", [
    ("f1", None), ("f1", np.nan), ("x", np.nan), ("x", None), ("flag", None), ("flag", pd.NA),
])
def test_missing_predictor_gives_nan_for_that_row_only(column, value):
    newdata = rows().astype({column: object})
    newdata.loc[1, column] = value
    if column == "flag":
        newdata[column] = pd.array(newdata[column], dtype="boolean")
    out = model().predict(newdata)
    assert np.isnan(out[1]) and np.isfinite(out[[0, 2, 3]]).all()
    np.testing.assert_allclose(out[[0, 2, 3]], model().fitted().to_numpy()[[0, 12, 18]],
                               rtol=1e-12)


def test_categorical_newdata_with_other_category_order():
    newdata = rows().assign(f1=pd.Categorical(rows().f1, categories=["c", "b", "a", "unused"]))
    np.testing.assert_allclose(model().predict(newdata), model().predict(rows()), rtol=1e-12)


def test_boolean_spellings_match_the_fit():
    spelled = rows().assign(flag=rows().flag.map({True: "TRUE", False: "false"}))
    np.testing.assert_allclose(model().predict(spelled), model().predict(rows()), rtol=1e-12)


@pytest.mark.parametrize("bad, match", [
    (lambda d: d.iloc[:0], "newdata has no rows"),
    (lambda d: d.drop(columns="f1"), r"lacks the column\(s\) \['f1'\]"),
    (lambda d: [1, 2, 3], "newdata must be a data frame"),
    (lambda d: d.assign(x=d.x.astype(str) + "kg"), "'x' was numeric in the fit"),
])
def test_bad_newdata_gets_a_specific_message(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        model().predict(bad(rows()))


def test_grouping_columns_not_needed_without_random_effects():
    out = model().predict(rows().drop(columns="g"), include_re=False)
    assert out.shape == (4,)


# -- immutable results ---------------------------------------------------------------------------
def test_editing_a_result_cannot_change_later_predictions():
    res = quiet_fit("y ~ x + f1 + (1 + x | g)", small())
    before = res.predict(rows())
    for table in (res.fixef, res.vcov, res.ranef["g"], res.coef["g"], res.coef_table):
        table.iloc[0] = -99.0  # edits a copy
    for array in (res.theta, *res.random_effects, res.design.X, res.design.y,
                  res.design.terms[0].Z, res.design.terms[0].codes):
        with pytest.raises(ValueError, match="read-only"):
            array.flat[0] = 1.0
    with pytest.raises(AttributeError):
        res.fixef = res.fixef * 2
    np.testing.assert_array_equal(res.predict(rows()), before)
    assert res.vcov.iloc[0, 0] > 0 and (res.ranef["g"].abs() < 99).all().all()
    assert (res.coef_table.iloc[0] != -99.0).all()
    assert res.fixef.abs().sum() > 0


# -- argument checks -----------------------------------------------------------------------------
@cache
def pair():
    data = small()
    return (quiet_fit("y ~ x + (1 | g)", data, reml=False),
            quiet_fit("y ~ x + (1 + x | g)", data, reml=False))


@pytest.mark.parametrize("call, error, match", [
    (lambda m0, m1: mlm.compare(m0, "m1"), TypeError, "model 2 of compare.*str"),
    (lambda m0, m1: mlm.compare(m0, m1, nsim=-3), ValueError, "nsim must be at least 0"),
    (lambda m0, m1: mlm.compare(m0, m1, nsim=2.5), TypeError, "nsim must be a whole number"),
    (lambda m0, m1: mlm.compare(m0, m1, refit=None), TypeError, "refit must be True or False"),
    (lambda m0, m1: mlm.compare(m0, m1, nsim=2, seed="x"), TypeError, "seed must be"),
    (lambda m0, m1: m0.refit(y=np.ones(3)), ValueError, r"y must have one value per.*\(60\)"),
    (lambda m0, m1: m0.refit(y=np.full(60, np.nan)), ValueError, "y has 60 missing"),
    (lambda m0, m1: m0.refit(y=["a"] * 60), TypeError, "y must be numbers"),
    (lambda m0, m1: m0.refit(reml="no"), TypeError, "reml must be True or False"),
    (lambda m0, m1: m0.explore(max_clusters=-1), ValueError, "max_clusters must be at least 1"),
    (lambda m0, m1: m0.predict(small().iloc[:0]), ValueError, "newdata has no rows"),
    (lambda m0, m1: m0.predict(small(), include_re=None), TypeError, "include_re"),
    (lambda m0, m1: mlm.variance_explained(m0, "m1"), TypeError, "model is a str"),
    (lambda m0, m1: mlm.fit("y ~ x + (1 | g)", small(), start=[1.0, 2.0]), ValueError,
     "start must hold 1"),
    (lambda m0, m1: mlm.fit("y ~ x + (1 | g)", small(), start="a"), TypeError, "start must be"),
    (lambda m0, m1: mlm.fit("y ~ x + (1 | g)", small(), reml="yes"), TypeError, "reml must"),
    (lambda m0, m1: mlm.fit("y ~ x + (1 | g)", small(), warn=None), TypeError, "warn must"),
    (lambda m0, m1: mlm.fit(3, small()), TypeError, "formula must be a string"),
    (lambda m0, m1: mlm.fit(3, small(), family="poisson"), TypeError, "formula must be a string"),
    (lambda m0, m1: mlm.fit(3, [small(), small()]), TypeError, "formula must be a string"),
    (lambda m0, m1: mlm.fit("y ~ x + (1 | g)", small().to_dict()), TypeError,
     "data must be a data frame"),
])
def test_public_functions_name_the_wrong_argument(call, error, match):
    with pytest.raises(error, match=match):
        call(*pair())


def test_refit_with_a_new_response_keeps_the_offset():
    data = small()
    res = quiet_fit("y ~ x + offset(z) + (1 | g)", data)
    again = res.refit(y=data.y.to_numpy())
    np.testing.assert_allclose(again.fixef, res.fixef, rtol=1e-8)


@pytest.mark.parametrize("target", ["folder", "missing"])
def test_report_paths_are_checked_before_writing(tmp_path, target):
    path = tmp_path if target == "folder" else tmp_path / "nope" / "r.html"
    res = pair()[0]
    with pytest.raises(ValueError, match="is a folder" if target == "folder" else "does not"):
        res.to_html(path)
    with pytest.raises(ValueError, match="is a folder" if target == "folder" else "does not"):
        mlm.report(res, path=path)


def test_cli_refuses_an_output_folder(tmp_path, capsys):
    from mlm_jupyter.cli import main

    small().to_csv(tmp_path / "d.csv", index=False)
    code = main([str(tmp_path / "d.csv"), "y ~ x + (1 | g)", "-o", str(tmp_path)])
    assert code == 2
    assert "is a folder" in capsys.readouterr().err


def test_a_transformed_response_is_not_needed_in_newdata():
    data = small()
    res = quiet_fit("log(y) ~ x + (1 | g)", data)
    out = res.predict(rows().drop(columns="y"))
    np.testing.assert_allclose(out, res.fitted().to_numpy()[[0, 6, 12, 18]], rtol=1e-12)

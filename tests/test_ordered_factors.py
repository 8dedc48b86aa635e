"""Ordered factors are coded as R codes them: polynomial contrasts (``contr.poly``).

A pandas ``Categorical`` with ``ordered=True`` is R's ordered factor; so is ``ordered(x)`` in a
formula.  References: ``tests/reference/ordered/`` (lme4 1.1-31, lmerTest, emmeans; made by
``make_ordered_reference.R`` on sleepstudy with its days banded into four ordered levels).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlm_jupyter as mlm
from mlm_jupyter.model_matrix import poly_contrast_names, poly_contrasts

REF = json.loads((Path(__file__).parent / "reference" / "ordered" / "ordered_reference.json")
                 .read_text())
DATA = Path(__file__).parent / "reference" / "data" / "sleepstudy.csv"


@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    d = pd.read_csv(DATA)
    d["band"] = pd.Categorical(REF["band"], categories=REF["levels"], ordered=True)
    return d


@pytest.mark.parametrize("case", REF["contr_poly"], ids=lambda c: f"k{c['k']}")
def test_poly_contrasts_equal_r(case: dict) -> None:
    k = case["k"]
    expected = np.asarray(case["values"], dtype=float).reshape(k, k - 1)
    np.testing.assert_allclose(poly_contrasts(k), expected, atol=1e-13)
    names = case["names"] if isinstance(case["names"], list) else [case["names"]]
    assert poly_contrast_names(k) == names


@pytest.mark.parametrize("key", sorted(REF["cases"]))
def test_fit_with_ordered_factor_equals_lmer(sleep: pd.DataFrame, key: str) -> None:
    case = REF["cases"][key]
    res = mlm.fit(case["formula"], sleep, warn=False)
    assert list(res.fixef.index) == case["fixef_names"]
    np.testing.assert_allclose(res.fixef.to_numpy(), case["fixef"], rtol=1e-6, atol=1e-8)
    table = res.coef_table
    np.testing.assert_allclose(table["std_error"].to_numpy(), case["se"], rtol=1e-5)
    np.testing.assert_allclose(table["df"].to_numpy(), case["df"], rtol=1e-4)
    assert res.loglik == pytest.approx(case["loglik"], abs=1e-6)


def test_ordered_call_in_formula_equals_ordered_column(sleep: pd.DataFrame) -> None:
    text = sleep.assign(band=sleep["band"].astype(str))
    levels = ", ".join(f'"{lv}"' for lv in REF["levels"])
    res = mlm.fit(f"Reaction ~ ordered(band, levels = c({levels})) + (1 | Subject)", text,
                  warn=False)
    case = REF["cases"]["main"]
    np.testing.assert_allclose(res.fixef.to_numpy(), case["fixef"], rtol=1e-6, atol=1e-8)
    assert res.fixef.index[1].endswith(".L")


def test_unordered_copy_gets_treatment_contrasts(sleep: pd.DataFrame) -> None:
    plain = sleep.assign(band=sleep["band"].cat.as_unordered())
    res = mlm.fit("Reaction ~ band + (1 | Subject)", plain, warn=False)
    assert list(res.fixef.index) == ["(Intercept)", "bandmid", "bandlate", "bandend"]
    ordered = mlm.fit("Reaction ~ band + (1 | Subject)", sleep, warn=False)
    # Same model, other coding: fitted values and the variance components agree (the REML
    # criterion moves by a constant only, so the optimum is the same to optimiser tolerance).
    np.testing.assert_allclose(res.fitted(), ordered.fitted(), rtol=1e-7)
    np.testing.assert_allclose(res.theta, ordered.theta, rtol=1e-6)


def test_marginal_means_of_ordered_factor_equal_emmeans(sleep: pd.DataFrame) -> None:
    res = mlm.fit("Reaction ~ band + (1 | Subject)", sleep, warn=False)
    got = res.marginal_means("band", ddf="satterthwaite")
    want = pd.DataFrame(REF["emmeans"])
    assert list(got["band"].astype(str)) == list(want["band"])
    np.testing.assert_allclose(got["estimate"].to_numpy(), want["emmean"], rtol=1e-7)
    np.testing.assert_allclose(got["std_error"].to_numpy(), want["SE"], rtol=1e-5)
    np.testing.assert_allclose(got["df"].to_numpy(), want["df"], rtol=1e-4)


def test_prediction_on_text_levels_uses_the_fit_coding(sleep: pd.DataFrame) -> None:
    res = mlm.fit("Reaction ~ band + (1 | Subject)", sleep, warn=False)
    rows = sleep.iloc[[3, 17, 95]]
    new = rows.assign(band=rows["band"].astype(str))
    np.testing.assert_allclose(res.predict(new), res.fitted()[[3, 17, 95]], rtol=1e-10)


def test_relevel_of_ordered_factor_is_refused_as_in_r(sleep: pd.DataFrame) -> None:
    with pytest.raises(Exception, match="unordered"):
        mlm.fit('Reaction ~ relevel(band, ref = "mid") + (1 | Subject)', sleep)

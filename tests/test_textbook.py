"""Textbook data the engine was not developed on, and rescaled variants of them, against lme4.

tests/reference/textbook/textbook_reference.R fits lme4 1.1-31 to mlmRev's Exam, Gcsemv,
Oxboys, ScotsSec, Chem97, Early and star and lme4's cake (writing the CSV files read here),
and to rescaled copies: Exam's LRT score times 1000 plus 500, Oxboys' height in mm and age
in months since birth, ScotsSec's attainment plus 10⁶.

On the original data lme4 is the truth: criterion within 1e-3, fixed effects 1e-4 relative
(or 1e-6 absolute), never a worse criterion (1e-6).  On the rescaled data lme4 stops early
(Exam: max|grad| 142; Oxboys: a false singular fit); there the truth is our fit of the
original data mapped through the change of units, and lme4's criterion must not be better.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlm_jupyter as mlm

HERE = Path(__file__).parent / "reference" / "textbook"
REF = json.loads((HERE / "textbook_reference.json").read_text())
ORIGINAL = [k for k in REF if not k.endswith(("_rescaled", "_shifted"))]


def fit_case(key: str):
    case = REF[key]
    data = pd.read_csv(HERE / "data" / f"{case['dataset']}.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(case["formula"], data, reml=case["reml"])


@pytest.mark.parametrize("key", ORIGINAL)
def test_textbook_fits_equal_lme4(key: str) -> None:
    ref, res = REF[key], fit_case(key)
    assert res.converged
    assert res.nobs == ref["nobs"]
    assert res.objective <= ref["objective"] + 1e-6
    assert res.objective == pytest.approx(ref["objective"], abs=1e-3)
    assert list(res.fixef.index) == ref["fixef_names"]
    np.testing.assert_allclose(res.fixef, ref["fixef"], rtol=1e-4, atol=1e-6)
    assert res.sigma == pytest.approx(ref["sigma"], rel=1e-4)


def test_exam_lrt_score_in_other_units() -> None:
    """lrt = standLRT * 1000 + 500: lme4 stops 17.7 deviance units short (max|grad| 142)."""
    base, res = fit_case("exam_slope_ml"), fit_case("exam_slope_ml_rescaled")
    lme4 = REF["exam_slope_ml_rescaled"]
    assert res.converged and "failed to converge" in lme4["lme4_messages"]
    assert res.objective == pytest.approx(base.objective, abs=1e-6)
    assert res.objective < lme4["objective"] - 10
    assert res.fixef["lrt"] * 1000 == pytest.approx(base.fixef["standLRT"], rel=1e-7)
    assert res.fixef["(Intercept)"] == pytest.approx(
        base.fixef["(Intercept)"] - 0.5 * base.fixef["standLRT"], rel=1e-7)


def test_oxboys_in_mm_and_months() -> None:
    """Height in mm, age in months since birth: lme4 reports a false singular fit, 52.6
    deviance units short; the ML deviance shifts by exactly 2n log 10."""
    base, res = fit_case("oxboys_quad_ml"), fit_case("oxboys_quad_ml_rescaled")
    lme4 = REF["oxboys_quad_ml_rescaled"]
    assert res.converged and not res.is_singular and "singular" in lme4["lme4_messages"]
    n = base.nobs
    assert res.objective == pytest.approx(base.objective + 2 * n * np.log(10), abs=1e-6)
    assert res.objective < lme4["objective"] - 50
    assert res.sigma == pytest.approx(10 * base.sigma, rel=1e-7)


def test_scots_attainment_far_from_zero() -> None:
    base, res = fit_case("scots_crossed"), fit_case("scots_crossed_shifted")
    assert res.objective == pytest.approx(base.objective, abs=1e-5)
    np.testing.assert_allclose(res.theta, base.theta, rtol=1e-6)
    np.testing.assert_allclose(res.fixef.iloc[1:], base.fixef.iloc[1:], rtol=1e-6)

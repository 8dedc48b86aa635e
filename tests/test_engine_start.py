"""The one-term-fits start of costly scalar-term models changes where the search begins,
never the optimum: lme4's numbers from it, and the same optimum as from lme4's start."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import reference_case, reference_data
from test_engine_reference import _flat_tolerance

import mlm_jupyter as mlm
from mlm_jupyter.design import build_design
from mlm_jupyter.engine import fit as engine_fit
from mlm_jupyter.engine.blocks import cross_products
from mlm_jupyter.engine.conditioning import condition
from mlm_jupyter.engine.objective import ProfiledDeviance, theta_start
from mlm_jupyter.engine.start import moment_start
from mlm_jupyter.formula import parse


def _crossed(levels: int, n: int, sd: tuple[float, float, float], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = [rng.integers(0, levels, n) for _ in range(3)]
    effects = [rng.normal(0, s, levels) for s in sd]
    x = rng.normal(size=n)
    y = 1.0 + 0.5 * x + sum(e[c] for e, c in zip(effects, codes, strict=True))
    y = y + rng.normal(0, 1.0, n)
    return pd.DataFrame({"y": y, "x": x, **{k: [f"{k}{i}" for i in c]
                                            for k, c in zip("abc", codes, strict=True)}})


def _engine(formula: str, data: pd.DataFrame, reml: bool) -> ProfiledDeviance:
    _, ed = condition(build_design(parse(formula), data))
    return ProfiledDeviance(cross_products(ed), reml=reml)


@pytest.mark.parametrize("case", ["penicillin_crossed", "crossed_int"])
def test_fits_from_the_one_term_start_equal_lme4(case: str, monkeypatch) -> None:
    monkeypatch.setattr(engine_fit, "MOMENT_START_MIN_REST", 0)
    ref = reference_case(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit(ref["formula"], reference_data(ref["dataset"]).copy(), reml=ref["reml"])
    assert not np.allclose(res.optimization.theta0, 1.0)  # the one-term start was used
    # lme4's tolerance of the reference tests (wider only where lme4 stopped on a flat ridge)
    np.testing.assert_allclose(res.theta, ref["theta"], rtol=_flat_tolerance(ref, res))
    assert res.objective <= ref["objective"] + 1e-8
    assert res.objective == pytest.approx(ref["objective"], rel=1e-9, abs=1e-6)


@pytest.mark.parametrize(("sd", "reml"), [((0.6, 0.4, 0.3), False), ((0.6, 0.4, 0.0), True)])
def test_costly_crossed_model_reaches_the_same_optimum_from_either_start(sd, reml) -> None:
    """Three crossed factors (600-row rest block: the start is used by default); the
    second case has a factor without variance (a boundary optimum, start floored)."""
    formula = "y ~ x + (1 | a) + (1 | b) + (1 | c)"
    data = _crossed(300, 6000, sd, seed=int(10 * sum(sd)))
    obj = _engine(formula, data, reml)
    assert obj.cp.m_rest >= engine_fit.MOMENT_START_MIN_REST
    start = moment_start(obj.cp, reml)
    assert start is not None
    mine = engine_fit.optimize(obj)
    np.testing.assert_allclose(mine.theta0, np.maximum(start, engine_fit.MOMENT_START_FLOOR))
    lme4_start = engine_fit.optimize(_engine(formula, data, reml), theta_start(obj.cp))
    assert mine.converged and lme4_start.converged
    assert mine.objective == pytest.approx(lme4_start.objective, rel=1e-11, abs=1e-8)
    np.testing.assert_allclose(mine.theta, lme4_start.theta, rtol=1e-4, atol=1e-4)
    # the start is near the optimum (it is what saves the evaluations)
    assert np.abs(start - mine.theta).max() < 0.25 * max(1.0, np.abs(mine.theta).max())


def test_no_one_term_start_for_vector_terms(hsb) -> None:
    obj = _engine("mathach ~ ses + (1 + ses | school) + (1 | catholic)", hsb, True)
    assert moment_start(obj.cp, True) is None

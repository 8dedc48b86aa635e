"""Every evaluation path of the criterion gives the same numbers, whatever the ordering.

The engine chooses per model between a dense kernel (small models), the blocked
factorisation with the coupling plan (sparse Z_rest'Z1), dense coupling (fully crossed
designs: every subject sees every item) and per-component blocks of the rest block
(factors crossed within clusters), with the Schur complement as one sparse product.
Here each path is forced on every reference model with several random terms and must
give the same criterion, gradient, estimates and conditional variances; relabelling the
levels (a different ordering of the rest block) must change nothing; and the cost
estimate, the memory refusal and the progress display are checked.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import fitted_case

import mlm_jupyter as mlm
from mlm_jupyter.design import build_design
from mlm_jupyter.engine import cost as engine_cost
from mlm_jupyter.engine.blocks import cross_products
from mlm_jupyter.engine.conditioning import condition
from mlm_jupyter.engine.objective import ProfiledDeviance, conditional_variances, solve

MULTI = ["sleep_uncorr_reml", "pastes_nested", "penicillin_crossed", "hsb_uncorr_female",
         "egsingle_3level", "egsingle_3level_int", "crossed_slope", "crossed_int"]
KERNELS = ("blocked", "crossed", "dense")


def _points(res) -> list[np.ndarray]:
    theta = np.asarray(res.engine_theta, dtype=float)
    rng = np.random.default_rng(3)
    return [theta, theta + rng.uniform(0.05, 0.4, theta.size)]


@pytest.mark.parametrize("case", MULTI)
def test_every_kernel_gives_the_same_criterion_and_gradient(case: str) -> None:
    res = fitted_case(case)
    cp = res.engine.cp
    objs = {k: ProfiledDeviance(cp, reml=res.reml, kernel=k) for k in KERNELS}
    for theta in _points(res):
        ref_v, ref_g = objs["dense"].value_and_gradient(theta)
        for k in ("blocked", "crossed"):
            v, g = objs[k].value_and_gradient(theta)
            assert v == pytest.approx(ref_v, rel=1e-11, abs=1e-9)
            np.testing.assert_allclose(g, ref_g, rtol=1e-7, atol=1e-7 * max(1, np.abs(ref_g).max()))


@pytest.mark.parametrize("case", MULTI)
def test_component_factor_matches_the_dense_one(case: str) -> None:
    res = fitted_case(case)
    cp = res.engine.cp
    comp = ProfiledDeviance(cp, reml=res.reml, kernel="components")
    blocked = ProfiledDeviance(cp, reml=res.reml, kernel="blocked")
    for theta in _points(res):
        assert comp(theta) == pytest.approx(blocked(theta), rel=1e-12, abs=1e-9)
        a, b = solve(comp, theta), solve(blocked, theta)
        np.testing.assert_allclose(a.beta, b.beta, rtol=1e-9, atol=1e-10)
        for ua, ub in zip(a.u, b.u, strict=True):
            np.testing.assert_allclose(ua, ub, rtol=1e-8, atol=1e-10)
        for ca, cb in zip(conditional_variances(a.factor, cp),
                          conditional_variances(b.factor, cp), strict=True):
            np.testing.assert_allclose(ca, cb, rtol=1e-8, atol=1e-12)


def _small_districts(seed: int = 1, districts: int = 4, per: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_lev = districts * per
    student = np.repeat(np.arange(n_lev), 8)
    district = student // per
    teacher = district * per + rng.integers(0, per, student.size)
    rater = district * per + rng.integers(0, per, student.size)
    y = (rng.normal(0, 2, n_lev)[student] + rng.normal(0, 1, n_lev)[teacher]
         + rng.normal(0, 1, n_lev)[rater] + rng.normal(0, 1, student.size))
    return pd.DataFrame({"y": y, "x": rng.normal(size=student.size),
                         "s": [f"s{i}" for i in student], "t": [f"t{i}" for i in teacher],
                         "r": [f"r{i}" for i in rater]})


FORMULA = "y ~ x + (1 | s) + (1 | t) + (1 | r)"


def _engine(data: pd.DataFrame, reml: bool, kernel: str | None) -> ProfiledDeviance:
    design = condition(build_design(mlm.parse(FORMULA), data))[1]
    return ProfiledDeviance(cross_products(design), reml=reml, kernel=kernel)


@pytest.mark.parametrize("reml", [True, False])
def test_components_on_a_design_crossed_within_districts(reml: bool) -> None:
    data = _small_districts()
    comp, dense = _engine(data, reml, "components"), _engine(data, reml, "blocked")
    plan = comp._component_plan()
    assert plan is not None and [g.shape for g in plan.groups] == [(4, 24)]
    for theta in (np.array([0.9, 0.5, 0.4]), np.array([1.3, 0.0, 0.7])):
        assert comp(theta) == pytest.approx(dense(theta), rel=1e-12)


def test_relabelled_levels_leave_the_criterion_unchanged() -> None:
    # Another ordering of the rest block's rows (and of the components' blocks).
    data = _small_districts(seed=2)
    rng = np.random.default_rng(5)
    relabel = data.copy()
    for col in ("t", "r"):
        levels = relabel[col].unique()
        relabel[col] = relabel[col].map(dict(zip(levels, rng.permutation(levels), strict=True)))
    shuffled = relabel.sample(frac=1.0, random_state=4).reset_index(drop=True)
    theta = np.array([0.8, 0.6, 0.3])
    for kernel in ("components", "blocked", "dense"):
        a = _engine(data, False, kernel)
        b = _engine(shuffled, False, kernel)
        assert a(theta) == pytest.approx(b(theta), rel=1e-11)


def test_cost_estimate_names_the_kernel_and_refuses_what_cannot_fit() -> None:
    design = build_design(mlm.parse(FORMULA), _small_districts(districts=40, per=12))
    est = engine_cost.estimate(design)
    assert est.kernel == "components" and est.largest_block == 24 + 2 + 1
    assert "factor" in est.describe()
    rng = np.random.default_rng(0)
    n = 4000
    crossed = pd.DataFrame({"y": rng.normal(size=n), "x": rng.normal(size=n),
                            "s": rng.integers(0, 300, n).astype(str),
                            "t": rng.integers(0, 300, n).astype(str),
                            "r": rng.integers(0, 300, n).astype(str)})
    dense = engine_cost.estimate(build_design(mlm.parse(FORMULA), crossed))
    assert dense.kernel == "dense" and dense.m_rest == 600
    assert dense.factor_bytes == 8 * (600 + 3) ** 2
    with pytest.raises(engine_cost.ModelTooLargeError, match="600 x 600"):
        engine_cost.check_memory(dense, available=dense.peak_bytes // 2)
    engine_cost.check_memory(dense, available=dense.peak_bytes * 2)


def test_fit_refuses_a_model_too_large_for_memory(monkeypatch) -> None:
    monkeypatch.setattr(engine_cost, "available_bytes", lambda: 1024)
    monkeypatch.setattr(engine_cost, "ALWAYS_FITS", 0)
    with pytest.raises(MemoryError, match="memory"):
        mlm.fit(FORMULA, _small_districts(), reml=False)


def test_progress_shows_evaluations_and_the_criterion(capsys, monkeypatch) -> None:
    from mlm_jupyter import progress

    monkeypatch.setattr(progress, "DELAY", 0.0)  # show at once (the fit is short)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit(FORMULA, _small_districts(), reml=False, progress=True)
    err = capsys.readouterr().err
    assert "fitting (criterion" in err and "evaluations" in err
    assert f"done, {res.optimization.n_evals} evaluations" in err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlm.fit(FORMULA, _small_districts(), reml=False, progress=False)
    assert capsys.readouterr().err == ""
    assert res.optimization.cost is not None


def test_the_optimum_check_reuses_the_polish_hessian() -> None:
    res = fitted_case("egsingle_3level")
    # 6 θ: a fresh Hessian would cost 6 gradients; the check costs one gradient at θ̂.
    assert res.optimization.n_evals < 40
    obj = ProfiledDeviance(res.engine.cp, reml=res.reml)
    from mlm_jupyter.engine.fit import optimize

    record = optimize(obj, progress=False)
    from mlm_jupyter.engine.verify import check_optimum

    before = obj.n_evals
    check_optimum(obj, record.theta, record.objective)
    assert obj.n_evals - before <= 2

"""The exact gradients of the profiled criterion against central differences.

Three code paths compute ∂d/∂θ: the dense kernel (small models), the batched formula
(one random term) and the blocked plan (several terms).  Each is checked against
central differences of the criterion (the definition), and the paths against each
other where more than one applies, at the optimum, at random interior points and on
the boundary (a zero diagonal of T, as in singular fits).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import case_ids, fitted_case

from mlm_jupyter.engine.dense import DenseKernel
from mlm_jupyter.engine.gradient import criterion_parts
from mlm_jupyter.engine.objective import ProfiledDeviance, unscaled_vcov

MULTI = ["sleep_uncorr_reml", "pastes_nested", "penicillin_crossed", "hsb_uncorr_female",
         "egsingle_3level", "egsingle_3level_int", "crossed_slope", "crossed_int"]
SINGLE = ["sleep_slope_reml", "hsb_crosslevel", "categorical3_school", "singular_slope",
          "noint_slope_two"]


def central_difference(obj: ProfiledDeviance, theta: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Two-sided differences, second-order one-sided where θ sits on its bound.

    Values come from the blocked factorisation (the definition of the criterion), not
    from whichever fast path ``obj(θ)`` would take.
    """

    def criterion(t: np.ndarray) -> float:
        return obj.from_factor(obj.factor(t))

    grad = np.empty_like(theta)
    for i in range(theta.size):
        up, down = theta.copy(), theta.copy()
        step = h * max(1.0, abs(theta[i]))
        up[i] += step
        if obj.lower[i] == 0 and theta[i] - step < 0:
            # Second-order one-sided difference: the curvature near 0 is large.
            up2 = theta.copy()
            up2[i] += 2 * step
            grad[i] = (-3 * criterion(theta) + 4 * criterion(up) - criterion(up2)) / (2 * step)
        else:
            down[i] -= step
            grad[i] = (criterion(up) - criterion(down)) / (2 * step)
    return grad


def points(res) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    theta = np.asarray(res.engine_theta, dtype=float)  # the engine's units
    interior = theta + rng.uniform(0.05, 0.4, theta.size)
    boundary = interior.copy()
    first_diag = int(np.flatnonzero(res.engine.lower == 0)[0])
    boundary[first_diag] = 0.0
    return [theta, interior, boundary]


def assert_close_gradient(analytic: np.ndarray, numeric: np.ndarray) -> None:
    # Central differences of a ~1e3-1e4 criterion with h = 1e-5 carry ~1e-6 absolute
    # error; the analytic gradient must agree to that, relative to the gradient's scale.
    scale = 1.0 + np.max(np.abs(numeric))
    assert np.max(np.abs(analytic - numeric)) / scale < 2e-5


@pytest.mark.parametrize("case", MULTI)
def test_blocked_gradient_matches_differences(case: str) -> None:
    res = fitted_case(case)
    obj = res.engine
    assert obj.cp.m_rest > 0
    for theta in points(res):
        parts = criterion_parts(obj, theta)
        assert parts.value == pytest.approx(obj.from_factor(obj.factor(theta)), abs=1e-8)
        assert_close_gradient(parts.gradient, central_difference(obj, theta))


@pytest.mark.parametrize("case", MULTI + SINGLE)
def test_dense_kernel_matches_blocked_paths(case: str) -> None:
    res = fitted_case(case)
    obj = res.engine
    kernel = DenseKernel.build(obj.cp)
    for theta in points(res):
        dense = kernel.parts(theta, obj.reml, obj.cp.n)
        f = obj.factor(theta)
        assert dense.value == pytest.approx(obj.from_factor(f), abs=1e-8)
        assert kernel.value(theta, obj.reml, obj.cp.n) == pytest.approx(dense.value, abs=1e-10)
        blocked = criterion_parts(obj, theta) if obj.cp.m_rest else obj._single_term_parts(theta)
        for name in ("logdet", "r2", "grad_logdet", "grad_r2", "vcov_unscaled"):
            np.testing.assert_allclose(getattr(dense, name), getattr(blocked, name),
                                       rtol=1e-7, atol=1e-7, err_msg=name)
        blocked_vcov = unscaled_vcov(f, obj.cp.m_rest, obj.cp.p)
        # The engine's X has orthogonal columns: off-diagonals are ~0, compared absolutely.
        np.testing.assert_allclose(dense.vcov_unscaled, blocked_vcov, rtol=1e-9,
                                   atol=1e-12 * np.abs(blocked_vcov).max())


@pytest.mark.parametrize("case", SINGLE)
def test_single_term_gradient_matches_differences(case: str) -> None:
    res = fitted_case(case)
    obj = res.engine
    for theta in points(res):
        assert_close_gradient(obj._single_term_parts(theta).gradient,
                              central_difference(obj, theta))


def test_every_reference_model_has_an_exact_gradient() -> None:
    for case in case_ids():
        assert fitted_case(case).engine.has_gradient, case


def test_gradient_is_zero_at_lme4_optimum_in_scaled_terms() -> None:
    # At the optimum every free parameter's gradient is ~0 (lme4's scaled check < 2e-3).
    for case in MULTI:
        res = fitted_case(case)
        assert res.optimization.max_scaled_gradient < 2e-3, case


@pytest.mark.parametrize("case", ["hsb_crosslevel", "egsingle_3level", "noint_slope_two"])
def test_column_sign_flips_leave_the_criterion_unchanged(case: str) -> None:
    # The optimiser drops the 0 bound on the diagonals of multi-column terms because the
    # criterion depends on T only through TT'; canonical_theta restores lme4's convention.
    from mlm_jupyter.engine.objective import canonical_theta
    from mlm_jupyter.engine.theta import lower_tri_index

    res = fitted_case(case)
    obj = res.engine
    theta = np.asarray(res.engine_theta, dtype=float)
    flipped = theta.copy()
    start = 0
    for term in obj.cp.terms:
        rows, cols = lower_tri_index(term.q)
        seg = flipped[start : start + term.n_theta]
        seg[cols == 0] *= -1.0  # flip the first column of every T_k
        start += term.n_theta
    assert obj(flipped) == pytest.approx(obj(theta), abs=1e-9)
    np.testing.assert_allclose(canonical_theta(obj.cp, flipped), theta, rtol=0, atol=0)


def test_models_without_a_coupling_plan_fall_back_to_bobyqa(monkeypatch) -> None:
    # A coupling pattern too dense to plan (> MAX_TRIPLES) leaves the model without an
    # exact gradient; the derivative-free path must still reach lme4's optimum.
    from conftest import reference_case, reference_data

    import mlm_jupyter as mlm
    from mlm_jupyter.engine import coupling

    monkeypatch.setattr(coupling, "MAX_TRIPLES", 0)
    ref = reference_case("egsingle_3level_int")
    res = mlm.fit(ref["formula"], reference_data(ref["dataset"]), reml=ref["reml"], warn=False)
    assert not res.engine.has_gradient
    assert "BOBYQA" in res.optimization.optimizer
    assert res.objective == pytest.approx(ref["objective"], abs=1e-3)
    np.testing.assert_allclose(res.theta, ref["theta"], rtol=1e-3)

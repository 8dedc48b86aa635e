"""Adaptive Gauss-Hermite quadrature beyond glmer: a vector-valued random effect of one
grouping factor, validated against brute-force quadrature on a fine grid."""

from __future__ import annotations

import warnings
from itertools import product

import numpy as np
import pytest
from glmm_reference import glmm_data, glmm_fit

import mlm_jupyter as mlm
from mlm_jupyter.engine.agq import AGQCriterion, gauss_hermite


def brute_force_loglik(laplace, params, points: int = 161, width: float = 8.0) -> float:
    """log L by the trapezoid rule on a [-width, width]^q grid around each level's mode.

    Independent of the Gauss-Hermite code: the exact N(0, I) density of the spherical
    random effects times the conditional likelihood, summed on a fine regular grid (the
    integrand decays like a Gaussian, so the trapezoid rule converges geometrically).
    """
    term = laplace.system.terms[0]
    mode = laplace.mode(params)
    _, _, family = laplace.split(params)
    T = mode.factor.T[0]
    n_lev, q = term.n_levels, term.q
    u_hat = mode.u.reshape(n_lev, q)
    grid = np.linspace(-width, width, points)
    step = grid[1] - grid[0]
    zt = term.Z @ T
    fixed = mode.eta - np.einsum("na,na->n", zt, u_hat[term.codes])
    total = family.constant
    if family.name == "negative_binomial":
        total += family._theta_terms(family.theta)
    acc = np.full(n_lev, -np.inf)
    for offsets in product(grid, repeat=q):
        u = u_hat + np.asarray(offsets)[None, :]
        rows = family.loglik_rows(fixed + np.einsum("na,na->n", zt, u[term.codes]))
        val = np.bincount(term.codes, weights=rows, minlength=n_lev)
        val += -0.5 * np.einsum("la,la->l", u, u) - 0.5 * q * np.log(2 * np.pi)
        acc = np.logaddexp(acc, val + q * np.log(step))
    return float(total + acc.sum())


def test_product_rule_integrates_normal_moments():
    nodes, logw = gauss_hermite(5, 2)
    w = np.exp(logw)
    assert w.sum() == pytest.approx(1.0)
    assert (w * nodes[:, 0] ** 2).sum() == pytest.approx(1.0)
    assert (w * nodes[:, 0] ** 2 * nodes[:, 1] ** 2).sum() == pytest.approx(1.0)
    assert (w * nodes[:, 1] ** 4).sum() == pytest.approx(3.0)


@pytest.fixture(scope="module")
def slope_model():
    """Binomial counts with a correlated random intercept and slope (q = 2)."""
    return glmm_fit("panel_cbind_slope")


def test_one_node_is_laplace(slope_model):
    state = slope_model.fit_state
    x = slope_model.optimization.params
    agq = AGQCriterion(state.criterion, 1)
    assert agq(x) == pytest.approx(state.criterion(x), abs=1e-9)


def test_vector_quadrature_converges_to_brute_force(slope_model):
    state = slope_model.fit_state
    x = slope_model.optimization.params
    exact = brute_force_loglik(state.criterion, x)
    ks = (1, 3, 7, 11, 15)
    errors = [abs(-0.5 * AGQCriterion(state.criterion, k)(x) - exact) for k in ks]
    assert errors[0] > 1e-2  # the Laplace approximation is visibly off
    assert errors[2] < 5e-5 and errors[3] < 5e-7 and errors[4] < 1e-8
    assert all(b < a for a, b in zip(errors, errors[1:], strict=False))
    # and at a point away from the optimum (a larger slope variance)
    y = x.copy()
    y[:3] *= 1.5
    exact = brute_force_loglik(state.criterion, y)
    assert -0.5 * AGQCriterion(state.criterion, 15)(y) == pytest.approx(exact, abs=1e-7)


def test_vector_quadrature_fit_maximises_the_quadrature_likelihood():
    df = glmm_data("panel_cbind_slope").copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("cbind(success, trials - success) ~ trt * time + (1 + time | id)", df,
                      family="binomial", nagq=7)
    laplace = glmm_fit("panel_cbind_slope")
    assert res.nagq == 7 and res.converged
    # the log-likelihood reported follows glmer's nAGQ > 1 convention; loglik_full is the
    # integral itself, checked at the optimum by brute force
    exact = brute_force_loglik(res.fit_state.criterion, res.optimization.params)
    assert res.loglik_full == pytest.approx(exact, abs=1e-4)  # 7 points: error ~2e-5
    assert res.loglik - res.loglik_full == pytest.approx(
        -res.fit_state.family.saturated_loglik(), abs=1e-9)
    assert res.loglik_full != pytest.approx(laplace.loglik, abs=1e-3)
    assert np.max(np.abs(res.fixef - laplace.fixef)) < 0.05
    assert np.all(np.abs(res.optimization.gradient) < 1e-2)


@pytest.mark.parametrize("case_id", ["panel_cbind_slope", "doses_cloglog", "sites_negbin"])
def test_quadrature_gradient_is_exact(case_id):
    """The quadrature's analytic gradient (node placement differentiated too) against
    central differences, away from the optimum; one node reproduces the Laplace gradient."""
    res = glmm_fit(case_id)
    state = res.fit_state
    x = res.optimization.params + 0.05
    one = AGQCriterion(state.criterion, 1).value_and_gradient(x)[1]
    np.testing.assert_allclose(one, state.criterion.value_and_gradient(x)[1], rtol=1e-6,
                               atol=1e-6)
    crit = AGQCriterion(state.criterion, 5)
    _, g = crit.value_and_gradient(x)
    for i in range(x.size):
        h = 1e-4 * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        fd = (crit(up) - crit(down)) / (2 * h)
        assert fd == pytest.approx(g[i], rel=1e-5, abs=1e-4)

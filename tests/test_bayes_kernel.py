"""The Bayesian log density: marginal likelihood against brute force and the engine, exact
gradients against finite differences, the compiled kernel against the NumPy one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlm_jupyter as mlm
from mlm_jupyter.bayes.correlation import cholesky_corr, log_density_and_vjp
from mlm_jupyter.bayes.engine_link import build_link
from mlm_jupyter.bayes.kernel import Blocks, GaussianPrior, marginal, marginal_numpy, prior_terms
from mlm_jupyter.bayes.names import parameter_names
from mlm_jupyter.bayes.posterior import LogPosterior
from mlm_jupyter.bayes.priors import resolve_priors
from mlm_jupyter.engine.theta import unpack_theta

pytest.importorskip("numba")

REF = Path(__file__).parent / "reference"


def _toy(seed: int = 0, nl: int = 12, q: int = 2, p: int = 3, per: int = 6):
    rng = np.random.default_rng(seed)
    n = nl * per
    codes = np.repeat(np.arange(nl), per)
    Z = np.column_stack([np.ones(n)] + [rng.normal(size=n) for _ in range(q - 1)])
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    y = rng.normal(size=n) + Z[:, -1] * rng.normal(size=nl)[codes]
    W = np.column_stack([X, y])
    A = np.stack([Z[codes == j].T @ Z[codes == j] for j in range(nl)])
    G = np.stack([Z[codes == j].T @ W[codes == j] for j in range(nl)])
    return Blocks(A, G, W.T @ W, n), (Z, X, y, codes)


def _brute(blocks, raw, lam, tau, prior):
    """log ∫ N(y | Xβ, σ²(I + ZΛΛ'Z')) N(β̃) dβ with dense n x n matrices."""
    Z, X, y, codes = raw
    n, q = Z.shape
    nl = codes.max() + 1
    Zf = np.zeros((n, nl * q))
    for j in range(nl):
        Zf[codes == j, j * q:(j + 1) * q] = Z[codes == j]
    Lf = np.kron(np.eye(nl), lam)
    V = (np.eye(n) + Zf @ Lf @ Lf.T @ Zf.T) / tau
    Vi = np.linalg.inv(V)
    pi, d = prior.prec, prior.mean - prior.c
    H = X.T @ Vi @ X + prior.E.T @ (pi[:, None] * prior.E)
    h = X.T @ Vi @ y + prior.E.T @ (pi * d)
    quad = y @ Vi @ y + d @ (pi * d) - h @ np.linalg.solve(H, h)
    return (-0.5 * np.linalg.slogdet(V)[1] - 0.5 * quad
            - 0.5 * np.linalg.slogdet(H)[1] + 0.5 * np.log(pi[pi > 0]).sum())


@pytest.mark.parametrize("q", [1, 2, 3])
def test_marginal_equals_dense_integral_and_gradients_are_exact(q):
    blocks, raw = _toy(q=q)
    rng = np.random.default_rng(q)
    p = blocks.p
    prior = GaussianPrior(rng.normal(size=(p, p)), rng.normal(size=p), rng.normal(size=p),
                          np.array([0.5, 0.0, 2.0]))
    lam, tau = rng.normal(size=(q, q)), 0.7
    m = marginal(blocks, lam, tau, prior)
    # the value up to a constant: differences between two points match the brute force
    other = (1.3 * lam, 0.4, prior.with_precision(prior.prec * 2.0))
    assert m.value - marginal(blocks, *other).value == pytest.approx(
        _brute(blocks, raw, lam, tau, prior) - _brute(blocks, raw, *other), abs=1e-8)
    h = 1e-6
    num = np.zeros((q, q))
    for i in range(q):
        for k in range(q):
            e = np.zeros((q, q))
            e[i, k] = h
            num[i, k] = (marginal(blocks, lam + e, tau, prior).value
                         - marginal(blocks, lam - e, tau, prior).value) / (2 * h)
    np.testing.assert_allclose(m.grad_lam, num, rtol=1e-6, atol=1e-6)
    num_tau = (marginal(blocks, lam, tau + h, prior).value
               - marginal(blocks, lam, tau - h, prior).value) / (2 * h)
    assert m.grad_tau == pytest.approx(num_tau, rel=1e-6)
    for k in (0, 2):
        e = np.zeros(p)
        e[k] = h
        num_k = (marginal(blocks, lam, tau, prior.with_precision(prior.prec + e)).value
                 - marginal(blocks, lam, tau, prior.with_precision(prior.prec - e)).value) / (2 * h)
        assert m.grad_prec[k] == pytest.approx(num_k, rel=1e-5)
    ref = marginal_numpy(blocks, lam, tau, prior)  # the compiled kernel equals the reference
    assert m.value == pytest.approx(ref.value, abs=1e-9)
    np.testing.assert_allclose(m.grad_lam, ref.grad_lam, rtol=1e-10, atol=1e-10)
    # the prior's terms computed once give the same value and gradients
    fixed = marginal(blocks, lam, tau, prior, prior_terms(prior, p), prec_gradient=False)
    assert fixed.value == m.value and fixed.grad_tau == m.grad_tau
    np.testing.assert_array_equal(fixed.grad_lam, m.grad_lam)


def _fit(name: str, formula: str, group: str):
    data = pd.read_csv(REF / "data" / name, dtype={group: str})
    return mlm.fit(formula, data, warn=False)


def test_flat_prior_marginal_is_the_engines_reml_criterion():
    """With flat priors on β the marginal likelihood is lme4's REML likelihood: the same
    log-determinants and penalised RSS as the engine's profiled criterion, and gradients."""
    res = _fit("hsb.csv", "mathach ~ cses * catholic + meanses + (1 + cses | school)", "school")
    link = build_link(res)
    p = res.design.p
    prior = GaussianPrior(np.eye(p), np.zeros(p), np.zeros(p), np.zeros(p))
    rng = np.random.default_rng(5)
    for _ in range(3):
        theta = res.engine_theta * (1 + 0.3 * rng.uniform(-1, 1, size=3))
        T = unpack_theta(theta, res.engine.cp)[0]
        tau = float(rng.uniform(0.5, 2.0))
        parts = res.engine.gradient_parts(theta)
        m = marginal(link.blocks, T, tau, prior)
        m2 = marginal(link.blocks, T * 1.1, tau * 0.9, prior)
        p2 = res.engine.gradient_parts(theta * 1.1)
        def f(pt, t):
            return -0.5 * pt.logdet + 0.5 * (res.nobs - p) * np.log(t) - 0.5 * t * pt.r2

        assert m.value - m2.value == pytest.approx(f(parts, tau) - f(p2, tau * 0.9), rel=1e-9)
        rows, cols = np.tril_indices(2)
        order = np.lexsort((rows, cols))  # lme4's column-major lower triangle
        grad = (-0.5 * parts.grad_logdet - 0.5 * tau * parts.grad_r2)
        np.testing.assert_allclose(m.grad_lam[rows[order], cols[order]], grad, rtol=1e-7)


def _check_gradient(lp: LogPosterior, zeta: np.ndarray) -> None:
    value, grad = lp(zeta)
    assert np.isfinite(value)
    h = 1e-6
    num = np.array([(lp(zeta + h * e)[0] - lp(zeta - h * e)[0]) / (2 * h)
                    for e in np.eye(zeta.size)])
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(num).max()))


@pytest.mark.parametrize("formula, data, group, priors", [
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy.csv", "Subject",
     {"b": "normal(0, 10)", "sd": "student_t(3, 0, 10)", "cor": "lkj(2)",
      "sigma": "gamma(2, 0.1)"}),
    ("Reaction ~ Days + (Days + I(Days^2) | Subject)", "sleepstudy.csv", "Subject",
     {"Intercept": "student_t(3, 250, 30)", "b": "cauchy(0, 5)", "sd": "lognormal(2, 1)",
      "cor": "lkj(1.5)", "sigma": "inv_gamma(3, 40)"}),
    ("diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin.csv", "plate", None),
    ("Reaction ~ Days + (Days || Subject)", "sleepstudy.csv", "Subject",
     {"sd_Subject__Days": "exponential(0.2)", "b_Days": "normal(10, 5)"}),
])
def test_log_posterior_gradient_is_exact(formula, data, group, priors):
    frame = pd.read_csv(REF / "data" / data, dtype={group: str, "sample": str})
    res = mlm.fit(formula, frame, warn=False)
    names = parameter_names(res.design)
    lp = LogPosterior(build_link(res), names, resolve_priors(priors, res.design, names))
    rng = np.random.default_rng(2)
    zeta = rng.normal(scale=0.4, size=lp.dim)
    zeta[: lp.n_sd] += np.log(np.maximum(res.varcorr["sdcor"].to_numpy()[: lp.n_sd], 1.0))
    zeta[lp.i_sigma] = np.log(res.sigma)
    _check_gradient(lp, zeta)


def test_correlation_transform_is_a_correlation_factor_with_stans_jacobian():
    rng = np.random.default_rng(4)
    q = 4
    z = rng.normal(size=q * (q - 1) // 2)
    L = cholesky_corr(z, q)
    np.testing.assert_allclose(np.sum(L**2, axis=1), 1.0)
    assert np.all(np.diag(L) > 0)
    # the log density on z is log|∂Ω/∂z| + LKJ(η): check its gradient and, for η = 1, that
    # it equals the log-Jacobian computed by finite differences of the map z -> Ω's lower part
    eta = 1.0
    logp, grad = log_density_and_vjp(z, q, eta, np.zeros((q, q)), L)
    rows, cols = np.tril_indices(q, -1)
    h = 1e-6
    J = np.empty((z.size, z.size))
    for i in range(z.size):
        e = np.zeros(z.size)
        e[i] = h
        up, down = cholesky_corr(z + e, q), cholesky_corr(z - e, q)
        J[:, i] = ((up @ up.T)[rows, cols] - (down @ down.T)[rows, cols]) / (2 * h)
    z2 = z * 0.5
    L2 = cholesky_corr(z2, q)
    J2 = np.empty_like(J)
    for i in range(z.size):
        e = np.zeros(z.size)
        e[i] = h
        up, down = cholesky_corr(z2 + e, q), cholesky_corr(z2 - e, q)
        J2[:, i] = ((up @ up.T)[rows, cols] - (down @ down.T)[rows, cols]) / (2 * h)
    logp2, _ = log_density_and_vjp(z2, q, eta, np.zeros((q, q)), L2)
    assert logp - logp2 == pytest.approx(
        np.linalg.slogdet(J)[1] - np.linalg.slogdet(J2)[1], abs=1e-6)
    num = np.array([(log_density_and_vjp(z + h * e, q, 2.5, np.zeros((q, q)),
                                         cholesky_corr(z + h * e, q))[0]
                     - log_density_and_vjp(z - h * e, q, 2.5, np.zeros((q, q)),
                                           cholesky_corr(z - h * e, q))[0]) / (2 * h)
                    for e in np.eye(z.size)])
    np.testing.assert_allclose(log_density_and_vjp(z, q, 2.5, np.zeros((q, q)), L)[1], num,
                               rtol=1e-6, atol=1e-6)

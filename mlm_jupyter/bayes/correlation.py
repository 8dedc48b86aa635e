"""Correlation matrices from unconstrained numbers (Stan's canonical partial correlations).

Row i of the Cholesky factor L of a q x q correlation matrix Ω = LL' is built from the
partial correlations y_ik = tanh(z_ik), k < i:

    L_ik = y_ik Π_{m<k} √(1 - y_im²),      L_ii = Π_{m<i} √(1 - y_im²),

exactly as Stan's ``cholesky_factor_corr`` transform (so brms' ``lkj_corr_cholesky`` prior
reads the same).  With a_im = ½ log(1 - y_im²): ∂L_ik/∂z_ik = (1 - y_ik²) Π_{m<k}√(1-y_im²)
and ∂L_ij/∂z_im = -y_im L_ij for m < j ≤ i, which gives the vector-Jacobian product below.
The log Jacobian of z -> Ω is Σ_{i>k} [log(1 - y_ik²) + Σ_{m<k} a_im]; the LKJ(η) density of
Ω written on L is Σ_{i≥1} (q - i - 1 + 2(η - 1)) log L_ii.
"""

from __future__ import annotations

import numpy as np


def log1m_tanh2(z: np.ndarray) -> np.ndarray:
    """log(1 - tanh(z)²) = 2 log sech z, without the cancellation of 1 - tanh² at large |z|."""
    a = np.abs(z)
    return 2.0 * (np.log(2.0) - a - np.log1p(np.exp(-2.0 * a)))


def tri_pairs(q: int) -> list[tuple[int, int]]:
    """(i, k) with k < i, row by row: the order of the unconstrained z."""
    return [(i, k) for i in range(1, q) for k in range(i)]


def cholesky_corr(z: np.ndarray, q: int) -> np.ndarray:
    """L from z (shape (..., q(q-1)/2)), shape (..., q, q); vectorised over leading axes."""
    z = np.asarray(z, dtype=float)
    y = np.tanh(z)
    L = np.zeros(z.shape[:-1] + (q, q))
    L[..., 0, 0] = 1.0
    pos = 0
    for i in range(1, q):
        remain = np.ones(z.shape[:-1])
        for k in range(i):
            L[..., i, k] = y[..., pos] * np.sqrt(remain)
            remain = remain * (1.0 - y[..., pos] ** 2)
            pos += 1
        L[..., i, i] = np.sqrt(remain)
    return L


def log_density_and_vjp(z: np.ndarray, q: int, eta: float, grad_L: np.ndarray,
                        L: np.ndarray) -> tuple[float, np.ndarray]:
    """(log Jacobian + log LKJ(η)) and ∂/∂z of (that + ⟨grad_L, L⟩), for one z and its L."""
    if q == 2:
        # one partial correlation: L = [[1, 0], [y, √(1 - y²)]]
        y = float(np.tanh(z[0]))
        a = 0.5 * float(log1m_tanh2(z[0]))
        g = (grad_L[1, 0] * (1.0 - y * y) - y * grad_L[1, 1] * L[1, 1]
             - (2.0 + 2.0 * (eta - 1.0)) * y)
        return 2.0 * a + 2.0 * (eta - 1.0) * a, np.array([g])
    y = np.tanh(z)
    grad = np.zeros_like(z)
    logp = 0.0
    pos = 0
    for i in range(1, q):
        start = pos
        log_one_minus = log1m_tanh2(z[start : start + i])
        one_minus = np.exp(log_one_minus)
        a = 0.5 * log_one_minus
        lkj_coef = q - i - 1 + 2.0 * (eta - 1.0)
        logp += float(log_one_minus.sum() + sum(a[:k].sum() for k in range(i)))
        logp += lkj_coef * float(a.sum())  # log L_ii = Σ_m a_im
        for k in range(i):
            m = start + k
            # chain through L: own entry, and every later entry of the row (incl. diagonal)
            g = grad_L[i, k] * one_minus[k] * np.exp(a[:k].sum())
            g -= y[m] * float(np.dot(grad_L[i, k + 1 : i + 1], L[i, k + 1 : i + 1]))
            # Jacobian: -2y from log(1 - y²), -y from each a_im with m < k' < i; LKJ term
            g += -2.0 * y[m] - y[m] * (i - k - 1) - lkj_coef * y[m]
            grad[m] = g
        pos += i
    return logp, grad

"""A starting θ for expensive models of several scalar random terms, from one-term fits.

lme4 starts every fit at θ = 1.  When one evaluation factors a dense rest block of
thousands of rows (crossed designs such as three factors of 5,000 levels), each
evaluation saved is seconds.  For random-intercept (or single-column) terms the one-term
model y = Xβ + Z_k u_k + e has an exact profiled criterion that costs O(levels · p²) from
the cross-products already computed (Z_k'Z_k is diagonal), so each term's variance is
estimated on its own first:

    σ̂²_(k), θ̂_(k) = argmin of the one-term criterion,    v_k = θ̂²_(k) σ̂²_(k),

where σ̂²_(k) absorbs the other terms' variance, c_l v_l per observation with
c_l = tr(Z_l'Z_l)/n.  Hence σ² ≈ mean_k (σ̂²_(k) - Σ_{l≠k} c_l v_l) and θ_k = √v_k / σ.
This only chooses where the search starts: the optimum is the full criterion's, verified
as every other (:mod:`.verify`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from .blocks import CrossProducts

#: θ search interval of the one-term fits (engine units, where θ is of order 1).
THETA_MAX = 50.0
#: σ² below this fraction of the smallest one-term residual variance: no usable start.
MIN_SIGMA_FRACTION = 0.02


def _term_moments(cp: CrossProducts, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal of Z_k'Z_k and [X y]'Z_k (p+1, levels) for scalar term k."""
    if k == 0:
        return cp.A11[:, 0, 0], cp.D[:, :, 0]
    term, m_r = cp.terms[k], cp.m_rest
    idx = np.arange(term.offset, term.offset + term.n_levels)
    return cp.A22[idx, idx], cp.A22[m_r:, idx]


def one_term_criterion(a: np.ndarray, C: np.ndarray, XY: np.ndarray, n: int, p: int,
                       reml: bool, theta: float) -> tuple[float, float]:
    """Profiled criterion of y = Xβ + z u + e at θ, and its σ̂² (exact, O(levels p²)).

    ``a``: diagonal of Z'Z; ``C``: [X y]'Z (p+1, levels); ``XY``: [X y]'[X y].
    """
    t2 = theta * theta
    m = t2 * a + 1.0
    schur = XY - (C * (t2 / m)) @ C.T
    try:
        L = np.linalg.cholesky(schur)
    except np.linalg.LinAlgError:
        return np.inf, np.nan
    r2 = L[-1, -1] ** 2
    dof = n - p if reml else n
    logdet = float(np.log(m).sum())
    if reml:
        logdet += 2.0 * float(np.log(np.diag(L)[:p]).sum())
    if r2 <= 0 or dof <= 0:
        return np.inf, np.nan
    return logdet + dof * (1.0 + np.log(2 * np.pi) + np.log(r2 / dof)), r2 / dof


def moment_start(cp: CrossProducts, reml: bool) -> np.ndarray | None:
    """θ from one-term fits (see the module), or None when a term is not scalar or the
    estimates leave no positive residual variance (then lme4's start is used)."""
    if len(cp.terms) < 2 or any(t.q != 1 for t in cp.terms):
        return None
    n, p, m_r = cp.n, cp.p, cp.m_rest
    XY = cp.A22[m_r:, m_r:]
    v, s2, c = [], [], []
    for k in range(len(cp.terms)):
        a, C = _term_moments(cp, k)
        best = minimize_scalar(lambda t, a=a, C=C: one_term_criterion(a, C, XY, n, p, reml, t)[0],
                               bounds=(0.0, THETA_MAX), method="bounded",
                               options={"xatol": 1e-4})
        theta = float(best.x)
        sigma2 = one_term_criterion(a, C, XY, n, p, reml, theta)[1]
        if not np.isfinite(sigma2):
            return None
        v.append(theta * theta * sigma2)
        s2.append(sigma2)
        c.append(float(a.sum()) / n)
    v_arr, c_arr = np.array(v), np.array(c)
    other = (c_arr * v_arr).sum() - c_arr * v_arr
    sigma2 = float(np.mean(np.array(s2) - other))
    if not np.isfinite(sigma2) or sigma2 < MIN_SIGMA_FRACTION * min(s2):
        return None
    return np.sqrt(v_arr / sigma2)

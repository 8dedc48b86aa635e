"""Covariance of a GLMM's fixed effects: glmer's Hessian-based default and the R_X one.

glmer's ``vcov(m)`` inverts the Hessian H of the deviance over all parameters (θ, β):
V = 2 [H⁻¹]_ββ, so it accounts for the estimation of θ (lme4 differences the deviance
with a fixed step of 1e-4; here H comes from central differences of the exact gradient,
on the internally scaled β̃, and is mapped back: V = A Ṽ A').  ``vcov(m, use.hessian =
FALSE)`` is the inverse of the Schur complement of the PIRLS system, conditional on θ:

    V_RX = (X'WX - X'WZΛ A⁻¹ Λ'Z'WX)⁻¹,   W the Fisher weights at the conditional modes.

For the negative binomial θ_nb is held fixed (glmer.nb's final fit is a glmer fit at θ̂_nb).
"""

from __future__ import annotations

import numpy as np

from .glmm_fit import GLMMFit


def rx_vcov(fit: GLMMFit) -> np.ndarray:
    """V_RX in the user's units."""
    crit, mode = fit.criterion, fit.mode
    system = crit.system
    W = mode.rows.weight
    Xs = crit.X
    C = system.lambda_t_z_t(mode.factor.T, Xs * W[:, None])  # (m, p)
    AinvC = system.solve(mode.factor, C)
    schur = Xs.T @ (Xs * W[:, None]) - C.T @ AinvC
    V = np.linalg.inv(0.5 * (schur + schur.T))
    return fit.scaling.cov_to_user(V)


def hessian_vcov(fit: GLMMFit) -> np.ndarray | None:
    """glmer's default V = 2 [H⁻¹]_ββ in the user's units; None if H is not positive definite.

    H is the optimiser's final Hessian over the free parameters (θ diagonals at 0 are
    left out: at a boundary the deviance is even in them, so their cross-derivatives
    with β vanish).
    """
    rec = fit.record
    crit = fit.criterion
    free = rec.free
    n_theta, p = crit.n_theta, crit.p
    keep = [i for i, k in enumerate(free) if k < n_theta + p]  # θ_nb held fixed
    H = rec.hessian[np.ix_(keep, keep)]
    beta_pos = [i for i, k in enumerate(free[keep]) if n_theta <= k < n_theta + p]
    if len(beta_pos) != p:
        return None
    try:
        np.linalg.cholesky(H)
        Hinv = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return None
    V = 2.0 * Hinv[np.ix_(beta_pos, beta_pos)]
    V = 0.5 * (V + V.T)
    if not np.all(np.isfinite(V)) or np.any(np.diag(V) <= 0):
        return None
    return fit.scaling.cov_to_user(V)

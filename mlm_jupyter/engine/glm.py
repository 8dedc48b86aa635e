"""Fixed-effects-only GLM fits: the GLMM's starting values (as glmer's ``glm.fit`` start).

IRLS from R's ``mustart`` (``(w y + 0.5) / (w + 1)`` for the binomial, ``y + 0.1`` for
counts), with step halving on the deviance.  The negative binomial starts from the
Poisson fit and ``MASS::theta.ml``'s estimate of θ at its means.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .families import Family, link_function


def glm_start(family: Family, X: np.ndarray, offset: np.ndarray, max_iter: int = 50):
    """β of the GLM without random effects (and the linear predictor it gives).

    Returns
    -------
    beta : ndarray (p,)
    eta : ndarray (n,)
    """
    y, w = family.y, family.weights
    mu = (w * y + 0.5) / (w + 1.0) if family.name == "binomial" else y + 0.1
    eta = link_function(family.link, mu)
    if X.shape[1] == 0:
        return np.zeros(0), offset.copy()
    rows = family.terms(eta)
    previous, loglik = None, -np.inf
    for _ in range(max_iter):
        z = eta - offset + rows.score / np.maximum(rows.weight, 1e-300)
        target = _weighted_ls(X, z, rows.weight)
        step = 1.0
        while True:
            beta = target if previous is None else previous + step * (target - previous)
            eta_new = offset + X @ beta
            rows_new = family.terms(eta_new)
            if np.isfinite(rows_new.loglik) and rows_new.loglik >= loglik - 1e-10 * abs(loglik):
                break
            step *= 0.5
            if previous is None or step < 1e-8:
                return (previous if previous is not None else np.zeros(X.shape[1])), eta
        gain = rows_new.loglik - loglik
        previous, eta, rows, loglik = beta, eta_new, rows_new, rows_new.loglik
        if gain < 1e-10 * (abs(loglik) + 0.1):
            break
    return previous, eta


def _weighted_ls(X: np.ndarray, z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least squares by the normal equations (X is centred and scaled: well
    conditioned), with a least-squares fallback."""
    w = np.maximum(w, 0.0)
    Xw = X * w[:, None]
    try:
        return np.linalg.solve(Xw.T @ X, Xw.T @ z)
    except np.linalg.LinAlgError:
        sw = np.sqrt(w)
        coef, *_ = np.linalg.lstsq(X * sw[:, None], z * sw, rcond=None)
        return coef


def theta_ml(y: np.ndarray, mu: np.ndarray, weights: np.ndarray, max_iter: int = 25) -> float:
    """``MASS::theta.ml``: the NB shape θ maximising the likelihood at means μ (Newton)."""
    n = weights.sum()
    theta = n / float(np.dot(weights, (y / mu - 1.0) ** 2))
    if not np.isfinite(theta) or theta <= 0:
        theta = 1.0
    for _ in range(max_iter):
        score = float(np.dot(weights, special.digamma(theta + y) - special.digamma(theta)
                             + np.log(theta) + 1 - np.log(theta + mu) - (y + theta) / (mu + theta)))
        info = float(np.dot(weights, -special.polygamma(1, theta + y) + special.polygamma(1, theta)
                            - 1 / theta + 2 / (mu + theta) - (y + theta) / (mu + theta) ** 2))
        step = score / info
        new = theta + step
        if new <= 0:
            new = theta / 2
        if abs(new - theta) < 1e-8 * theta:
            theta = new
            break
        theta = new
    return float(np.clip(theta, 1e-3, 1e6))

"""Penalised iteratively reweighted least squares: the conditional modes of a GLMM.

For fixed (θ, β) the spherical random effects u ~ N(0, I) have the conditional mode

    û = argmin_u  G(u),   G(u) = -2 ℓ(y | η) + u'u,   η = offset + Xβ + ZΛθ u,

found by Fisher scoring with step halving (lme4's PIRLS): with score s and Fisher weights
W at the current η, the step δ solves A δ = Λ'Z's - u, A = Λ'Z'WZΛ + I.  For non-canonical
links the step uses the observed weights -∂²ℓ/∂η² where they are positive (Newton's
method, quadratic convergence); the mode's A is always refactored at Fisher weights.  Unlike glmer's
default (which stops when G changes by < 1e-7 relative), the iteration runs until the
Newton decrement (the predicted decrease of G) is at rounding level, so the Laplace
criterion and its gradient are those of the exact mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .families import Family, RowTerms
from .resystem import RandomEffectsSystem, SystemFactor
from .rowops import dot

# Relative to 1 + |G|: the step's predicted decrease of G.  At 1e-16 the remaining error of
# û moves F by ~1e-16 |F| and its gradient (envelope theorem) by ~1e-8 |∇_u G|-scale:
# far below what the optimiser and the differenced Hessian resolve.
DECREMENT_TOL = 1e-16
MAX_ITER = 100


@dataclass(frozen=True)
class Mode:
    """The conditional mode at one (θ, β) with everything evaluated there."""

    u: np.ndarray  # stacked spherical modes
    eta: np.ndarray
    rows: RowTerms  # μ, score, Fisher weights, log-likelihood at η
    factor: SystemFactor  # A at the mode's weights
    penalised: float  # G(û)
    iterations: int
    converged: bool

    @property
    def laplace(self) -> float:
        """-2 × the Laplace approximation of the marginal log-likelihood."""
        return self.penalised + self.factor.logdet


def pirls(
    system: RandomEffectsSystem,
    T: tuple[np.ndarray, ...],
    fixed_eta: np.ndarray,
    family: Family,
    u0: np.ndarray | None = None,
    max_iter: int = MAX_ITER,
) -> Mode | None:
    """Conditional mode û at relative factors ``T`` and fixed part ``fixed_eta``.

    Parameters
    ----------
    system : RandomEffectsSystem
    T : tuple of ndarray
        Lower-triangular relative covariance factor per term.
    fixed_eta : ndarray (n,)
        offset + Xβ.
    family : Family
    u0 : ndarray, optional
        Starting modes (the previous evaluation's: PIRLS then takes one or two steps).

    Returns
    -------
    Mode, or None when A is not positive definite or the likelihood is not finite.
    """
    u = np.zeros(system.m) if u0 is None else np.array(u0, dtype=float)
    eta = fixed_eta + system.z_lambda(T, u)
    rows = family.terms(eta)
    if not np.isfinite(rows.loglik):
        u = np.zeros(system.m)
        eta = fixed_eta.copy()
        rows = family.terms(eta)
        if not np.isfinite(rows.loglik):
            return None
    pen = -2.0 * rows.loglik + dot(u, u)
    previous = np.inf
    converged = False
    newton = not family.canonical
    for it in range(max_iter):
        f = system.factor(T, _step_weights(family, eta, rows) if newton else rows.weight)
        if f is None:
            return None
        rhs = system.lambda_t_z_t(T, rows.score) - u
        delta = system.solve(f, rhs)
        dec = dot(rhs, delta)
        if dec <= DECREMENT_TOL * (1.0 + abs(pen)) or (dec < 1e-14 * (1.0 + abs(pen))
                                                         and dec >= 0.25 * previous):
            # Converged.  The last step is taken and A refactored at it (without a new
            # solve): log|A| depends on û to first order, G only to second.
            if dec > 1e-28 * (1.0 + abs(pen)):
                u_new = u + delta
                eta_new = eta + system.z_lambda(T, delta)
                rows_new = family.terms(eta_new)
                pen_new = -2.0 * rows_new.loglik + dot(u_new, u_new)
                f_new = system.factor(T, rows_new.weight) if np.isfinite(pen_new) else None
                if f_new is not None and pen_new <= pen + 1e-12 * abs(pen):
                    return Mode(u_new, eta_new, rows_new, f_new, pen_new, it + 1, True)
            return _fisher_mode(system, T, u, eta, rows, f if not newton else None, pen, it,
                                True)
        previous = dec
        z_delta = system.z_lambda(T, delta)
        step = 1.0
        for _ in range(40):
            eta_new = eta + step * z_delta
            rows_new = family.terms(eta_new)
            u_new = u + step * delta
            pen_new = -2.0 * rows_new.loglik + dot(u_new, u_new)
            if np.isfinite(pen_new) and pen_new <= pen + 1e-12 * abs(pen):
                break
            step *= 0.5
        else:
            return _fisher_mode(system, T, u, eta, rows, f if not newton else None, pen, it,
                                dec < 1e-8 * (1.0 + abs(pen)))
        u, eta, rows, pen = u_new, eta_new, rows_new, pen_new
    return _fisher_mode(system, T, u, eta, rows, None, pen, max_iter, converged)


def _step_weights(family: Family, eta: np.ndarray, rows: RowTerms) -> np.ndarray:
    """Newton's weights -∂²ℓ/∂η² where positive, Fisher's elsewhere (A stays positive
    definite): for non-canonical links Fisher scoring alone converges only linearly."""
    observed = family.derivatives(eta, rows.mu).observed
    return np.where(observed > 0, observed, rows.weight)


def _fisher_mode(system, T, u, eta, rows, f, pen, iterations, converged) -> Mode | None:
    """The mode with A at Fisher weights (the Laplace criterion's), refactored if needed."""
    if f is None:
        f = system.factor(T, rows.weight)
        if f is None:
            return None
    return Mode(u, eta, rows, f, pen, iterations, converged)

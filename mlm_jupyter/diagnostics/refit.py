"""Fast exact refits without a cluster: subtract its cross-products, warm-start from θ̂.

Deleting cluster j removes its rows from ``[Z X y]'[Z X y]``; the cross-products of the
reduced data are the full ones minus the cluster's own, so a refit never touches the N
rows.  The deleted levels keep zero blocks: their factor block is I (log|I| = 0) and their
conditional modes are 0, so the criterion is exactly lme4's on the reduced data.

The optimum moves little when one of G clusters goes (O(1/G)), so a quasi-Newton
iteration started at θ̂ with the full fit's inverse Hessian (BFGS-updated) converges in
two to four steps; each step costs one gradient (analytic when the engine has it, else
2k evaluations).  Parameters on their bound in the full fit stay there unless the
one-sided derivative says the deletion pulls them off; that case, a step heading for a
bound, or no convergence falls back to the general optimiser started at θ̂.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..engine.blocks import CrossProducts
from ..engine.fit import numeric_gradient, numeric_hessian, optimize
from ..engine.objective import ProfiledDeviance

STEP_TOL = 1e-7  # stop when every |Δθ| < STEP_TOL (1 + |θ|): statistics then exact to ~1e-6
MAX_STEPS = 10
BOUND_TOL = 1e-4  # lme4's singular tolerance: a bounded θ below it is on its bound


def subtract(cp: CrossProducts, part: CrossProducts) -> CrossProducts:
    """Cross-products of the data without the rows that formed ``part``."""
    S = sp.csr_matrix(cp.S - part.S) if cp.S.shape[0] else cp.S
    return CrossProducts(
        A11=cp.A11 - part.A11, S=S, D=cp.D - part.D, A22=cp.A22 - part.A22,
        n=cp.n - part.n, p=cp.p, terms=cp.terms,
    )


def _gradient(obj: ProfiledDeviance, theta: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Gradient of the criterion over the free parameters ``idx``."""
    if getattr(obj, "has_gradient", False):
        return np.asarray(obj.value_and_gradient(theta)[1])[idx]

    def sub(t: np.ndarray) -> float:
        full = theta.copy()
        full[idx] = t
        return obj(full)

    return numeric_gradient(sub, theta[idx], obj.lower[idx])


@dataclass(frozen=True)
class WarmStart:
    """What every deletion refit reuses from the full fit."""

    theta: np.ndarray
    free: np.ndarray  # indices of θ not on a bound
    hessian_inv: np.ndarray | None  # over ``free``; None: use the general optimiser


def warm_start(obj: ProfiledDeviance, theta: np.ndarray) -> WarmStart:
    """Inverse Hessian of the full fit's criterion at θ̂ over the parameters off their bounds."""
    theta = np.asarray(theta, dtype=float)
    free = np.flatnonzero(~((obj.lower == 0) & (theta < BOUND_TOL)))
    if free.size == 0:
        return WarmStart(theta, free, np.zeros((0, 0)))

    def sub(t: np.ndarray) -> float:
        full = theta.copy()
        full[free] = t
        return obj(full)

    H = numeric_hessian(sub, theta[free], sub(theta[free]))
    try:
        np.linalg.cholesky(H)
        Hinv = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return WarmStart(theta, free, None)
    return WarmStart(theta, free, Hinv)


def _leaves_bound(obj: ProfiledDeviance, theta: np.ndarray, free: np.ndarray) -> bool:
    """True when the criterion decreases as some bounded θ_i (= 0) moves into the interior."""
    at_bound = np.setdiff1d(np.flatnonzero(obj.lower == 0), free)
    if at_bound.size == 0:
        return False
    f0 = obj(theta)
    for i in at_bound:
        up = theta.copy()
        up[i] = 1e-3
        if obj(up) < f0 - 1e-10:
            return True
    return False


def refit_theta(obj: ProfiledDeviance, start: WarmStart) -> tuple[np.ndarray, bool]:
    """θ̂ of ``obj`` (a deletion criterion) from the full fit's θ̂ and Hessian.

    Returns (θ, converged).  Steps θ_F ← θ_F - B g_F on the free set F, with B the full
    fit's inverse Hessian refined by BFGS updates (it stays positive definite).
    """
    theta = start.theta.copy()
    free, B = start.free, start.hessian_inv
    if B is not None:
        lower = obj.lower
        if free.size == 0:
            if not _leaves_bound(obj, theta, free):
                return theta, True
        else:
            g = _gradient(obj, theta, free)
            for _ in range(MAX_STEPS):
                step = -B @ g
                new = theta.copy()
                new[free] += step
                to_bound = (lower == 0) & (new < BOUND_TOL) & (theta >= BOUND_TOL)
                if not np.all(np.isfinite(new)) or np.any(to_bound):
                    break  # heading for a bound: let the bounded optimiser decide
                if np.all(np.abs(step) < STEP_TOL * (1 + np.abs(theta[free]))):
                    if _leaves_bound(obj, new, free):
                        theta = new
                        break
                    return new, True
                g_new = _gradient(obj, new, free)
                y = g_new - g
                sy = float(step @ y)
                if sy > 1e-300:
                    rho = 1.0 / sy
                    V = np.eye(free.size) - rho * np.outer(step, y)
                    B = V @ B @ V.T + rho * np.outer(step, step)
                theta, g = new, g_new
    record = optimize(obj, theta0=theta if np.isfinite(obj(theta)) else start.theta)
    return record.theta, record.converged

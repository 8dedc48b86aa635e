"""Minimise the profiled objective over θ, with lme4's boundary and convergence rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from .objective import ProfiledDeviance, theta_start

SINGULAR_TOL = 1e-4  # lme4's isSingular(): a bounded θ below this is on the boundary
GRAD_TOL = 2e-3  # lme4's check.conv.grad tolerance on the scaled gradient


@dataclass(frozen=True)
class OptimizationRecord:
    """How the optimum was found (kept on the result for transparency)."""

    theta0: np.ndarray
    theta: np.ndarray
    objective: float
    n_evals: int
    optimizer: str
    converged: bool
    max_scaled_gradient: float
    message: str


def _step(theta: np.ndarray, i: int) -> float:
    return 1e-5 * max(1.0, abs(theta[i]))


def numeric_gradient(f, theta: np.ndarray, lower: np.ndarray, f0: float | None = None) -> np.ndarray:
    """Central differences; one-sided forward differences at a lower bound."""
    grad = np.empty_like(theta)
    for i in range(theta.size):
        h = _step(theta, i)
        up = theta.copy()
        up[i] += h
        if theta[i] - h < lower[i]:
            base = f(theta) if f0 is None else f0
            grad[i] = (f(up) - base) / h
        else:
            down = theta.copy()
            down[i] -= h
            grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


def numeric_hessian(f, theta: np.ndarray, f0: float, step: float = 1e-4) -> np.ndarray:
    """Symmetric central-difference Hessian (the objective is smooth away from bounds)."""
    k = theta.size
    H = np.empty((k, k))
    hs = step * np.maximum(1.0, np.abs(theta))
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = hs[i]
        H[i, i] = (f(theta + ei) - 2 * f0 + f(theta - ei)) / hs[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = hs[j]
            H[i, j] = H[j, i] = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * hs[i] * hs[j])
    return H


def _polish(obj: ProfiledDeviance, theta: np.ndarray, value: float) -> tuple[np.ndarray, float]:
    """Newton steps on the parameters away from their bounds, kept only when they improve.

    Quasi-Newton stops on a flat optimum slightly early; two Newton steps with a
    central-difference Hessian bring θ to the precision lme4's reference fits have.
    """
    free = ~((obj.lower == 0) & (theta <= 1e-8))
    if not free.any():
        return theta, value
    idx = np.flatnonzero(free)

    def sub(t: np.ndarray) -> float:
        full = theta.copy()
        full[idx] = t
        return obj(full)

    for _ in range(2):
        t0 = theta[idx]
        g = numeric_gradient(sub, t0, obj.lower[idx], value)
        H = numeric_hessian(sub, t0, value)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        candidate = theta.copy()
        candidate[idx] = np.maximum(t0 - step, obj.lower[idx])
        new = obj(candidate)
        if new < value:
            theta, value = candidate, new
        else:
            break
    return theta, value


def _snap_to_boundary(obj: ProfiledDeviance, theta: np.ndarray, value: float) -> tuple[np.ndarray, float]:
    """Set bounded θ that are numerically zero to exactly 0 when that is no worse."""
    near = (obj.lower == 0) & (theta > 0) & (theta < SINGULAR_TOL * 1e-2)
    if near.any():
        candidate = np.where(near, 0.0, theta)
        new = obj(candidate)
        if new <= value + 1e-10:
            return candidate, min(new, value)
    return theta, value


def scaled_gradient(obj: ProfiledDeviance, theta: np.ndarray, value: float) -> float:
    """lme4's convergence measure: max |H^{-1} g| over parameters not on a bound."""
    free = ~((obj.lower == 0) & (theta <= SINGULAR_TOL))
    if not free.any():
        return 0.0
    idx = np.flatnonzero(free)

    def sub(t: np.ndarray) -> float:
        full = theta.copy()
        full[idx] = t
        return obj(full)

    g = numeric_gradient(sub, theta[idx], obj.lower[idx], value)
    H = numeric_hessian(sub, theta[idx], value)
    try:
        scaled = np.linalg.solve(H, g)
    except np.linalg.LinAlgError:
        scaled = g
    return float(np.max(np.abs(scaled)))


def optimize(obj: ProfiledDeviance, theta0: np.ndarray | None = None) -> OptimizationRecord:
    """Minimise ``obj`` over θ subject to lme4's bounds.

    Parameters
    ----------
    obj : ProfiledDeviance
    theta0 : ndarray, optional
        Starting value (default lme4's: identity relative factors).  Warm starts from a
        previous fit make refits (bootstrap, deletion diagnostics) cheap.
    """
    start = theta_start(obj.cp) if theta0 is None else np.asarray(theta0, dtype=float).copy()
    evals0 = obj.n_evals
    lower = obj.lower
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]

    def fun_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value = obj(theta)
        if not np.isfinite(value):
            return 1e300, np.zeros_like(theta)
        return value, numeric_gradient(obj, theta, lower, value)

    res = minimize(
        fun_and_grad, start, jac=True, method="L-BFGS-B", bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-7, "maxls": 40},
    )
    theta, value = np.asarray(res.x, dtype=float), float(res.fun)
    theta, value = _polish(obj, theta, value)
    theta, value = _snap_to_boundary(obj, theta, value)
    max_grad = scaled_gradient(obj, theta, value)
    converged = bool(np.isfinite(value) and max_grad < GRAD_TOL)
    message = "" if converged else (
        f"Model failed to converge with max|grad| = {max_grad:.3g} (tol = {GRAD_TOL}); "
        "try rescaling predictors or simplifying the random-effects structure."
    )
    return OptimizationRecord(
        theta0=start, theta=theta, objective=value, n_evals=obj.n_evals - evals0,
        optimizer="L-BFGS-B + Newton polish", converged=converged,
        max_scaled_gradient=max_grad, message=message,
    )

"""Minimise the profiled objective over θ, with lme4's boundary and convergence rules."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import minimize

from .bobyqa import available as bobyqa_available
from .bobyqa import bobyqa
from .cost import FitCost
from .objective import ProfiledDeviance, canonical_theta, theta_start
from .start import moment_start
from .threads import blas_limit
from .verify import (
    SINGULAR_TOL,
    OptimumCheck,
    check_optimum,
    interior_coordinates,
    remember_hessian,
    scalar_term_mask,
)
from .watch import FitWatch

BOBYQA_MAXEVAL = 100_000
MAX_RESTARTS = 8  # restarts from better points found by the optimum check
LBFGS_MAXITER = 2000
PHI_MIN = 1e-10  # φ = θ² floor in the boundary restarts (θ = 1e-5; criterion change ~1e-10)


@dataclass(frozen=True)
class OptimizationRecord:
    """How the optimum was found and checked (kept on the result for transparency).

    θ values are in the engine's units (:mod:`.conditioning`).

    Attributes
    ----------
    theta0, theta : ndarray
        Start and optimum.
    objective : float
        The engine's criterion at θ.
    n_evals : int
        Criterion evaluations (with or without gradient) of the whole search.
    optimizer : str
    converged : bool
        Every check of :func:`.verify.check_optimum` passed.
    max_scaled_gradient : float
        lme4's convergence measure at θ.
    n_restarts : int
        Restarts from better points found by the checks (0 when the first stop was a
        verified minimum).
    limit : str
        The optimiser that stopped at its iteration limit ('' when none did).
    check : OptimumCheck
        The final checks' figures (what :func:`mlm_jupyter.messages.optimisation_messages`
        puts in words).
    cost : FitCost or None
        The estimate of the factor's memory and work made before the fit (:mod:`.cost`).
    """

    theta0: np.ndarray
    theta: np.ndarray
    objective: float
    n_evals: int
    optimizer: str
    converged: bool
    max_scaled_gradient: float
    n_restarts: int = 0
    limit: str = ""
    check: OptimumCheck | None = None
    cost: FitCost | None = None


def _step(theta: np.ndarray, i: int) -> float:
    return 1e-5 * max(1.0, abs(theta[i]))


def numeric_gradient(
    f, theta: np.ndarray, lower: np.ndarray, f0: float | None = None
) -> np.ndarray:
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


def difference_stencil(
    f, theta: np.ndarray, f0: float, step: float = 1e-4
) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradient and symmetric Hessian of ``f`` at θ (2k² evaluations).

    The gradient reuses the Hessian's axial points, so it costs no extra evaluations.
    The objective is smooth away from its bounds.
    """
    k = theta.size
    hs = step * np.maximum(1.0, np.abs(theta))
    H = np.empty((k, k))
    g = np.empty(k)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = hs[i]
        up, down = f(theta + ei), f(theta - ei)
        g[i] = (up - down) / (2 * hs[i])
        H[i, i] = (up - 2 * f0 + down) / hs[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = hs[j]
            H[i, j] = H[j, i] = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * hs[i] * hs[j])
    return g, H


def numeric_hessian(f, theta: np.ndarray, f0: float, step: float = 1e-4) -> np.ndarray:
    """Symmetric central-difference Hessian (:func:`difference_stencil`'s)."""
    return difference_stencil(f, theta, f0, step)[1]


def _free(obj: ProfiledDeviance, theta: np.ndarray, tol: float) -> np.ndarray:
    """Indices of θ not sitting on their lower bound (within ``tol``)."""
    return np.flatnonzero(~((obj.lower == 0) & (theta <= tol)))


def _stencil(obj: ProfiledDeviance, theta: np.ndarray, idx: np.ndarray, value: float,
             step: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradient and Hessian of the criterion over the parameters ``idx``."""

    def sub(t: np.ndarray) -> float:
        full = theta.copy()
        full[idx] = t
        return obj(full)

    return difference_stencil(sub, theta[idx], value, step)


def _gradient_hessian(obj: ProfiledDeviance, theta: np.ndarray, idx: np.ndarray,
                      step: float = 1e-6) -> np.ndarray:
    """Hessian over ``idx`` by forward differences of the analytic gradient (k gradients).

    The gradient is exact, so a forward difference is accurate to O(h) ≈ 1e-6 relative:
    ample for Newton steps and lme4's scaled-gradient check, at half the cost of central
    differences.
    """
    k = idx.size
    H = np.empty((k, k))
    g0 = obj.value_and_gradient(theta)[1][idx]
    for i, col in enumerate(idx):
        h = step * max(1.0, abs(theta[col]))
        up = theta.copy()
        up[col] += h
        H[:, i] = (obj.value_and_gradient(up)[1][idx] - g0) / h
    return 0.5 * (H + H.T)


def _newton(H: np.ndarray, g: np.ndarray) -> np.ndarray | None:
    try:
        step = np.linalg.solve(H, g)
    except np.linalg.LinAlgError:
        return None
    return step if np.all(np.isfinite(step)) else None


def _polish_and_check(
    obj: ProfiledDeviance, theta: np.ndarray, value: float
) -> tuple[np.ndarray, float, float]:
    """Newton steps on the free parameters (kept only when they improve), then lme4's check.

    Quasi-Newton and trust-region methods stop on a flat optimum slightly early; Newton
    steps with a finite-difference Hessian bring θ to the precision of lme4's reference
    fits.  Returns θ, the criterion and lme4's scaled gradient max |H⁻¹g| at θ.
    """
    idx = _free(obj, theta, SINGULAR_TOL)
    if idx.size == 0:
        return theta, value, 0.0
    analytic = obj.has_gradient
    if analytic:
        value, grad = obj.value_and_gradient(theta)
        # The Hessian over the optimum check's coordinates (a superset of the free ones),
        # remembered so that the check reuses it (see verify.hessian_at).
        checked = interior_coordinates(obj, theta)
        H_all = _gradient_hessian(obj, theta, checked)
        remember_hessian(obj, theta, checked, H_all)
        keep = np.isin(checked, idx)
        idx = checked[keep]
        g = grad[idx]
        H = H_all[np.ix_(keep, keep)]
    else:
        g, H = _stencil(obj, theta, idx, value)
    for _ in range(2):
        step = _newton(H, g)
        if step is None or np.max(np.abs(step)) < 1e-10:
            break
        candidate = theta.copy()
        candidate[idx] = np.maximum(theta[idx] - step, obj.lower[idx])
        if analytic:
            new, grad = obj.value_and_gradient(candidate)
            new_g = grad[idx]
        else:
            new = obj(candidate)
        if not new < value:
            break
        theta, value = candidate, new
        # The Hessian barely moves over a Newton step; only the gradient is refreshed.
        if analytic:
            g = new_g
        else:
            base = theta.copy()
            g = numeric_gradient(lambda t, b=base: obj(_put(b, idx, t)), theta[idx],
                                 obj.lower[idx], value)
    scaled = _newton(H, g)
    return theta, value, float(np.max(np.abs(g if scaled is None else scaled)))


def _put(theta: np.ndarray, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
    full = theta.copy()
    full[idx] = t
    return full


def _snap_to_boundary(
    obj: ProfiledDeviance, theta: np.ndarray, value: float
) -> tuple[np.ndarray, float]:
    """Set bounded θ that are numerically zero to exactly 0 when that is no worse."""
    near = (obj.lower == 0) & (theta > 0) & (theta < SINGULAR_TOL * 1e-2)
    if near.any():
        candidate = np.where(near, 0.0, theta)
        new = obj(candidate)
        if new <= value + 1e-10:
            return candidate, min(new, value)
    return theta, value


def _lbfgsb(obj: ProfiledDeviance, start: np.ndarray, analytic: bool, bounded: bool = True):
    """L-BFGS-B from ``start``; ``bounded=False`` drops lme4's 0 bounds on diagonals.

    The criterion is even in the sign of each column of T, so the unbounded problem has
    the same optima (made canonical by :func:`canonical_theta`).  Without the bounds a
    long first step that overshoots a diagonal past 0 is not projected onto 0, where the
    gradient along it vanishes by symmetry and a bounded method stops (hsb random-slope
    fits wasted a third of their evaluations restarting from such points).
    """
    lower = obj.lower
    keep = np.isfinite(lower) if bounded else scalar_term_mask(obj)
    bounds = [(lo if k else None, None) for lo, k in zip(lower, keep, strict=True)]

    def fun_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        if analytic:
            value, grad = obj.value_and_gradient(theta)
        else:
            value = obj(theta)
            grad = numeric_gradient(obj, theta, lower, value) if np.isfinite(value) else None
        if not np.isfinite(value):
            return 1e300, np.zeros_like(theta)
        return value, grad

    res = minimize(
        fun_and_grad, start, jac=True, method="L-BFGS-B", bounds=bounds,
        # Stop once the criterion changes by < 1e-12 relative or the projected gradient is
        # below 1e-5: beyond that the criterion's own rounding (~1e-13 relative) decides
        # the line searches, which then fail one after another (penicillin: 12 wasted
        # evaluations).  The Newton polish that follows converges quadratically from here.
        options={"maxiter": LBFGS_MAXITER, "ftol": 1e-12, "gtol": 1e-5, "maxls": 40},
    )
    theta = np.asarray(res.x, dtype=float)
    limit = _limit_note(res.status == 1, "L-BFGS-B", LBFGS_MAXITER)
    return (theta if bounded else canonical_theta(obj.cp, theta)), float(res.fun), limit


def _limit_note(hit: bool, name: str, limit: int) -> str:
    """'' or the name and iteration limit of an optimiser that stopped at that limit."""
    return f"{name} ({limit:,} iterations)" if hit else ""


def _lbfgsb_phi(obj: ProfiledDeviance, start: np.ndarray):
    """L-BFGS-B with every scalar term's θ_k replaced by φ_k = θ_k² ≥ 0.

    In φ the criterion has a non-zero derivative at the boundary (½ ∂²d/∂θ_k² at 0), so a
    variance that should leave 0 does, where in θ its derivative vanishes by symmetry
    (see :mod:`.verify`).  Used to restart from a point the optimum check found better.
    """
    scalar = scalar_term_mask(obj)
    x0 = np.asarray(start, dtype=float).copy()
    x0[scalar] = x0[scalar] ** 2

    def to_theta(x: np.ndarray) -> np.ndarray:
        theta = x.copy()
        theta[scalar] = np.sqrt(np.maximum(x[scalar], PHI_MIN))
        return theta

    def fun_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        theta = to_theta(x)
        if obj.has_gradient:
            value, grad = obj.value_and_gradient(theta)
        else:
            value = obj(theta)
            grad = numeric_gradient(obj, theta, obj.lower, value) if np.isfinite(value) else None
        if not np.isfinite(value):
            return 1e300, np.zeros_like(x)
        grad = np.array(grad, dtype=float)
        grad[scalar] = grad[scalar] / (2.0 * theta[scalar])
        return value, grad

    bounds = [(0.0, None) if k else (None, None) for k in scalar]
    res = minimize(fun_and_grad, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": LBFGS_MAXITER, "ftol": 1e-13, "gtol": 1e-7, "maxls": 40})
    x = np.asarray(res.x, dtype=float)
    theta = to_theta(x)
    theta[scalar & (x <= PHI_MIN)] = 0.0
    value = obj(theta)
    limit = _limit_note(res.status == 1, "L-BFGS-B", LBFGS_MAXITER)
    return canonical_theta(obj.cp, theta), float(value), limit


def _bobyqa(obj: ProfiledDeviance, start: np.ndarray):
    """Powell's BOBYQA (NLopt), the derivative-free method behind lme4's ``nloptwrap``."""
    # θ is on the scale of a relative SD, so a fixed first step (as minqa's rhobeg in lme4)
    # is sensible; NLopt would otherwise derive it from the bounds.
    theta, value, hit = bobyqa(obj, start, obj.lower, first_step=0.2, xtol=1e-8,
                               maxeval=BOBYQA_MAXEVAL)
    return theta, value, _limit_note(hit, "BOBYQA", BOBYQA_MAXEVAL)


def optimize(obj: ProfiledDeviance, theta0: np.ndarray | None = None, *,
             progress: bool | None = None, cost: FitCost | None = None) -> OptimizationRecord:
    """Minimise ``obj`` over θ subject to lme4's bounds (see :func:`_optimize`).

    ``progress``: show evaluations and the criterion while the fit runs (None: when it
    takes more than a few seconds and a notebook or terminal can show it; False: never).
    ``cost``: the estimate of :func:`.cost.estimate`, shown with the progress and kept on
    the record.
    """
    slow = cost is not None and cost.seconds_per_evaluation > 0.05
    watch = FitWatch(progress, note=cost.describe() if slow else "")
    obj.observer = watch
    try:
        with blas_limit(obj):
            record = _optimize(obj, theta0)
    finally:
        obj.observer = None
        watch.close()
    return record if cost is None else replace(record, cost=cost)


def _optimize(obj: ProfiledDeviance, theta0: np.ndarray | None = None) -> OptimizationRecord:
    """Minimise ``obj`` over θ subject to lme4's bounds.

    Every model with an exact gradient (:meth:`ProfiledDeviance.value_and_gradient`: all
    but several random terms whose coupling pattern is too dense to plan): L-BFGS-B on it,
    with the diagonals of multi-column terms unbounded (see :func:`_lbfgsb`).  Otherwise
    BOBYQA when NLopt is installed (as lme4), else L-BFGS-B with central-difference
    gradients.  Then Newton polish and lme4's scaled-gradient check.

    Parameters
    ----------
    obj : ProfiledDeviance
    theta0 : ndarray, optional
        Starting value (default lme4's: identity relative factors).  Warm starts from a
        previous fit make refits (bootstrap, deletion diagnostics) cheap.
    """
    start = _default_start(obj) if theta0 is None else np.asarray(theta0, dtype=float).copy()
    evals0 = obj.n_evals
    if obj.has_gradient:
        search, name = (lambda t: _lbfgsb(obj, t, analytic=True, bounded=False),
                        "L-BFGS-B (exact gradient)")
    elif bobyqa_available():
        search, name = (lambda t: _bobyqa(obj, t), "BOBYQA (NLopt)")
    else:
        search, name = (lambda t: _lbfgsb(obj, t, analytic=False), "L-BFGS-B")
    theta, value, limit = search(start)
    theta, value = _finish(obj, theta, value)
    check = check_optimum(obj, theta, value)
    restarts = 0
    while check.better is not None and restarts < MAX_RESTARTS:
        restarts += 1
        if obj.has_gradient or not bobyqa_available():
            theta, value, limit = _lbfgsb_phi(obj, check.better)
        else:
            theta, value, limit = _bobyqa(obj, check.better)
        theta, value = _finish(obj, theta, value)
        check = check_optimum(obj, theta, value)
    converged = bool(np.isfinite(value) and check.ok)
    suffix = " + Newton polish" + (f", {restarts} verified restart(s)" if restarts else "")
    return OptimizationRecord(
        theta0=start, theta=theta, objective=value, n_evals=obj.n_evals - evals0,
        optimizer=name + suffix, converged=converged,
        max_scaled_gradient=check.max_scaled_gradient, n_restarts=restarts,
        limit=limit, check=check,
    )


#: Rest-block rows from which an evaluation is costly enough to start from one-term fits.
MOMENT_START_MIN_REST = 500
#: Floor of a one-term start: at θ_k = 0 a scalar term's gradient vanishes by symmetry.
MOMENT_START_FLOOR = 0.1


def _default_start(obj: ProfiledDeviance) -> np.ndarray:
    """lme4's start (θ = 1), or for costly models of several scalar terms the one-term
    fits' θ (:func:`.start.moment_start`; crossed_73k: 30 -> 18 evaluations)."""
    cp = obj.cp
    if cp.m_rest >= MOMENT_START_MIN_REST:
        start = moment_start(cp, obj.reml)
        if start is not None:
            return np.maximum(start, MOMENT_START_FLOOR)
    return theta_start(cp)


def _finish(obj: ProfiledDeviance, theta: np.ndarray, value: float) -> tuple[np.ndarray, float]:
    """Newton polish, then exact zeros for bounded θ that are numerically 0."""
    theta, value, _ = _polish_and_check(obj, theta, value)
    return _snap_to_boundary(obj, theta, value)

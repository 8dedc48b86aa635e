"""Minimise a GLMM criterion over (θ, β[, log θ_nb]) and verify the optimum.

The Laplace criterion has an exact gradient (:mod:`.laplace`): L-BFGS-B on it, with
lme4's bound θ ≥ 0 on the diagonals of scalar terms (multi-column terms unbounded: the
criterion is even in the sign of each column of T, see the LMM optimiser), then Newton
steps with the Hessian from central differences of the gradient.  Quadrature criteria
(:mod:`.agq`) have an exact gradient too and are optimised the same way from the Laplace
optimum (BOBYQA, NLopt, with a difference Hessian is the fallback should that fail).
Both end with the first- and second-order checks: lme4's scaled gradient
max |min(R⁻¹g, g)| (H = R'R) and the Hessian's eigenvalues, reported as glmer reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import minimize

from .bobyqa import available as bobyqa_available
from .bobyqa import bobyqa
from .fit import difference_stencil
from .objective import canonical_theta
from .verify import GRAD_TOL, SINGULAR_TOL


@dataclass(frozen=True)
class GLMMOptimization:
    """How the optimum was found and what was checked there (internal parametrisation).

    Attributes
    ----------
    start, params : ndarray
        Starting and final parameters ``[θ, β̃[, log θ_nb]]`` (β̃: centred/scaled X).
    objective : float
        The criterion at ``params`` (-2 log L).
    gradient : ndarray
        Its gradient there.
    hessian : ndarray
        Central-difference Hessian over the ``free`` parameters.
    free : ndarray of int
        Parameters not on a bound (the others are θ diagonals at 0).
    n_evals : int
    optimizer : str
    converged : bool
    max_scaled_gradient : float
        lme4's measure max_i min(|R⁻¹g|_i, |g_i|) with H = R'R.
    messages : tuple of str
        glmer-style convergence messages (empty when the optimum passed every check).
    """

    start: np.ndarray
    params: np.ndarray
    objective: float
    gradient: np.ndarray
    hessian: np.ndarray
    free: np.ndarray
    n_evals: int
    optimizer: str
    converged: bool
    max_scaled_gradient: float
    messages: tuple[str, ...]


class _Terms:
    """Adapter so :func:`canonical_theta` reads a RandomEffectsSystem's terms."""

    def __init__(self, terms):
        self.terms = terms


def _free(lower: np.ndarray, params: np.ndarray) -> np.ndarray:
    return np.flatnonzero(~((lower == 0) & (params <= SINGULAR_TOL)))


# Forward differences of the exact gradient (k gradients instead of 2k) with a small step:
# truncation ~1e-5 relative, the gradient's rounding (PIRLS at its tolerance) below that.
# Central differences only where explicitly wanted (CENTRAL_MAX_WORK rows x effects).
CENTRAL_MAX_WORK = 0
FORWARD_STEP = 2e-5


def gradient_hessian(
    grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray, idx: np.ndarray,
    step: float = 1e-4, g0: np.ndarray | None = None,
) -> np.ndarray:
    """Symmetric Hessian over ``idx`` by differences of an exact gradient.

    Central differences (error O(h²)), or forward differences from ``g0`` = grad(x) when
    given (half the gradients; error O(h) ≈ 5e-5 relative on the scaled parameters, well
    inside what the standard errors need): the choice for large data.
    """
    k = idx.size
    H = np.empty((k, k))
    for i, col in enumerate(idx):
        h = step * max(1.0, abs(x[col]))
        up = x.copy()
        up[col] += h
        if g0 is not None:
            H[:, i] = (grad(up)[idx] - g0[idx]) / h
            continue
        down = x.copy()
        down[col] -= h
        H[:, i] = (grad(up)[idx] - grad(down)[idx]) / (2 * h)
    return 0.5 * (H + H.T)


def scaled_gradient(H: np.ndarray, g: np.ndarray) -> float:
    """lme4's check.conv.grad measure: max min(|R⁻¹g|, |g|) with H = R'R."""
    if g.size == 0:
        return 0.0
    try:
        R = np.linalg.cholesky(H).T
        sc = np.linalg.solve(R, g)
    except np.linalg.LinAlgError:
        return float(np.max(np.abs(g)))
    return float(np.max(np.minimum(np.abs(sc), np.abs(g))))


def hessian_messages(H: np.ndarray) -> list[str]:
    """glmer's second-order messages for the Hessian at the optimum."""
    if H.size == 0:
        return []
    ev = np.linalg.eigvalsh(H)
    if np.any(ev < 0) and np.min(ev) < -1e-8 * max(1.0, np.max(np.abs(ev))):
        k = int(np.sum(ev < 0))
        return [f"Model failed to converge: degenerate Hessian with {k} negative eigenvalues"]
    if np.max(ev) > 0 and np.min(ev) / np.max(ev) < 1e-12:
        return ["Model is nearly unidentifiable: very large eigenvalue ratio; "
                "rescale variables?"]
    return []


def _newton(H: np.ndarray, g: np.ndarray) -> np.ndarray | None:
    try:
        step = np.linalg.solve(H, g)
    except np.linalg.LinAlgError:
        return None
    return step if np.all(np.isfinite(step)) else None


def _leave_boundary(f, lower: np.ndarray, x: np.ndarray, value: float) -> np.ndarray | None:
    """A better point just inside the bounds, or None when the zero diagonals are optimal."""
    best, best_value = None, value
    for i in np.flatnonzero((lower == 0) & (x <= 1e-8)):
        for h in (1e-3, 1e-2, 1e-1, 0.5):
            probe = x.copy()
            probe[i] = h
            new = f(probe)
            if new < best_value - 1e-8:
                best, best_value = probe, new
    return best


def optimize_laplace(crit, start: np.ndarray, terms, polish: bool = True) -> GLMMOptimization:
    """Minimise a :class:`~.laplace.LaplaceCriterion` from ``start``.

    ``terms`` are the random-effects terms (for the sign convention of θ).  Without
    ``polish`` (bootstrap refits) the L-BFGS-B optimum is returned as it is: no Newton
    steps, no Hessian; ``converged`` then means a gradient below L-BFGS-B's tolerance.
    """
    evals0 = crit.n_evals
    lower = crit.lower
    n_theta = crit.n_theta
    # No bounds at all: the criterion is even in the sign of each column of every T_k
    # (scalar terms included), so the unbounded problem has the same optima, made canonical
    # below; a bounded method would stop wherever a long step is projected onto θ = 0,
    # where the gradient along that θ vanishes by symmetry.
    keep = np.zeros(crit.n_params, dtype=bool)

    def fg(x: np.ndarray):
        value, grad = crit.value_and_gradient(x)
        if not np.isfinite(value):
            return 1e300, np.zeros_like(x)
        return value, grad

    # The criterion is a sum over n observations: a gradient tolerance relative to its
    # size.  The Newton polish that follows converges quadratically from there.
    f0 = crit(np.asarray(start, dtype=float))
    gtol = 1e-8 * max(1.0, abs(f0)) if np.isfinite(f0) else 1e-6

    def lbfgsb(x0: np.ndarray, bounded: np.ndarray) -> tuple[np.ndarray, float]:
        bounds = [(lo if b else None, None) for lo, b in zip(lower, bounded, strict=True)]
        res = minimize(fg, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 5000, "ftol": 1e-14, "gtol": gtol, "maxls": 40})
        x = np.asarray(res.x, dtype=float)
        x[:n_theta] = canonical_theta(_Terms(terms), x[:n_theta])
        return x, float(crit(x))

    x, value = lbfgsb(np.asarray(start, dtype=float), keep)
    for _ in range(3):
        restart = _leave_boundary(crit, lower, x, value)
        if restart is None:
            break
        x, value = lbfgsb(restart, np.isfinite(lower))
    if not polish:
        value, g = crit.value_and_gradient(x)
        free = _free(lower, x)
        ok = bool(np.isfinite(value) and np.max(np.abs(g[free]), initial=0.0) < 1e3 * gtol)
        return GLMMOptimization(np.asarray(start, dtype=float), x, float(value), g,
                                np.zeros((0, 0)), free, crit.n_evals - evals0, "L-BFGS-B",
                                ok, float("nan"), ())
    x, value, g, H, free = _polish(crit, x, value, lambda t: crit.value_and_gradient(t)[1])
    return _record(crit, start, x, value, g, H, free, evals0,
                   "L-BFGS-B (exact gradient) + Newton polish")


def _polish(crit, x: np.ndarray, value: float, grad_fn):
    """Newton steps on the free parameters (kept when they improve); the final H and g."""
    lower = crit.lower
    free = _free(lower, x)
    g = grad_fn(x)
    work = sum(t.codes.size * t.q for t in crit.system.terms)
    forward = work > CENTRAL_MAX_WORK

    def hessian(at: np.ndarray, g_at: np.ndarray) -> np.ndarray:
        if not free.size:
            return np.zeros((0, 0))
        if forward:
            return gradient_hessian(grad_fn, at, free, step=FORWARD_STEP, g0=g_at)
        return gradient_hessian(grad_fn, at, free)

    H = hessian(x, g)
    for _ in range(4):
        if not free.size:
            break
        step = _newton(H, g[free])
        if step is None or np.max(np.abs(step)) < 1e-12:
            break
        cand = x.copy()
        cand[free] = x[free] - step
        cand = np.maximum(cand, lower)
        new = crit(cand)
        if not new < value:
            break
        moved = np.max(np.abs(step) / np.maximum(1.0, np.abs(x[free])))
        x, value = cand, new
        g = grad_fn(x)
        if moved > 1e-4:  # the Hessian is refreshed only after a real move
            H = hessian(x, g)
    snapped = _snap(crit, x, value)
    if snapped is not None:
        x, value = snapped
        free = _free(lower, x)
        g = grad_fn(x)
        H = hessian(x, g)
    return x, value, g, H, free


def _snap(crit, x: np.ndarray, value: float):
    """θ diagonals that are numerically zero set to exactly 0 when that is no worse."""
    near = (crit.lower == 0) & (x > 0) & (x < SINGULAR_TOL * 1e-2)
    if not near.any():
        return None
    cand = np.where(near, 0.0, x)
    new = crit(cand)
    # F is even in these θ with zero slope at 0: a change beyond rounding is not expected
    return (cand, min(new, value)) if new <= value + 1e-10 * max(1.0, abs(value)) else None


def _record(crit, start, x, value, g, H, free, evals0, name) -> GLMMOptimization:
    max_grad = scaled_gradient(H, g[free]) if free.size else 0.0
    messages = []
    if max_grad >= GRAD_TOL:
        messages.append(f"Model failed to converge with max|grad| = {max_grad:.6g} "
                        f"(tol = {GRAD_TOL}, component {int(np.argmax(np.abs(g[free]))) + 1})")
    messages += hessian_messages(H)
    converged = bool(np.isfinite(value) and not messages)
    return GLMMOptimization(
        start=np.asarray(start, dtype=float), params=x, objective=float(value), gradient=g,
        hessian=H, free=free, n_evals=crit.n_evals - evals0, optimizer=name,
        converged=converged, max_scaled_gradient=max_grad, messages=tuple(messages),
    )


def optimize_quadrature(crit, start: np.ndarray, terms, polish: bool = True) -> GLMMOptimization:
    """Minimise an :class:`~.agq.AGQCriterion` (exact gradient) from the Laplace optimum.

    The same L-BFGS-B and Newton polish as the Laplace criterion; should that not pass
    its checks, BOBYQA from the same start, and the better of the two optima.
    """
    record = optimize_laplace(crit, start, terms, polish=polish)
    if record.converged or not polish:
        return replace(record, optimizer=record.optimizer.replace("L-BFGS-B",
                                                                  "L-BFGS-B on the quadrature"))
    other = optimize_derivative_free(crit, start)
    best = other if other.objective < record.objective else record
    return replace(best, n_evals=record.n_evals + other.n_evals)


def optimize_derivative_free(crit, start: np.ndarray) -> GLMMOptimization:
    """BOBYQA (NLopt) on a criterion without an exact gradient, then difference Newton."""
    evals0 = crit.n_evals
    lower = crit.lower
    x = np.maximum(np.asarray(start, dtype=float), np.where(np.isfinite(lower), lower, -np.inf))
    if bobyqa_available():
        # Started at the Laplace optimum, which the quadrature optimum is close to; the
        # Newton steps below finish the job.
        bounds = np.where(np.isfinite(lower), lower, -1e300)
        x, _, _ = bobyqa(crit, x, bounds, first_step=0.01, xtol=1e-7, maxeval=20_000)
        name = "BOBYQA (NLopt) + Newton polish"
    else:  # pragma: no cover - nlopt is a dependency
        res = minimize(crit, x, method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-12, "maxfev": 20_000})
        x, name = np.asarray(res.x), "Nelder-Mead + Newton polish"
    value = float(crit(x))
    free = _free(lower, x)
    g, H = _free_stencil(crit, x, free)
    for _ in range(3):
        if not free.size:
            break
        step = _newton(H, g)
        if step is None or np.max(np.abs(step)) < 1e-12:
            break
        cand = x.copy()
        cand[free] = np.maximum(x[free] - step, lower[free])
        new = crit(cand)
        if not new < value:
            break
        moved = np.max(np.abs(step) / np.maximum(1.0, np.abs(x[free])))
        x, value = cand, new
        if moved > 1e-4:
            g, H = _free_stencil(crit, x, free)
        else:  # H barely changes over a tiny step; only the gradient is refreshed
            g = _free_stencil(crit, x, free, gradient_only=True)[0]
    full_g = np.zeros_like(x)
    full_g[free] = g
    return _record(crit, start, x, value, full_g, H, free, evals0, name)


def _free_stencil(crit, x: np.ndarray, free: np.ndarray, step: float = 1e-3,
                  gradient_only: bool = False):
    """Central-difference gradient and Hessian over the free parameters."""
    if not free.size:
        return np.zeros(0), np.zeros((0, 0))

    def sub(t: np.ndarray) -> float:
        full = x.copy()
        full[free] = t
        return crit(full)

    if gradient_only:
        g = np.empty(free.size)
        for i in range(free.size):
            e = np.zeros(free.size)
            e[i] = step * max(1.0, abs(x[free][i]))
            g[i] = (sub(x[free] + e) - sub(x[free] - e)) / (2 * e[i])
        return g, None
    return difference_stencil(sub, x[free], crit(x), step)

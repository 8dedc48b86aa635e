"""Other optimisers and starts for the same criterion (lme4's ``allFit`` idea).

When a fit reports a problem, lme4 users refit with every optimiser they have and check
that the estimates agree: if they do, the warning was a false alarm; if they do not, the
model is not well determined by the data.  Each run here minimises the engine's criterion
from its own start with its own method, then goes through the same optimum checks as a
regular fit (:func:`.verify.check_optimum`) but no restarts, so that disagreement shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from .fit import _bobyqa, _lbfgsb, _snap_to_boundary
from .objective import ProfiledDeviance, canonical_theta, theta_start
from .verify import check_optimum

try:
    import nlopt
except ImportError:  # pragma: no cover
    nlopt = None


@dataclass(frozen=True)
class Run:
    """One optimiser's result on the engine's criterion."""

    name: str
    theta: np.ndarray
    objective: float
    converged: bool
    max_scaled_gradient: float
    n_evals: int
    seconds: float
    message: str


def _scipy(method: str) -> Callable:
    def run(obj: ProfiledDeviance, start: np.ndarray) -> tuple[np.ndarray, float]:
        bounds = [(0.0, None) if lo == 0 else (None, None) for lo in obj.lower]
        opts = {"Nelder-Mead": {"maxfev": 20_000, "xatol": 1e-8, "fatol": 1e-10},
                "Powell": {"maxfev": 20_000, "xtol": 1e-8, "ftol": 1e-12}}[method]
        out = minimize(lambda t: _finite(obj(t)), start, method=method, bounds=bounds,
                       options=opts)
        return np.asarray(out.x, dtype=float), float(out.fun)
    return run


def _nlopt(algorithm: int) -> Callable:
    def run(obj: ProfiledDeviance, start: np.ndarray) -> tuple[np.ndarray, float]:
        opt = nlopt.opt(algorithm, start.size)
        opt.set_lower_bounds(obj.lower)
        opt.set_initial_step(np.full(start.size, 0.2))
        opt.set_min_objective(lambda t, grad: _finite(obj(t)))
        opt.set_ftol_abs(1e-10)
        opt.set_xtol_abs(1e-8)
        opt.set_maxeval(50_000)
        theta = np.asarray(opt.optimize(np.maximum(start, obj.lower)))
        return theta, float(opt.last_optimum_value())
    return run


def _finite(value: float) -> float:
    return value if np.isfinite(value) else 1e300


def _default(obj: ProfiledDeviance, start: np.ndarray) -> tuple[np.ndarray, float]:
    if obj.has_gradient:
        theta, value, _ = _lbfgsb(obj, start, analytic=True, bounded=False)
    else:
        theta, value, _ = _bobyqa(obj, start)
    return theta, value


def candidates(obj: ProfiledDeviance) -> list[tuple[str, Callable, np.ndarray]]:
    """(name, optimiser, start) of every run: methods from lme4's start, then other starts."""
    start = theta_start(obj.cp)
    out: list[tuple[str, Callable, np.ndarray]] = []
    default = "L-BFGS-B (exact gradient)" if obj.has_gradient else "BOBYQA (NLopt)"
    out.append((default, _default, start))
    if nlopt is not None:
        if obj.has_gradient:
            out.append(("BOBYQA (NLopt)", _nlopt(nlopt.LN_BOBYQA), start))
        out.append(("Nelder-Mead (NLopt)", _nlopt(nlopt.LN_NELDERMEAD), start))
        out.append(("Subplex (NLopt)", _nlopt(nlopt.LN_SBPLX), start))
    out.append(("Powell (SciPy)", _scipy("Powell"), start))
    for factor in (0.1, 3.0):
        out.append((f"{default}, start {factor:g} x lme4's", _default, start * factor))
    return out


def run_all(obj: ProfiledDeviance) -> list[Run]:
    """Every candidate run, each checked as a regular fit is (no restarts)."""
    runs = []
    for name, method, start in candidates(obj):
        evals0, t0 = obj.n_evals, time.perf_counter()
        try:
            theta, value = method(obj, np.asarray(start, dtype=float).copy())
            theta = canonical_theta(obj.cp, theta)
            theta, value = _snap_to_boundary(obj, theta, obj(theta))
            check = check_optimum(obj, theta, value)
            message = "" if check.ok else (
                "a better point exists nearby" if check.better is not None else
                "saddle point" if not check.second_order else
                f"scaled gradient {check.max_scaled_gradient:.2g}"
            )
            runs.append(Run(name, theta, float(value), bool(check.ok and np.isfinite(value)),
                            check.max_scaled_gradient, obj.n_evals - evals0,
                            time.perf_counter() - t0, message))
        except (np.linalg.LinAlgError, ValueError, RuntimeError) as err:
            runs.append(Run(name, np.full(obj.lower.size, np.nan), np.nan, False, np.nan,
                            obj.n_evals - evals0, time.perf_counter() - t0, f"failed: {err}"))
    return runs

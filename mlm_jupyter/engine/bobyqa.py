"""Powell's BOBYQA through NLopt: the derivative-free search of lme4's ``nloptwrap``.

One wrapper for the LMM and GLMM optimisers, which differ only in the first step, the
tolerances and the evaluation budget.  Non-finite criterion values (a factor that failed)
are returned to NLopt as a huge number so that the search steps back instead of stopping.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

try:  # nlopt is a dependency; the guard keeps the import error readable
    import nlopt
except ImportError:  # pragma: no cover
    nlopt = None

__all__ = ["available", "bobyqa"]


def available() -> bool:
    """Whether NLopt can be imported."""
    return nlopt is not None


def bobyqa(criterion: Callable[[np.ndarray], float], start: np.ndarray, lower: np.ndarray,
           first_step: float, xtol: float, maxeval: int,
           ftol: float = 1e-10) -> tuple[np.ndarray, float, bool]:
    """Minimise ``criterion`` from ``start`` subject to ``x >= lower``.

    Parameters
    ----------
    criterion : callable
        x -> value.
    start, lower : ndarray
        Start (moved onto the bounds where below them) and lower bounds, as NLopt takes
        them (``-inf`` for none).
    first_step : float
        First trust-region radius (minqa's ``rhobeg`` in lme4).
    xtol, ftol : float
        Absolute tolerances on the parameters and the criterion.
    maxeval : int
        Evaluation budget.

    Returns
    -------
    (x, value, hit_limit)
    """
    opt = nlopt.opt(nlopt.LN_BOBYQA, start.size)
    opt.set_lower_bounds(lower)
    opt.set_initial_step(np.full(start.size, first_step))

    def f(x: np.ndarray, _grad: np.ndarray) -> float:
        value = criterion(x)
        return value if np.isfinite(value) else 1e300

    opt.set_min_objective(f)
    opt.set_ftol_abs(ftol)
    opt.set_xtol_abs(xtol)
    opt.set_maxeval(maxeval)
    x = np.asarray(opt.optimize(np.maximum(np.asarray(start, dtype=float), lower)))
    hit = opt.last_optimize_result() == nlopt.MAXEVAL_REACHED
    return x, float(opt.last_optimum_value()), hit

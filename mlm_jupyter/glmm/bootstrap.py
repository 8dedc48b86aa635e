"""Parametric bootstrap for GLMMs: percentile intervals and likelihood-ratio p-values.

Responses are simulated from the fit (:mod:`.simulate`, new random effects), and each is
refitted on the same random-effects system, warm-started at the estimates, without the
Hessian (:func:`mlm_jupyter.engine.glmm_fit.refit_response`).  lme4's ``bootMer`` /
``confint(m, method = "boot")`` (percentiles) and ``pbkrtest::PBmodcomp``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..engine.glmm_fit import refit_response
from ..inference.confint import theta_to_sdcor, varpar_names
from ..progress import Progress
from .simulate import simulate

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult


def estimates(res: GLMMResult, params: np.ndarray) -> np.ndarray:
    """Internal parameters -> (SDs and correlations, β) in the user's units."""
    state = res.fit_state
    crit = state.criterion
    theta = state.theta_scaling.to_user(params[: crit.n_theta])
    beta = state.scaling.to_user(params[crit.n_theta : crit.n_theta + crit.p])
    return np.concatenate([theta_to_sdcor(crit.system, theta, 1.0)[:-1], beta])


def parameter_names(res: GLMMResult) -> list[tuple[str, str]]:
    """(readable, lme4) names of the SD/correlation parameters, then the fixed effects."""
    readable, lme4 = varpar_names(res)
    pairs = list(zip(readable[:-1], lme4[:-1], strict=True))
    return pairs + [(n, n) for n in res.fixef.index]


def boot_confint(res: GLMMResult, level: float = 0.95, nsim: int = 500, seed: Any = None,
                 progress: bool | None = None) -> pd.DataFrame:
    """Percentile intervals for the SDs/correlations and fixed effects (``nsim`` refits)."""
    if nsim < 10:
        raise ValueError(f"nsim must be at least 10 for bootstrap intervals, got {nsim}.")
    rng = np.random.default_rng(seed)
    ys = simulate(res, nsim, rng)
    draws, failed = [], 0
    with Progress(nsim, "bootstrap", progress) as bar:
        for y in ys:
            params, _, ok = refit_response(res.fit_state, y, res.design.trials, res.nagq)
            if ok:
                draws.append(estimates(res, params))
            else:
                failed += 1
            bar.update()
    if not draws:
        raise RuntimeError(f"all {nsim} bootstrap refits failed.")
    alpha = (1 - level) / 2
    lo, hi = np.quantile(np.array(draws), [alpha, 1 - alpha], axis=0)
    table = pd.DataFrame(
        [(a, b, low, high) for (a, b), low, high in zip(parameter_names(res), lo, hi,
                                                         strict=True)],
        columns=["parameter", "lme4_name", "lower", "upper"],
    ).set_index("parameter")
    table.attrs.update(level=level, nsim=nsim, n_failed=failed, seed=seed)
    return table


def bootstrap_lrt(small: GLMMResult, large: GLMMResult, observed: float, nsim: int,
                  rng: np.random.Generator, progress: bool | None = None) -> tuple[float, int]:
    """p-value of the LRT by simulating from ``small`` and refitting both models."""
    stats_, failed = [], 0
    ys = simulate(small, nsim, rng)
    with Progress(nsim, "bootstrap LRT", progress) as bar:
        for y in ys:
            _, d0, ok0 = refit_response(small.fit_state, y, small.design.trials, small.nagq)
            _, d1, ok1 = refit_response(large.fit_state, y, large.design.trials, large.nagq)
            if ok0 and ok1:
                stats_.append(max(d0 - d1, 0.0))
            else:
                failed += 1
            bar.update()
    arr = np.array(stats_)
    if arr.size == 0:
        return float("nan"), failed
    return float((1 + np.sum(arr >= observed - 1e-8)) / (1 + arr.size)), failed

"""Confidence intervals: Wald, likelihood profile (lme4's ``confint.merMod``) and bootstrap.

Rows are the random-effect standard deviations and correlations in lme4's order
(``.sig01, .sig02, ...``; shown with readable names ``sd_(Intercept)|school``,
``cor_(Intercept).cses|school``; the lme4 name is in the ``lme4_name`` column), ``sigma``
(lme4's ``.sigma``), then the fixed effects.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..engine.blocks import CrossProducts
from ..engine.objective import solve, split_theta
from ..engine.simulate import ResponseUpdater, quick_refit, simulate_responses
from ..engine.theta import lower_tri_index
from ..engine.threads import single_blas_thread
from ..progress import Progress


def varpar_names(res: Any) -> tuple[list[str], list[str]]:
    """(readable names, lme4 names) of the SD/correlation parameters and sigma."""
    readable = []
    for term in res.design.terms:
        rows, cols = lower_tri_index(term.q)
        for i, j in zip(rows, cols, strict=False):
            if i == j:
                readable.append(f"sd_{term.columns[i]}|{term.group}")
            else:
                readable.append(f"cor_{term.columns[j]}.{term.columns[i]}|{term.group}")
    readable.append("sigma")
    lme4 = [f".sig{i + 1:02d}" for i in range(len(readable) - 1)] + [".sigma"]
    return readable, lme4


def theta_to_sdcor(cp: CrossProducts, theta: np.ndarray, sigma: float) -> np.ndarray:
    """(θ, σ) -> (SDs and correlations per term in θ's order, σ)."""
    out = []
    for Tk in split_theta(cp, theta):
        cov = sigma**2 * Tk @ Tk.T
        sd = np.sqrt(np.diag(cov))
        rows, cols = lower_tri_index(Tk.shape[0])
        for i, j in zip(rows, cols, strict=False):
            if i == j:
                out.append(sd[i])
            else:
                out.append(cov[i, j] / (sd[i] * sd[j]) if sd[i] * sd[j] > 0 else 0.0)
    return np.array(out + [sigma])


def sdcor_to_theta(cp: CrossProducts, sdcor: np.ndarray) -> np.ndarray | None:
    """Inverse of ``theta_to_sdcor`` (None when a correlation matrix is not valid)."""
    sigma = sdcor[-1]
    theta, start = [], 0
    for term in cp.terms:
        q = term.q
        rows, cols = lower_tri_index(q)
        vals = sdcor[start : start + term.n_theta]
        start += term.n_theta
        sd = np.zeros(q)
        corr = np.eye(q)
        for v, i, j in zip(vals, rows, cols, strict=False):
            if i == j:
                sd[i] = v
            else:
                corr[i, j] = corr[j, i] = v
        cov = np.outer(sd, sd) * corr / sigma**2
        try:
            Lc = np.linalg.cholesky(cov + 1e-300 * np.eye(q)) if np.all(sd > 0) else _semi_chol(cov)
        except np.linalg.LinAlgError:
            return None
        theta.extend(Lc[rows, cols])
    return np.array(theta)


def _semi_chol(cov: np.ndarray) -> np.ndarray:
    """Cholesky of a PSD matrix with zero variances (their rows are zero)."""
    q = cov.shape[0]
    keep = np.diag(cov) > 0
    Lc = np.zeros((q, q))
    if keep.any():
        idx = np.flatnonzero(keep)
        Lc[np.ix_(idx, idx)] = np.linalg.cholesky(cov[np.ix_(idx, idx)])
    return Lc


def _table(rows: list[tuple], level: float) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["parameter", "lme4_name", "lower", "upper"]).set_index(
        "parameter"
    )
    table.attrs["level"] = level
    return table


WALD_VARIANCE_NOTE = (
    "no Wald interval for an SD or correlation: their sampling distributions are skewed and "
    "bounded (at 0 and ±1), so estimate ± z·SE misleads; use method='profile' or 'boot'"
)


def wald_confint(res: Any, level: float = 0.95) -> pd.DataFrame:
    """γ ± z·SE for fixed effects; variance parameters NA with the reason (lme4's "Wald")."""
    z = stats.norm.ppf(0.5 + level / 2)
    readable, lme4 = varpar_names(res)
    rows = [(r, n, np.nan, np.nan) for r, n in zip(readable, lme4, strict=False)]
    se = np.sqrt(np.diag(res.vcov.to_numpy()))
    for name, est, s in zip(res.fixef.index, res.fixef.to_numpy(), se, strict=False):
        rows.append((name, name, est - z * s, est + z * s))
    table = _table(rows, level)
    table["note"] = [WALD_VARIANCE_NOTE] * len(readable) + [""] * len(res.fixef)
    return table


def boot_confint(
    res: Any, level: float = 0.95, nsim: int = 500, seed: Any = None, progress: bool | None = None
) -> pd.DataFrame:
    """Parametric bootstrap percentile intervals (lme4's ``method="boot"``, ``boot.type="perc"``).

    Responses are simulated from the fit; each is refitted (same REML/ML criterion),
    warm-started from θ̂, by swapping only the y row of the cross-products.  Failed refits
    are counted in ``attrs["n_failed"]`` and left out of the percentiles.
    """
    if nsim < 10:
        raise ValueError(f"nsim must be at least 10 for bootstrap intervals, got {nsim}.")
    rng = np.random.default_rng(seed)
    cond, design = res.conditioning, res.design
    updater = ResponseUpdater(res.engine_design, res.engine.cp)
    ys = simulate_responses(res, nsim, rng)
    draws, failed = [], 0
    with Progress(nsim, "bootstrap", progress) as bar, single_blas_thread():
        for y in ys:
            # Replicates in the user's units, refitted in the fit's engine units.
            obj = updater.objective(cond.response(y, design.X), res.reml)
            fit = quick_refit(obj, res.engine_theta)
            if not fit.converged:
                failed += 1
            else:
                sol = solve(obj, fit.theta)
                theta = cond.theta(fit.theta, obj.cp)
                sdcor = theta_to_sdcor(obj.cp, theta, cond.scale * sol.sigma)
                draws.append(np.concatenate([sdcor, cond.beta(sol.beta)]))
            bar.update()
    if not draws:
        raise RuntimeError(f"all {nsim} bootstrap refits failed.")
    arr = np.array(draws)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(arr, [alpha, 1 - alpha], axis=0)
    readable, lme4 = varpar_names(res)
    names = list(zip(readable, lme4, strict=False)) + [(n, n) for n in res.fixef.index]
    table = _table(
        [(a, b, low, high) for (a, b), low, high in zip(names, lo, hi, strict=False)], level
    )
    table.attrs.update(nsim=nsim, n_failed=failed, seed=seed)
    return table


def confint(
    res: Any,
    method: str = "profile",
    level: float = 0.95,
    nsim: int = 500,
    seed: Any = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Confidence intervals for SDs/correlations of the random effects, σ and γ.

    Parameters
    ----------
    method : {"profile", "wald", "boot"}
        ``"profile"`` (lme4's default): likelihood-profile intervals for every parameter
        (:mod:`.profile`).  ``"wald"``: estimate ± z·SE for the fixed effects; SDs and
        correlations are NA (with the reason in ``note``).  ``"boot"``: parametric
        bootstrap percentiles.
    level : float
    nsim, seed, progress : bootstrap settings (``method="boot"``).

    Returns
    -------
    DataFrame indexed by readable parameter names with columns ``lme4_name, lower, upper``
    and, for profile and Wald intervals, ``note`` (why a limit is NA; '' otherwise).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    method = str(method).lower()
    if method == "wald":
        return wald_confint(res, level)
    if method == "profile":
        from .profile import profile_confint

        return profile_confint(res, level)
    if method in ("boot", "bootstrap"):
        return boot_confint(res, level, nsim=nsim, seed=seed, progress=progress)
    raise ValueError(f"method must be 'wald', 'profile' or 'boot', not {method!r}.")

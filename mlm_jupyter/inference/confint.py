"""Confidence intervals: Wald, likelihood profile (lme4's ``confint.merMod``) and bootstrap.

Rows are the random-effect standard deviations and correlations in lme4's order
(``.sig01, .sig02, ...``; shown with readable names ``sd_(Intercept)|school``,
``cor_(Intercept).cses|school``; the lme4 name is in the ``lme4_name`` column), ``sigma``
(lme4's ``.sigma``), then the fixed effects.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..engine.blocks import CrossProducts
from ..engine.objective import LOG_2PI, ProfiledDeviance, lower_tri_index, solve, split_theta
from ..engine.simulate import ResponseUpdater, quick_refit, simulate_responses
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


def _ml_deviance(obj: ProfiledDeviance, sdcor: np.ndarray) -> float:
    """ML deviance at (SDs/correlations, σ) with β profiled: lme4's ``devfun2``."""
    if sdcor[-1] <= 0:
        return np.inf
    theta = sdcor_to_theta(obj.cp, sdcor)
    if theta is None:
        return np.inf
    f = obj.factor(theta)
    if f is None:
        return np.inf
    r2 = np.diag(f.L22)[-1] ** 2
    n = obj.cp.n
    s2 = sdcor[-1] ** 2
    return float(f.logdet_Z(obj.cp.m_rest) + n * (LOG_2PI + np.log(s2)) + r2 / s2)


def _sdcor_bounds(res: Any) -> list[tuple[float, float]]:
    bounds = []
    for term in res.design.terms:
        rows, cols = lower_tri_index(term.q)
        bounds += [
            (0.0, np.inf) if i == j else (-1.0, 1.0) for i, j in zip(rows, cols, strict=False)
        ]
    return bounds + [(1e-12, np.inf)]


def _drop_fixed(cp: CrossProducts, j: int, value: float) -> CrossProducts:
    """Cross-products of the model with γ_j fixed at ``value`` (offset x_j·value)."""
    m_r, p = cp.m_rest, cp.p
    m = cp.A22.shape[0]
    keep = [i for i in range(m) if i != m_r + j]
    M = np.eye(m)[:, keep]
    M[m_r + j, -1] = -value  # new y = y - value * x_j
    A22 = M.T @ cp.A22 @ M
    Wt = np.eye(p + 1)[:, [i for i in range(p + 1) if i != j]]
    Wt[j, -1] = -value
    D = np.einsum("wjq,wv->vjq", cp.D, Wt)
    return replace(cp, A22=A22, D=D, p=p - 1)


def _signed_root_interval(
    zeta_fun: Any, est: float, scale: float, z: float, lo_bound: float, hi_bound: float
) -> tuple[float, float]:
    """Values where the signed root ζ(ψ) = ∓z, bracketing outward from the estimate."""
    out = []
    for sign, bound in ((-1.0, lo_bound), (1.0, hi_bound)):
        a, step = est, max(scale, 1e-8)
        b = est + sign * step
        found = np.nan
        for _ in range(60):
            if (sign < 0 and b <= bound) or (sign > 0 and b >= bound):
                b = bound
                zb = zeta_fun(b)
                found = bound if not np.isfinite(zb) or abs(zb) < z else np.nan
                if np.isnan(found):
                    found = optimize.brentq(lambda x: abs(zeta_fun(x)) - z, a, b, xtol=1e-10)
                break
            zb = zeta_fun(b)
            if np.isfinite(zb) and abs(zb) >= z:
                found = optimize.brentq(lambda x: abs(zeta_fun(x)) - z, a, b, xtol=1e-10)
                break
            a, step = b, step * 1.6
            b = est + sign * (abs(a - est) + step)
        out.append(found)
    return out[0], out[1]


def profile_confint(res: Any, level: float = 0.95) -> pd.DataFrame:
    """lme4's profile intervals: signed root of the ML deviance, other parameters optimised.

    As ``confint.merMod(method="profile")``, REML fits are refitted with ML first; ζ(ψ) =
    sign(ψ - ψ̂) √(d(ψ) - d̂) is inverted at ±z_{(1+level)/2} by root finding (lme4
    interpolates a spline through a grid; the targets are the same).
    """
    ml = res if not res.reml else res.refit(reml=False)
    obj = ProfiledDeviance(ml.engine.cp, reml=False)
    z = stats.norm.ppf(0.5 + level / 2)
    base = obj(ml.theta)
    opt = theta_to_sdcor(obj.cp, ml.theta, ml.sigma)
    # Inner optimisations probe invalid correlations (deviance inf); scipy warns on inf - inf.
    with single_blas_thread(), warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        rows = _profile_rows(obj, ml, opt, _sdcor_bounds(res), base, z, *varpar_names(res))
    return _table(rows, level)


def _profile_rows(
    obj: ProfiledDeviance,
    ml: Any,
    opt: np.ndarray,
    bounds: list,
    base: float,
    z: float,
    readable: list[str],
    lme4: list[str],
) -> list[tuple]:
    cp = obj.cp
    k = opt.size
    rows = []
    for i in range(k):
        others = [b for jj, b in enumerate(bounds) if jj != i]
        start = np.delete(opt, i)

        def zeta(
            value: float, i: int = i, others: list = others, start: np.ndarray = start
        ) -> float:
            def dev(free: np.ndarray) -> float:
                return _ml_deviance(obj, np.insert(free, i, value))

            if start.size:
                fit = optimize.minimize(dev, start, method="L-BFGS-B", bounds=others)
                val = float(fit.fun)
                if np.isfinite(val):
                    start[:] = fit.x
            else:
                val = dev(start)
            return float(np.sign(value - opt[i]) * np.sqrt(max(val - base, 0.0)))

        lo_b, hi_b = bounds[i]
        scale = 0.5 * abs(opt[i]) if opt[i] != 0 else 0.1
        lo, hi = _signed_root_interval(
            zeta, opt[i], scale, z, lo_b, hi_b if np.isfinite(hi_b) else 1e12
        )
        rows.append((readable[i], lme4[i], lo, hi))

    beta = ml.fixef.to_numpy()
    se = ml.vcov.to_numpy().diagonal() ** 0.5
    for j, name in enumerate(ml.fixef.index):
        warm = {"theta": ml.theta.copy()}

        def zeta_b(value: float, j: int = j, warm: dict = warm) -> float:
            sub = ProfiledDeviance(_drop_fixed(cp, j, value), reml=False)
            fit = quick_refit(sub, warm["theta"])
            if np.isfinite(fit.objective):
                warm["theta"] = fit.theta
            return float(np.sign(value - beta[j]) * np.sqrt(max(fit.objective - base, 0.0)))

        lo, hi = _signed_root_interval(zeta_b, beta[j], se[j], z, -np.inf, np.inf)
        rows.append((name, name, lo, hi))
    return rows


def _table(rows: list[tuple], level: float) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["parameter", "lme4_name", "lower", "upper"]).set_index(
        "parameter"
    )
    table.attrs["level"] = level
    return table


def wald_confint(res: Any, level: float = 0.95) -> pd.DataFrame:
    """γ ± z·SE for fixed effects; variance parameters NaN (as lme4's ``method="Wald"``)."""
    z = stats.norm.ppf(0.5 + level / 2)
    readable, lme4 = varpar_names(res)
    rows = [(r, n, np.nan, np.nan) for r, n in zip(readable, lme4, strict=False)]
    se = np.sqrt(np.diag(res.vcov.to_numpy()))
    for name, est, s in zip(res.fixef.index, res.fixef.to_numpy(), se, strict=False):
        rows.append((name, name, est - z * s, est + z * s))
    return _table(rows, level)


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
    updater = ResponseUpdater(res.design, res.engine.cp)
    ys = simulate_responses(res, nsim, rng)
    draws, failed = [], 0
    with Progress(nsim, "bootstrap", progress) as bar, single_blas_thread():
        for y in ys:
            obj = updater.objective(y, res.reml)
            fit = quick_refit(obj, res.theta)
            if not fit.converged:
                failed += 1
            else:
                sol = solve(obj, fit.theta)
                draws.append(
                    np.concatenate([theta_to_sdcor(obj.cp, fit.theta, sol.sigma), sol.beta])
                )
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
    method: str = "wald",
    level: float = 0.95,
    nsim: int = 500,
    seed: Any = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Confidence intervals for SDs/correlations of the random effects, σ and γ.

    Parameters
    ----------
    method : {"wald", "profile", "boot"}
    level : float
    nsim, seed, progress : bootstrap settings (``method="boot"``).

    Returns
    -------
    DataFrame indexed by readable parameter names with columns ``lme4_name, lower, upper``.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    method = str(method).lower()
    if method == "wald":
        return wald_confint(res, level)
    if method == "profile":
        return profile_confint(res, level)
    if method in ("boot", "bootstrap"):
        return boot_confint(res, level, nsim=nsim, seed=seed, progress=progress)
    raise ValueError(f"method must be 'wald', 'profile' or 'boot', not {method!r}.")

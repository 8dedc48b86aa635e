"""Simulation-based diagnostics for GLMMs (DHARMa's idea, Hartig 2022).

Responses are simulated from the fitted model (new random effects, as DHARMa's default
for lme4 fits); each observation's scaled residual is where it falls in its own simulated
distribution: the randomised probability integral transform

    r_i = F̂_i(y_i⁻) + U_i [F̂_i(y_i) - F̂_i(y_i⁻)],   U_i ~ U(0, 1),

with F̂_i the empirical CDF of the nsim simulated values (binomial responses as counts of
successes).  Under a correct model the r_i are uniform on (0, 1) whatever the family, so
one QQ plot and one set of tests serve every GLMM:

- uniformity: Kolmogorov-Smirnov against U(0, 1);
- dispersion: the variance of the raw residuals y - ȳ_sim over its simulated values
  (two-sided; ratio > 1 overdispersion);
- zero inflation: observed zeros over simulated zeros (counts);
- outliers: observations outside every simulation, against the rate at which one
  simulated data set falls outside the others (DHARMa's bootstrap version).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from .simulate import simulate, trials_of

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult


@dataclass(frozen=True)
class SimulatedResiduals:
    """Scaled residuals and the simulations behind them.

    Attributes
    ----------
    residuals : pandas.Series
        r_i in (0, 1), indexed by the rows used.
    observed : ndarray (n,)
        y on the simulation's scale (counts of successes for a binomial).
    simulated : ndarray (nsim, n)
    fitted : ndarray (n,)
        Mean of the simulations per observation.
    """

    residuals: pd.Series
    observed: np.ndarray
    simulated: np.ndarray
    fitted: np.ndarray

    @property
    def nsim(self) -> int:
        return int(self.simulated.shape[0])


def _on_count_scale(res: GLMMResult, y: np.ndarray) -> np.ndarray:
    return np.round(y * trials_of(res)) if res.family == "binomial" else y


def simulate_residuals(res: GLMMResult, nsim: int = 250, seed: Any = None) -> SimulatedResiduals:
    """DHARMa's ``simulateResiduals(m, n = nsim)`` (see the module docstring)."""
    if nsim < 10:
        raise ValueError(f"nsim must be at least 10, got {nsim}.")
    rng = np.random.default_rng(seed) if not isinstance(seed, np.random.Generator) else seed
    sims = _on_count_scale(res, simulate(res, nsim, rng))
    obs = _on_count_scale(res, res.fit_state.family.y)
    below = (sims < obs[None, :]).mean(axis=0)
    at_or_below = (sims <= obs[None, :]).mean(axis=0)
    u = rng.uniform(size=obs.size)
    r = below + u * (at_or_below - below)
    return SimulatedResiduals(pd.Series(r, index=res.design.row_index, name="scaled_residual"),
                              obs, sims, sims.mean(axis=0))


def uniformity_test(sim: SimulatedResiduals) -> pd.Series:
    """Kolmogorov-Smirnov test of the scaled residuals against U(0, 1)."""
    test = stats.kstest(sim.residuals.to_numpy(), "uniform")
    return pd.Series({"statistic": float(test.statistic), "p": float(test.pvalue)},
                     name="uniformity")


def dispersion_test(sim: SimulatedResiduals) -> pd.Series:
    """DHARMa's ``testDispersion``: var(y - ȳ_sim) over its simulated distribution."""
    observed = float(np.var(sim.observed - sim.fitted))
    simulated = np.var(sim.simulated - sim.fitted[None, :], axis=1)
    ratio = observed / float(np.mean(simulated))
    p_hi = (1 + np.sum(simulated >= observed)) / (1 + simulated.size)
    p_lo = (1 + np.sum(simulated <= observed)) / (1 + simulated.size)
    return pd.Series({"ratio": ratio, "p": float(min(1.0, 2 * min(p_hi, p_lo)))},
                     name="dispersion")


def zero_inflation_test(sim: SimulatedResiduals) -> pd.Series:
    """Observed over expected zeros, with a two-sided simulation p-value."""
    observed = float(np.sum(sim.observed == 0))
    simulated = np.sum(sim.simulated == 0, axis=1)
    expected = float(np.mean(simulated))
    ratio = observed / expected if expected > 0 else np.inf
    p_hi = (1 + np.sum(simulated >= observed)) / (1 + simulated.size)
    p_lo = (1 + np.sum(simulated <= observed)) / (1 + simulated.size)
    return pd.Series({"observed": observed, "expected": expected, "ratio": ratio,
                      "p": float(min(1.0, 2 * min(p_hi, p_lo)))}, name="zero_inflation")


def _outside(values: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """values (n,) strictly outside the range of sims (m, n), column by column."""
    return (values < sims.min(axis=0)) | (values > sims.max(axis=0))


def outlier_test(sim: SimulatedResiduals, max_reference: int = 100) -> pd.Series:
    """Observations outside the range of all their simulations, against the rate at which a
    simulated data set falls outside the others (DHARMa's ``type = "bootstrap"``: for
    discrete responses the nominal 2/(nsim + 1) does not apply)."""
    k = int(np.sum(_outside(sim.observed, sim.simulated)))
    m = min(sim.nsim, max_reference)
    rates = [
        np.mean(_outside(sim.simulated[j], np.delete(sim.simulated, j, axis=0)))
        for j in range(m)
    ]
    rate = float(np.mean(rates))
    n = sim.observed.size
    p = float(stats.binomtest(k, n, min(max(rate, 1e-12), 1.0)).pvalue)
    return pd.Series({"outliers": k, "expected": rate * n, "p": p}, name="outliers")


def binned_residuals(res: GLMMResult, bins: int | None = None) -> pd.DataFrame:
    """Gelman & Hill's binned residual plot data (binomial fits).

    Observations sorted by fitted probability are cut into ``bins`` groups of (nearly)
    equal size (default √n as ``arm::binnedplot``); per bin the mean fitted value, the
    mean residual y - μ̂ and ±2 SE bounds 2√(p̄(1 - p̄)/n_bin) (weighted by trials).
    """
    if res.family != "binomial":
        raise ValueError("binned residuals are for binomial fits; use simulate_residuals().")
    fam = res.fit_state.family
    mu, y, w = res.fit_state.mu, fam.y, fam.weights
    n = mu.size
    bins = int(bins or max(2, int(np.sqrt(n))))
    order = np.argsort(mu, kind="stable")
    rows = []
    for idx in np.array_split(order, bins):
        if idx.size == 0:
            continue
        ww = w[idx]
        p = float(np.average(mu[idx], weights=ww))
        resid = float(np.average(y[idx] - mu[idx], weights=ww))
        se = float(np.sqrt(p * (1 - p) / ww.sum()))
        rows.append({"fitted": p, "residual": resid, "lower": -2 * se, "upper": 2 * se,
                     "n": int(idx.size)})
    out = pd.DataFrame(rows)
    out["outside"] = (out["residual"] < out["lower"]) | (out["residual"] > out["upper"])
    return out

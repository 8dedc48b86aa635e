"""Posterior summaries as R's ``posterior::summarise_draws`` computes them.

``sd`` with n - 1, quantiles of type 7 (R's default, NumPy's ``linear``), R-hat as the
larger of the rank-normalised split-R-hat and its folded version, bulk and tail ESS and
Monte Carlo standard errors (Vehtari et al. 2021), through ArviZ.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

COLUMNS = ["mean", "sd", "q2.5", "q50", "q97.5", "rhat", "ess_bulk", "ess_tail",
           "mcse_mean", "mcse_q2.5", "mcse_q97.5"]


def summarise(x: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """One parameter's summary from draws of shape (chains, draws)."""
    import arviz as az

    x = np.asarray(x, dtype=float)
    lo, hi = (1.0 - level) / 2.0, 1.0 - (1.0 - level) / 2.0
    flat = x.ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = {
            "mean": float(flat.mean()),
            "sd": float(flat.std(ddof=1)) if flat.size > 1 else np.nan,
            "q2.5": float(np.quantile(flat, lo)),
            "q50": float(np.quantile(flat, 0.5)),
            "q97.5": float(np.quantile(flat, hi)),
            "rhat": _scalar(az.rhat(x, method="rank")),
            "ess_bulk": _scalar(az.ess(x, method="bulk")),
            "ess_tail": _scalar(az.ess(x, method="tail")),
            "mcse_mean": _scalar(az.mcse(x, method="mean")),
            "mcse_q2.5": _scalar(az.mcse(x, method="quantile", prob=lo)),
            "mcse_q97.5": _scalar(az.mcse(x, method="quantile", prob=hi)),
        }
    return out


def summary_table(draws: dict[str, np.ndarray], level: float = 0.95) -> pd.DataFrame:
    """One row per parameter (name -> (chains, draws) array), columns :data:`COLUMNS`.

    For ``level`` other than 0.95 the quantile columns are named after it (``q5``, ``q95``).
    """
    rows = {name: summarise(x, level) for name, x in draws.items()}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS)
    if level != 0.95:
        lo = _pct((1.0 - level) / 2.0)
        hi = _pct(1.0 - (1.0 - level) / 2.0)
        table = table.rename(columns={"q2.5": f"q{lo}", "q97.5": f"q{hi}",
                                      "mcse_q2.5": f"mcse_q{lo}", "mcse_q97.5": f"mcse_q{hi}"})
    table.index.name = "parameter"
    return table


def _scalar(value: object) -> float:
    """ArviZ returns 0-d or 1-element arrays depending on the statistic."""
    return float(np.asarray(value, dtype=float).reshape(-1)[0])


def _pct(p: float) -> str:
    return f"{100 * p:.10g}"

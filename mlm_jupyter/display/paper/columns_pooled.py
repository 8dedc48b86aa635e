"""The paper-table column of a model pooled over multiple imputations (``PooledResult``).

Fixed effects are Rubin's rules as ``res.coef_table`` holds them (mitml's ``testEstimates``):
pooled estimates, √T standard errors, Barnard-Rubin df, t and p, and the interval
Q̄ ± t_{df}·√T (mitml's ``confint``); the fraction of missing information is available as the
``"fmi"`` statistic.  The random part is ``res.varcorr`` (every variance and covariance
averaged over the imputations); the ICC and R² are the means of the m fits' ``icc()`` and
``r2()`` (an average, as the variance components).  No likelihood-based fit rows (m
likelihoods of different data have no pooled value here); the table note states m.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .columns import ColumnOptions, ModelColumn, random_entries, register_column_builder


def _is_pooled(res: Any) -> bool:
    from ...pooling import PooledResult

    return isinstance(res, PooledResult)


def _fixed(res: Any, level: float) -> pd.DataFrame:
    table = res.coef_table
    est, se, df = (table[c].to_numpy(float) for c in ("estimate", "std_error", "df"))
    crit = stats.t.ppf(0.5 + level / 2, df)
    return pd.DataFrame({
        "estimate": est, "std_error": se, "df": df, "t": table["t"].to_numpy(float),
        "p": table["p"].to_numpy(float), "lower": est - crit * se, "upper": est + crit * se,
        "fmi": table["fmi"].to_numpy(float),
    }, index=table.index)


def _mean_of(fits: tuple[Any, ...], method: str, key: str) -> float:
    try:
        return float(np.mean([float(getattr(r, method)()[key]) for r in fits]))
    except (ValueError, ArithmeticError, KeyError):
        return float("nan")


def pooled_column(res: Any, options: ColumnOptions) -> ModelColumn:
    """The column of a pooled result: Rubin's rules, averaged variance components."""
    if options.std is not None:
        raise ValueError("standardised coefficients are not pooled; leave std=None.")
    fits = res.results
    df_text = (f"Barnard-Rubin df (complete-data df {res.df_com:g})"
               if np.isfinite(res.df_com) else "Rubin's (1987) large-sample df")
    inference = (f"t tests pooled over m = {res.m} imputations by Rubin's rules with {df_text}; "
                 f"{100 * options.level:g}% intervals from the same t distributions")
    notes = [f"m = {res.m} imputations; variance components, ICC and R² averaged over them"]
    singular = sum(bool(r.is_singular) for r in fits)
    if singular:
        notes.append(f"{singular} of {res.m} fits singular")
    fit = {"r2_marginal": _mean_of(fits, "r2", "marginal"),
           "r2_conditional": _mean_of(fits, "r2", "conditional")}
    return ModelColumn(
        fixed=_fixed(res, options.level), random=random_entries(fits[0], res.varcorr),
        icc=_mean_of(fits, "icc", "adjusted"), nobs=int(res.nobs), ngroups=dict(res.ngroups),
        fit={k: v for k, v in fit.items() if np.isfinite(v)},
        estimation=f"{'REML' if res.reml else 'ML'}, pooled (m = {res.m})",
        ddf="Barnard-Rubin", notes=tuple(notes), kind="pooled", inference=inference,
    )


register_column_builder(_is_pooled, pooled_column)

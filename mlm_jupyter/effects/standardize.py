"""Standardised fixed effects, defined as R's effectsize package defines them.

Two definitions, because "standardised coefficient" means different things in different
papers and a table must say which one it shows:

``"refit"`` (effectsize's default, and what ``sjPlot::tab_model(show.std = "std")`` shows)
    Every numeric data column the formula uses is z-scored over the rows of the fit,
    (x - mean(x)) / SD(x) with the n - 1 SD, the response included; grouping factors and
    non-numeric columns (strings, categoricals, booleans) are left as they are; then the same
    formula is fitted again (REML or ML as the original).  Numeric 0/1 columns are z-scored
    too, as in effectsize.  Transforms written in the formula are applied to the z-scored
    columns, so ``cwc(x, g)`` becomes cwc(z(x), g) = cwc(x, g) / SD(x): its unit is one SD of
    the raw column, not of the centred one.  Standard errors, df, p and intervals are those of
    the refit (its own Satterthwaite or Kenward-Roger df).
``"basic"`` (effectsize's ``method = "basic"``)
    No refit: every coefficient of a model-matrix column x_k is multiplied by
    SD(x_k) / SD(y), the SDs of that column and of the response over the rows of the fit
    (interaction and dummy columns included).  SEs and interval bounds are scaled the same
    way; df, t and p are the original ones.  The intercept has no standardised value (NaN;
    effectsize prints 0).

Neither is the "pseudo-standardisation" of multilevel texts (level-specific SDs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

METHODS = ("refit", "basic")
INTERCEPT = "(Intercept)"


def _check_method(method: str) -> str:
    key = str(method).lower()
    if key not in METHODS:
        raise ValueError(
            f"standardisation method must be one of {METHODS}, not {method!r}: 'refit' refits "
            "on z-scored data (as sjPlot's show.std), 'basic' scales by SD(x) / SD(y)."
        )
    return key


def with_interval(table: pd.DataFrame, level: float) -> pd.DataFrame:
    """``estimate, std_error, df, t, p`` plus ``lower, upper``: estimate ± t_{df,(1+level)/2}·SE.

    The same t distribution (and df) as the p-value, so an interval excludes 0 exactly when
    p < 1 - level; identical to ``res.contrast(term, level=level)``.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    out = table.loc[:, ["estimate", "std_error", "df", "t", "p"]].copy()
    half = stats.t.ppf(0.5 + level / 2, out["df"].to_numpy(float)) * out["std_error"]
    out["lower"] = out["estimate"] - half
    out["upper"] = out["estimate"] + half
    return out


def standardized_data(res: Any) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The rows of the fit with every numeric, non-grouping column z-scored; and which ones."""
    data = res.data_used
    if data is None:
        raise ValueError(
            "standardising by refit needs the data of the fit, which this result does not keep "
            "(fitted where the data live); use method='basic' instead."
        )
    groups = {c for term in res.spec.random for c in term.group_columns}
    out = data.copy()
    scaled = []
    for name in data.columns:
        column = data[name]
        if name in groups or not pd.api.types.is_numeric_dtype(column) or (
            pd.api.types.is_bool_dtype(column)
        ):
            continue
        values = column.to_numpy(dtype=float)
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        if not sd > 0:
            continue  # a constant column (a model with it has no slope for it anyway)
        out[name] = (values - values.mean()) / sd
        scaled.append(name)
    return out, tuple(scaled)


def standardized_coefficients(
    res: Any, method: str = "refit", ddf: str = "satterthwaite", level: float = 0.95
) -> pd.DataFrame:
    """Standardised fixed effects with SE, df, t, p and a ``level`` confidence interval.

    Parameters
    ----------
    res : MixedModelResult
    method : {"refit", "basic"}
        See the module docstring: refit on z-scored numeric columns (effectsize's and
        sjPlot's default) or scale by SD(x_k) / SD(y) without refitting.
    ddf : {"satterthwaite", "kenward-roger", "residual"}
        Denominator df of the tests and intervals (of the refit for ``"refit"``).
    level : float
        Confidence level of ``lower, upper``.

    Returns
    -------
    pandas.DataFrame
        Index the fixed-effect names of ``res``; columns ``estimate, std_error, df, t, p,
        lower, upper``.  ``attrs["method"]`` and, for ``"refit"``, ``attrs["standardized"]``
        (the z-scored columns) say what was done.
    """
    method = _check_method(method)
    if method == "basic":
        table = with_interval(res.coefficients(ddf), level)
        X, y = res.design.X, res.design.y
        sd_y = float(np.std(y, ddof=1))
        scale = np.std(X, axis=0, ddof=1) / sd_y
        names = list(res.fixef.index)
        scale[[k for k, n in enumerate(names) if n == INTERCEPT]] = np.nan
        for col in ("estimate", "std_error", "lower", "upper"):
            table[col] = table[col].to_numpy() * scale
        table.attrs["method"] = "basic"
        return table

    from ..fitting import fit

    data, scaled = standardized_data(res)
    refit = fit(res.formula, data, reml=res.reml, warn=False)
    if refit.nobs != res.nobs:
        raise ValueError(
            f"the refit on z-scored data used {refit.nobs} rows instead of {res.nobs}: a "
            "transform in the formula (e.g. log) is undefined on negative z-scores. Use "
            "method='basic', or transform the columns before fitting."
        )
    table = with_interval(refit.coefficients(ddf), level)
    table.attrs.update(method="refit", standardized=scaled)
    return table

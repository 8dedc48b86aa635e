"""The paper-table column of a Bayesian fit (``BayesianResult``), as brms users report one.

Fixed effects: posterior means, posterior SDs (in the SE column) and equal-tailed credible
intervals, with R-hat and bulk ESS available as statistics; no t, df or p (a posterior gives
none).  At the 95% level every number is ``res.coef_table``'s; other levels take the
quantiles of ``res.posterior_summary(level)``.  The random part is ``res.varcorr``'s posterior
means (variances, and correlations for ρ); the ICC is the posterior mean of
τ00 / (τ00 + σ²) (``res.icc()``) where that is the model's ICC (random intercepts of one
grouping factor), else left empty.  No likelihood-based fit rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .columns import ColumnOptions, ModelColumn, random_entries, register_column_builder


def _is_bayes(res: Any) -> bool:
    return getattr(res, "method", None) == "bayes"


def _fixed(res: Any, level: float) -> pd.DataFrame:
    table = res.coef_table
    lower, upper = table["lower"].to_numpy(float), table["upper"].to_numpy(float)
    if level != 0.95:
        s = res.posterior_summary(level).loc[list(res.names.fixed)]
        lower, upper = s.iloc[:, 2].to_numpy(float), s.iloc[:, 4].to_numpy(float)
    return pd.DataFrame({
        "estimate": table["estimate"].to_numpy(float),
        "std_error": table["std_error"].to_numpy(float),
        "df": np.nan, "t": np.nan, "p": np.nan, "lower": lower, "upper": upper,
        "rhat": table["rhat"].to_numpy(float), "ess_bulk": table["ess_bulk"].to_numpy(float),
    }, index=table.index)


def _icc(res: Any) -> float:
    terms = res.design.terms
    if len({t.group for t in terms}) != 1 or any(t.columns != ["(Intercept)"] for t in terms):
        return float("nan")
    try:
        return float(res.icc()["icc"])
    except (ValueError, KeyError):
        return float("nan")


def bayes_column(res: Any, options: ColumnOptions) -> ModelColumn:
    """The column of a posterior: means, credible intervals, R-hat and ESS."""
    if options.std is not None:
        raise ValueError("standardised coefficients are not computed for Bayesian fits; "
                         "leave std=None (or fit the model to z-scored variables).")
    info = res.sampler
    pct = f"{100 * options.level:g}%"
    inference = (f"posterior means, posterior SDs (SE column) and {pct} equal-tailed credible "
                 f"intervals from {info.chains} chains × {info.draws:,} draws (NUTS); no "
                 "p-values")
    notes = [m for m in res.messages if "divergent" in m.lower() or "r-hat" in m.lower()]
    return ModelColumn(
        fixed=_fixed(res, options.level), random=random_entries(res), icc=_icc(res),
        nobs=int(res.nobs), ngroups=dict(res.ngroups), fit={}, estimation="Bayesian (NUTS)",
        ddf="none (posterior)", estimate_label="Posterior mean", statistic="t",
        notes=tuple(notes), interval_label="CrI", kind="bayes", inference=inference,
    )


register_column_builder(_is_bayes, bayes_column)

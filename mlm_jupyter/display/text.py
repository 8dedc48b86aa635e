"""``summary_text``: lme4 + lmerTest's ``print(summary(m))``, line for line.

The layout and every number's formatting follow lme4 1.1's ``print.summary.merMod`` with
``digits = 4`` (R's default 7 - 3), so a user can put our summary next to R's and read the
same digits.  All tables come from :mod:`.tables`, which the HTML display shares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .rformat import format_r, print_named, round_r, zapsmall
from .tables import (
    DIGITS,
    coefficient_frame,
    ddf_label,
    display_messages,
    fit_statistics_table,
    fixed_correlation_table,
    fixed_effects_table,
    random_effects_table,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..results import MixedModelResult

#: lme4's ``getOption("lme4.summary.cor.max")``.
COR_MAX = 12


def title_line(res: MixedModelResult, ddf: str = "satterthwaite", has_tests: bool = True) -> str:
    """``Linear mixed model fit by REML. t-tests use Satterthwaite's method [...]``."""
    method = "REML" if res.reml else "maximum likelihood "
    if not has_tests:
        return f"Linear mixed model fit by {method} ['lmerMod']"
    return (
        f"Linear mixed model fit by {method}. t-tests use {ddf_label(ddf)}'s method "
        "['lmerModLmerTest']"
    )


def scaled_residual_quantiles(res: MixedModelResult) -> np.ndarray:
    """Min, 1Q, median, 3Q, max of the scaled (Pearson) residuals (y - Xγ - Zu) / σ.

    Quartiles are R's default type 7 (linear interpolation), NumPy's default too.
    """
    from ..warehouse.rows import origin_of

    if origin_of(res) is not None:  # rows in a database: the quantiles are computed there
        from ..warehouse.rowwise import residual_quantiles

        return residual_quantiles(res)
    resid = res.residuals("scaled").to_numpy()
    return np.quantile(resid, [0.0, 0.25, 0.5, 0.75, 1.0])


def summary_text(
    res: MixedModelResult,
    data_name: str | None = None,
    ddf: str = "satterthwaite",
    correlation: bool | None = None,
) -> str:
    """lme4-style plain-text summary of a fit.

    Parameters
    ----------
    res : MixedModelResult
    data_name : str, optional
        Printed on the ``Data:`` line (the name of the data frame; omitted when unknown).
    ddf : {"satterthwaite", "kenward-roger"}
        Denominator df method of the t tests (lmerTest's ``ddf``).
    correlation : bool, optional
        Print the correlation of the fixed effects; by default when p <= 12 (lme4's rule).

    Returns
    -------
    str
        Title, formula, REML criterion (or AIC/BIC/logLik/deviance/df.resid for ML fits),
        scaled residuals, random effects (variances τ and σ², SDs, correlations), numbers
        of observations and groups, fixed effects γ with SE, df, t, Pr(>|t|) and stars,
        the correlation of the fixed effects and the fit's messages (e.g. singular fit).
    """
    fixed, has_tests = coefficient_frame(res, ddf)
    out = [title_line(res, ddf, has_tests), f"Formula: {res.formula}"]
    if data_name:
        out.append(f"   Data: {data_name}")
    out.append("")
    stats = fit_statistics_table(res)
    if res.reml:
        value = format_r(round_r([res.objective], 1), 7)[0]
        out.append(f"REML criterion at convergence: {value}")
    else:
        names = ["AIC", "BIC", "logLik", "deviance", "df.resid"]
        out += print_named([c[0] for c in stats.cells[:5]], names)
    out += ["", "Scaled residuals: "]
    q = zapsmall(scaled_residual_quantiles(res).tolist(), DIGITS + 1)
    out += print_named(format_r(q, DIGITS), ["Min", "1Q", "Median", "3Q", "Max"])
    out += ["", "Random effects:", random_effects_table(res).to_text()]
    out += groups_and_fixed_lines(res, fixed_effects_table(res, ddf) if len(fixed) else None,
                                  correlation)
    out += display_messages(res, ddf)
    return "\n".join(out)


def groups_and_fixed_lines(res: Any, fixed_table: Any, correlation: bool | None) -> list[str]:
    """lme4's "Number of obs" line, the fixed-effects table and their correlation.

    Shared by the LMM and GLMM summaries; ``fixed_table`` is None for a model without
    fixed effects.  The correlation matrix is shown for p <= ``COR_MAX`` unless
    ``correlation`` says otherwise, as lme4's ``print(summary(m))``.
    """
    groups = "; ".join(f"{g}, {n}" for g, n in res.ngroups.items())
    out = [f"Number of obs: {res.nobs}, groups:  {groups}"]
    if fixed_table is None:
        return out
    out += ["", "Fixed effects:", fixed_table.to_text()]
    p = len(res.fixef)
    show = p <= COR_MAX if correlation is None else correlation
    corr = fixed_correlation_table(res) if show else None
    if corr is not None:
        out += ["", "Correlation of Fixed Effects:", corr.to_text()]
    elif correlation is None and p > COR_MAX:
        out += ["", f"Correlation matrix not shown by default, as p = {p} > {COR_MAX}."]
    return out

"""The paper-table column of a GLMM (``GLMMResult``), as ``sjPlot::tab_model`` lays one out.

Fixed effects are glmer's Wald z tests (``res.coef_table``).  By default (``exponentiate``)
estimates and intervals are exp(β): odds ratios (logit), incidence-rate ratios (log) or
hazard ratios (cloglog), the interval exp(β ± z·SE) is ``res.ratios()``'s and the SE is the
delta-method SE exp(β)·SE(β), as ``parameters::model_parameters(exponentiate = TRUE)`` and
tab_model print them; a probit link has no ratio reading and stays on the link scale.  The
random part is on the latent scale as ``performance`` reports it: σ² is the distribution-
specific variance plus any observation-level dispersion (``insight::get_variance_residual``,
π²/3 for a logit link), τ and ρ come from ``res.varcorr``, the ICC and R² from ``res.icc()``
and ``res.r2()`` (Nakagawa).  The fit rows: deviance −2 log L (``res.objective``, what
glmer's summary prints), AIC, BIC, log-likelihood.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .columns import (
    ColumnOptions,
    ModelColumn,
    RandomEntry,
    fit_notes,
    random_entries,
    register_column_builder,
)

RATIO_LABELS = {"logit": "Odds ratio", "log": "Rate ratio", "cloglog": "Hazard ratio"}
LINK_LABELS = {"logit": "Log-odds", "probit": "Probit", "cloglog": "cloglog", "log": "Log rate"}


def _is_glmm(res: Any) -> bool:
    return bool(getattr(res, "is_glmm", False))


def estimation_label(res: Any) -> str:
    """``"ML (Laplace)"`` or ``"ML (AGQ, 9 points)"``: glmer's approximation."""
    return "ML (Laplace)" if res.nagq == 1 else f"ML (AGQ, {res.nagq} points)"


def _fixed(res: Any, options: ColumnOptions, ratio: bool) -> pd.DataFrame:
    table = res.coef_table
    est, se = table["estimate"].to_numpy(float), table["std_error"].to_numpy(float)
    z = stats.norm.ppf(0.5 + options.level / 2)
    if ratio:
        r = res.ratios(level=options.level)
        estimate = r["ratio"].to_numpy(float)
        lower, upper = r["lower"].to_numpy(float), r["upper"].to_numpy(float)
        std_error = estimate * se  # delta method, as parameters(exponentiate = TRUE)
    else:
        estimate, std_error = est, se
        lower, upper = est - z * se, est + z * se
    out = pd.DataFrame({
        "estimate": estimate, "std_error": std_error, "df": np.nan,
        "t": table["z"].to_numpy(float), "p": table["p"].to_numpy(float),
        "lower": lower, "upper": upper,
    }, index=table.index)
    if options.std is not None:
        for col in ("estimate", "std_error", "lower", "upper"):
            out[f"std_{col}"] = np.nan
    return out


def _latent_residual(res: Any) -> float | None:
    """σ² on the latent scale (``insight::get_variance_residual``), None where undefined."""
    try:
        return float(res.variance_components()["var.residual"])
    except (ValueError, ArithmeticError, KeyError):
        return None


def _effect_sizes(res: Any) -> tuple[float, dict[str, float]]:
    try:
        icc = float(res.icc()["adjusted"])
    except (ValueError, ArithmeticError):
        icc = float("nan")
    try:
        r2 = res.r2()
        r2s = {"r2_marginal": float(r2["marginal"]), "r2_conditional": float(r2["conditional"])}
    except (ValueError, ArithmeticError):
        r2s = {}
    return icc, r2s


def glmm_column(res: Any, options: ColumnOptions) -> ModelColumn:
    """The column of a GLMM: ratios (or link-scale estimates), Wald z, latent-scale parts."""
    ratio = options.exponentiate and res.link in RATIO_LABELS
    entries = random_entries(res)
    sigma2 = _latent_residual(res)
    if sigma2 is not None:
        entries = (RandomEntry(("sigma2",), "", sigma2), *entries)
    icc, r2 = _effect_sizes(res)
    fit = {**r2, "deviance": float(res.objective), "aic": float(res.aic),
           "bic": float(res.bic), "loglik": float(res.loglik)}
    label = RATIO_LABELS[res.link] if ratio else LINK_LABELS.get(res.link, "Estimate")
    scale = (f"exp(estimate), {label.lower()}s" if ratio
             else f"estimates on the {res.link} scale")
    pct = f"{100 * options.level:g}%"
    inference = (f"{res.family.replace('_', ' ')} GLMM ({res.link} link): Wald z tests and "
                 f"{pct} Wald intervals as glmer's summary ({scale}"
                 + ("; SE by the delta method" if ratio else "") + ")")
    notes = list(fit_notes(res))
    if options.std is not None:
        notes.append("no standardised coefficients for a GLMM")
    if options.exponentiate and not ratio:
        notes.append(f"the {res.link} link has no ratio reading: estimates on the link scale")
    return ModelColumn(
        fixed=_fixed(res, options, ratio), random=entries, icc=icc, nobs=int(res.nobs),
        ngroups=dict(res.ngroups), fit=fit, estimation=estimation_label(res), ddf="Wald z",
        estimate_label=label, statistic="z", notes=tuple(notes), kind="glmm",
        inference=inference,
    )
register_column_builder(_is_glmm, glmm_column)

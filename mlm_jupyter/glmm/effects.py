"""GLMM effect sizes on the scales people read: ratios, latent-scale ICC, Nakagawa R²,
the median odds ratio and random-slope ranges.

- **Ratios**: exp(β) with exp of the interval, an odds ratio (logit), rate ratio (log) or
  hazard ratio (cloglog, the grouped-time proportional-hazards reading).
- **Variance components** as ``insight::get_variance`` / ``performance`` give them
  (Nakagawa, Johnson & Schielzeth 2017): σ²_f = var(Xβ̂) (n - 1 denominator), σ²_α =
  Σ_terms tr(Σ_k Z_k'Z_k)/n (Johnson 2014; the intercept variance for random intercepts),
  observation-level terms (one level per row) as the dispersion σ²_e, and the distribution-
  specific variance σ²_d: π²/3 (logit), 1 (probit), π²/6 (cloglog); for counts the
  lognormal approximation log(1 + 1/μ) (Poisson) or log(1 + 1/μ + 1/θ) (negative
  binomial), with μ = exp(β₀) of the null model refitted with the same random effects (for
  the negative binomial at the model's θ, as ``update()`` of glmer.nb's final fit does).
- ICC (adjusted) = σ²_α / (σ²_α + σ²_e + σ²_d), unadjusted = σ²_α / (σ²_f + σ²_α + σ²_e + σ²_d);
  R²_marginal = σ²_f / total, R²_conditional = (σ²_f + σ²_α) / total.
- **Median odds ratio** (Merlo et al. 2006): MOR = exp(√(2σ²) Φ⁻¹(0.75)) per random
  intercept, the median ratio of the odds of two random clusters (a median rate ratio
  with a log link).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..result_common import relative_factors

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult

RATIO_NAMES = {"logit": "odds_ratio", "log": "rate_ratio", "cloglog": "hazard_ratio"}
LINK_VARIANCE = {"logit": np.pi**2 / 3, "probit": 1.0, "cloglog": np.pi**2 / 6}


def ratio_name(res: GLMMResult) -> str:
    if res.link not in RATIO_NAMES:
        raise ValueError(
            f"exp(β) has no ratio reading with the {res.link} link; use a logit (odds "
            "ratios), log (rate ratios) or cloglog (hazard ratios) link."
        )
    return RATIO_NAMES[res.link]


def ratios(res: GLMMResult, level: float = 0.95, method: str = "wald") -> pd.DataFrame:
    """exp(β) with exp of the interval: ``ratio, lower, upper, p`` per fixed effect.

    ``method`` ``"wald"`` (β ± z SE) or ``"profile"`` (the likelihood profile's limits).
    ``attrs["kind"]`` names the ratio (odds_ratio, rate_ratio, hazard_ratio).
    """
    kind = ratio_name(res)
    table = res.coef_table
    ci = res.confint(method=method, level=level).loc[:, ["lower", "upper"]]
    ci = ci.iloc[len(ci) - len(table):]
    out = pd.DataFrame(
        {"ratio": np.exp(table["estimate"].to_numpy()), "lower": np.exp(ci["lower"].to_numpy()),
         "upper": np.exp(ci["upper"].to_numpy()), "p": table["p"].to_numpy()},
        index=table.index,
    )
    out.attrs.update(kind=kind, level=level, method=method)
    return out


# -- variance components (insight / performance) -----------------------------------------
def _observation_level(res: GLMMResult) -> list[bool]:
    return [t.n_levels == res.nobs and t.q == 1 for t in res.design.terms]


def variance_components(res: GLMMResult) -> pd.Series:
    """``var.fixed, var.random, var.residual, var.distribution, var.dispersion``."""
    design = res.design
    eta = design.X @ res.fixef.to_numpy()
    var_fixed = float(np.var(eta, ddof=1))
    var_random, var_disp = 0.0, 0.0
    for term, T, obs in zip(design.terms, relative_factors(design, res.theta),
                            _observation_level(res), strict=True):
        S = T @ T.T
        value = float(np.trace(S @ (term.Z.T @ term.Z)) / design.n)
        if obs:
            var_disp += value
        else:
            var_random += value
    var_dist = distribution_variance(res)
    return pd.Series({"var.fixed": var_fixed, "var.random": var_random,
                      "var.residual": var_dist + var_disp, "var.distribution": var_dist,
                      "var.dispersion": var_disp})


def distribution_variance(res: GLMMResult) -> float:
    """σ²_d: the link's latent variance, or the lognormal approximation for counts."""
    if res.family == "binomial":
        return float(LINK_VARIANCE[res.link])
    mu = float(np.exp(null_intercept(res)))
    if res.family == "poisson":
        return float(np.log1p(1.0 / mu))
    return float(np.log1p(1.0 / mu + 1.0 / res.dispersion))


def null_intercept(res: GLMMResult) -> float:
    """β₀ of ``y ~ 1 + (same random terms)`` (negative binomial at the model's θ)."""
    cached = res.__dict__.get("_null_intercept")
    if cached is not None:
        return cached
    from dataclasses import replace

    from ..design import Design
    from ..engine.glmm_fit import fit_glmm_design

    design: Design = res.design
    null = replace(design, X=np.ones((design.n, 1)), fixed_names=("(Intercept)",),
                   spec=replace(design.spec, fixed="1"))
    fam = res.fit_state.family
    state = fit_glmm_design(null, fam, estimate_nb=False)
    value = float(state.beta[0])
    res.__dict__["_null_intercept"] = value
    return value


def icc(res: GLMMResult) -> pd.Series:
    """Latent-scale ICC: ``adjusted`` and ``unadjusted`` (performance::icc)."""
    v = variance_components(res)
    total = v["var.fixed"] + v["var.random"] + v["var.residual"]
    return pd.Series({"adjusted": v["var.random"] / (v["var.random"] + v["var.residual"]),
                      "unadjusted": v["var.random"] / total}, name="icc")


def r2(res: GLMMResult) -> pd.Series:
    """Nakagawa R²: ``marginal`` and ``conditional`` (performance::r2_nakagawa)."""
    v = variance_components(res)
    total = v["var.fixed"] + v["var.random"] + v["var.residual"]
    return pd.Series({"marginal": v["var.fixed"] / total,
                      "conditional": (v["var.fixed"] + v["var.random"]) / total}, name="r2")


def median_odds_ratio(res: GLMMResult) -> pd.Series:
    """MOR = exp(√(2σ²_u) Φ⁻¹(0.75)) for every random intercept (median rate ratio for log).

    Only the intercept variance of each term enters (for random-slope terms: at x = 0).
    """
    ratio_name(res)
    out = {}
    for term, T in zip(res.design.terms, relative_factors(res.design, res.theta), strict=True):
        if "(Intercept)" not in term.columns:
            continue
        i = term.columns.index("(Intercept)")
        var = float((T @ T.T)[i, i])
        out[term.group] = float(np.exp(np.sqrt(2 * var) * stats.norm.ppf(0.75)))
    name = "median_odds_ratio" if res.link == "logit" else "median_" + ratio_name(res)
    return pd.Series(out, name=name, dtype=float)


def random_slope_ranges(res: GLMMResult, level: float = 0.95) -> pd.DataFrame:
    """The LMM's ranges (fixed ± z·SD on the link scale) with their ratios exp(·)."""
    from ..effects import random_slope_ranges as link_ranges

    out = link_ranges(res, level=level)
    if res.link in RATIO_NAMES:
        for col in ("fixed", "lower", "upper"):
            out[f"{col}_ratio"] = np.exp(out[col])
        out.attrs["kind"] = RATIO_NAMES[res.link]
    return out

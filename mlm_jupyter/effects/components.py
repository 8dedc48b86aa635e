"""Reading the variance components: slope ranges, reliabilities, marginal variance, and the
proportional reduction of variance between two models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._common import default_group, group_codes, term_covariances


def slope_range(fixed: float, variance: float, level: float = 0.95) -> tuple[float, float, float]:
    """Range of cluster-specific coefficients γ ± z·√τ and the share with the opposite sign.

    Under the model the cluster coefficients are N(γ, τ); the central ``level`` share lies
    in γ ± z_{(1+level)/2} √τ (Raudenbush & Bryk's "plausible values range").  The share of
    clusters whose coefficient has the opposite sign of γ is Φ(-|γ| / √τ).
    E.g. γ = 1.72, τ = 0.91: 1.72 ± 1.96·0.954 = -0.15 to 3.59.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    if variance < 0:
        raise ValueError(f"a variance cannot be negative, got {variance}.")
    z = stats.norm.ppf(0.5 + level / 2)
    sd = float(np.sqrt(variance))
    if sd == 0:
        opposite = 0.0
    elif fixed == 0:
        opposite = 0.5
    else:
        opposite = float(stats.norm.cdf(-abs(fixed) / sd))
    return fixed - z * sd, fixed + z * sd, opposite


def random_slope_ranges(res: Any, level: float = 0.95) -> pd.DataFrame:
    """For every random term: fixed effect ± z·√τ (0 ± z·√τ when it has no fixed part).

    Returns
    -------
    DataFrame
        One row per grouping factor and term: ``group, term, fixed, variance, sd, lower,
        upper, share_opposite_sign`` (share of clusters predicted to have a coefficient of
        the other sign than ``fixed``; 0.5 when ``fixed`` is 0).
    """
    rows = []
    for term, Sigma in zip(res.design.terms, term_covariances(res), strict=True):
        for i, name in enumerate(term.columns):
            fixed = float(res.fixef[name]) if name in res.fixef.index else 0.0
            tau = float(Sigma[i, i])
            lower, upper, opposite = slope_range(fixed, tau, level)
            rows.append(
                {
                    "group": term.group, "term": name, "fixed": fixed, "variance": tau,
                    "sd": np.sqrt(tau), "lower": lower, "upper": upper,
                    "share_opposite_sign": opposite,
                }
            )
    out = pd.DataFrame(rows)
    out.attrs["level"] = level
    return out


def proportional_reduction(base: float, model: float) -> float:
    """(τ_base - τ_model) / τ_base, e.g. 54.89 → 51.32 is 0.065 (6.5%)."""
    if base <= 0:
        return float("nan")
    return (base - model) / base


def variance_explained(base: Any, model: Any) -> pd.DataFrame:
    """Proportional reduction of each variance component from ``base`` to ``model``.

    For every variance in ``VarCorr`` (random-effect variances τ and the residual σ²) that
    both models share, (τ_base - τ_model) / τ_base (Raudenbush & Bryk's "proportion of
    variance explained"), for models fitted to the same rows.  ``base`` is the smaller model
    (fewer predictors), ``model`` the one with the predictors whose explained variance is
    wanted.

    A reduction can be negative, and the table's ``notes`` say why where one is: adding a
    level-1 predictor that explains within-cluster variance typically *increases* τ00,
    because the intercept variance is then estimated net of the within-cluster part
    (Snijders & Bosker 2012, sec. 7.1); it does not mean the predictor "explains negative
    variance".  When ``base`` holds every fixed effect of ``model`` and more, the arguments
    look swapped: the reductions are still computed as asked, and a note (and a
    ``MixedModelWarning``) says so.

    Returns
    -------
    ResultFrame
        ``group, term, base, model, reduction``; components missing in one model get NaN;
        ``notes`` explain negative reductions and a reversed order.
    """
    from ..frames import as_result_frame
    from ..messages import warn

    if base.nobs != model.nobs:
        raise ValueError(
            f"the two models use different numbers of observations ({base.nobs} and "
            f"{model.nobs}); variance explained compares fits to the same rows."
        )

    def variances(res: Any) -> dict[tuple[str, str], float]:
        vc = res.varcorr
        mask = vc["var2"].isna() | (vc["var2"].astype(str) == "")
        out = {}
        for _, row in vc[mask].iterrows():
            term = "" if row["group"] == "Residual" else str(row["var1"])
            out[(str(row["group"]), term)] = float(row["vcov"])
        return out

    b, m = variances(base), variances(model)
    keys = list(b) + [k for k in m if k not in b]
    keys = [k for k in keys if k[0] != "Residual"] + [k for k in keys if k[0] == "Residual"]
    rows = []
    for key in keys:
        vb, vm = b.get(key, np.nan), m.get(key, np.nan)
        rows.append(
            {"group": key[0], "term": key[1], "base": vb, "model": vm,
             "reduction": proportional_reduction(vb, vm) if key in b and key in m else np.nan}
        )
    table = pd.DataFrame(rows)
    notes = []
    larger, smaller = set(base.fixef.index), set(model.fixef.index)
    if smaller < larger:
        notes.append(
            "'base' has every fixed effect of 'model' and more, so this is the change from the "
            "larger to the smaller model; for the variance the extra predictors explain, call "
            "variance_explained(smaller_model, larger_model)."
        )
        warn("variance_explained: " + notes[-1], stacklevel=3)
    negative = [r for r in rows if np.isfinite(r["reduction"]) and r["reduction"] < 0]
    for r in negative:
        what = ("The residual variance" if r["group"] == "Residual"
                else f"The variance of {r['term']} over {r['group']}")
        notes.append(f"{what} is larger in 'model' ({r['base']:.4g} -> {r['model']:.4g}), so "
                     "its reduction is negative.")
    if negative and not notes[0].startswith("'base'"):
        notes.append(
            "A negative reduction is not an error: predictors that explain within-cluster "
            "variance usually increase the estimated between-cluster variance, which is then "
            "estimated net of the within-cluster part (Snijders & Bosker 2012, sec. 7.1); the "
            "added predictors explain none of that component."
        )
    return as_result_frame(table, notes)


def marginal_variance(res: Any, x: Any, group: str | None = None) -> pd.DataFrame:
    """Model-implied outcome variance across a level-1 predictor with a random slope.

    For z = (1, x): var(y | x) = zᵀ T z + σ² = τ00 + 2xτ01 + x²τ11 + σ², and two
    observations of the same cluster at x and x' have covariance τ00 + (x + x')τ01 + x x'τ11
    (at x = x': ``covariance`` below, so ``correlation`` = covariance / variance is the
    intraclass correlation at x).

    Parameters
    ----------
    x : scalar, array or DataFrame
        Values of the random slope's variable (one slope in the group), or a DataFrame with
        one column per random slope of the group.
    group : str, optional
        Grouping factor (default: lme4's first).

    Returns
    -------
    DataFrame
        The x values, ``random`` (zᵀ T z), ``residual`` (σ²), ``variance``, ``covariance``
        and ``correlation``; ``attrs["covariance_matrix"]`` holds the implied covariance
        between observations of one cluster at every pair of the x values.
    """
    group = default_group(res, group)
    T = res.tau(group)
    slopes = [c for c in T.columns if c != "(Intercept)"]
    if not slopes:
        raise ValueError(
            f"'{group}' has no random slope, so the variance does not change with x "
            f"(it is τ00 + σ² everywhere)."
        )
    if isinstance(x, pd.DataFrame):
        unknown = [c for c in x.columns if c not in slopes]
        if unknown:
            raise ValueError(f"{unknown} are not random slopes of '{group}'; use {slopes}.")
        values = x.reindex(columns=slopes, fill_value=0.0)
    else:
        if len(slopes) > 1:
            raise ValueError(
                f"'{group}' has several random slopes {slopes}; give x as a DataFrame with a "
                "column per slope."
            )
        values = pd.DataFrame({slopes[0]: np.atleast_1d(np.asarray(x, dtype=float))})
    Z = values.to_numpy(dtype=float)
    if "(Intercept)" in T.columns:
        Z = np.column_stack([np.ones(len(Z)), Z])
        names = ["(Intercept)", *slopes]
    else:
        names = slopes
    Tm = T.loc[names, names].to_numpy()
    cov = Z @ Tm @ Z.T
    random = np.diag(cov).copy()
    sigma2 = float(res.sigma**2)
    out = values.copy()
    out["random"] = random
    out["residual"] = sigma2
    out["variance"] = random + sigma2
    out["covariance"] = random
    out["correlation"] = random / (random + sigma2)
    out.attrs["covariance_matrix"] = cov
    return out


def reliability(res: Any, group: str | None = None) -> pd.DataFrame:
    """Reliability of each cluster's OLS intercept and slopes (Raudenbush & Bryk, ch. 3-4).

    Intercept (ICC(2)-type reliability of the cluster mean):  λ_j = τ00 / (τ00 + σ²/n_j).
    Random slope k:  λ_kj = τ_kk / (τ_kk + σ² / (n_j · var_j(x_k))), with var_j(x_k) the
    within-cluster variance of the slope's column (divisor n_j, so n_j·var_j is its sum of
    squares about the cluster mean); NaN where x_k does not vary in cluster j.

    Returns
    -------
    DataFrame
        One row per cluster (levels as strings) with ``n`` and one column per random term,
        then a row ``"(mean)"`` holding the means over clusters.
    """
    from ..warehouse.rows import origin_of

    group = default_group(res, group)
    rowless = origin_of(res) is not None  # rows in a database: sums from its aggregates
    if rowless:
        from ..warehouse.effects import cluster_counts, term_within_ss

        levels = next(t.levels for t in res.design.terms if t.group == group)
        counts = cluster_counts(res, group)
    else:
        codes, levels = group_codes(res, group)
        counts = np.bincount(codes, minlength=len(levels)).astype(float)
    n_levels = len(levels)
    sigma2 = float(res.sigma**2)
    table = pd.DataFrame({"n": counts}, index=pd.Index(levels, name=group))
    for k, (term, Sigma) in enumerate(zip(res.design.terms, term_covariances(res),
                                          strict=True)):
        if term.group != group:
            continue
        within = term_within_ss(res, k) if rowless else None
        for i, name in enumerate(term.columns):
            tau = float(Sigma[i, i])
            if within is not None:
                ss = within[:, i]
            else:
                col = term.Z[:, i]
                sums = np.bincount(codes, weights=col, minlength=n_levels)
                means = sums / np.maximum(counts, 1)
                ss = np.bincount(codes, weights=(col - means[codes]) ** 2, minlength=n_levels)
            if name == "(Intercept)":
                info = counts / sigma2
            else:
                info = ss / sigma2
            usable = info > 1e-12 * max(info.max(), 1e-300)
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(usable, tau / (tau + 1 / info), np.nan)
            table[name] = rel
    mean_row = table.mean(axis=0, skipna=True).to_frame().T
    mean_row.index = pd.Index(["(mean)"], name=group)
    return pd.concat([table, mean_row])

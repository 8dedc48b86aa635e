"""ICC and R² of a fitted model: Nakagawa (as R's performance/insight) and Rights & Sterba."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import group_codes, level_of, term_covariances


def nakagawa_variances(res: Any) -> pd.Series:
    """The variance pieces of ``insight::get_variance`` for a linear mixed model.

    σ²_f = var(X γ̂) (sample variance, divisor n - 1);
    σ²_r = Σ_k (1/n) Σ_i z_ikᵀ Σ_k z_ik over random terms k, where z_ik are the term's
    columns *taken from the fixed-effects model matrix* (Johnson 2014's mean random-effect
    variance; a random slope whose variable is not among the fixed effects contributes
    nothing there, as in insight);  σ²_ε = σ².

    Matching performance 0.10.2 / insight 0.19.0 exactly also means one of their quirks: of
    the uncorrelated pieces of an ``(x || g)`` term only the first (the intercept) enters
    σ²_r, so the slope variance of a ``||`` term is left out of the ICC and R².
    """
    from ..warehouse.rows import origin_of

    if origin_of(res) is not None:  # rows in a database: the same sums from its aggregates
        return _nakagawa_from_moments(res)
    X, names = res.design.X, list(res.design.fixed_names)
    fixed = X @ res.fixef.to_numpy()
    constant = np.ptp(fixed) <= 1e-12 * max(1.0, float(np.abs(fixed).max()))
    var_fixed = 0.0 if constant or len(fixed) < 2 else float(np.var(fixed, ddof=1))
    n = X.shape[0]
    var_random = _mean_random_variance(res, names, X.mean(axis=0), X.T @ X / n)
    return pd.Series(
        {"fixed": var_fixed, "random": var_random, "residual": float(res.sigma**2)},
        name="variance",
    )


def _nakagawa_from_moments(res: Any) -> pd.Series:
    """:func:`nakagawa_variances` from the fixed-effect columns' means and covariance:
    var(Xγ̂) = γ̂'Cov(X)γ̂ and (1/n) Σ_i z_i'Σz_i = tr(Σ E[zz'])."""
    from ..warehouse.effects import fixed_moments

    mean, cov, n = fixed_moments(res)
    gamma = res.fixef.to_numpy()
    names = list(res.design.fixed_names)
    var_fixed = float(gamma @ cov @ gamma) if n > 1 else 0.0
    if var_fixed <= 1e-24 * max(1.0, float(gamma @ gamma)):
        var_fixed = 0.0
    second = cov * (n - 1) / n + np.outer(mean, mean)
    var_random = _mean_random_variance(res, names, mean, second)
    return pd.Series(
        {"fixed": var_fixed, "random": var_random, "residual": float(res.sigma**2)},
        name="variance",
    )


def _mean_random_variance(res: Any, names: list[str], mean: np.ndarray,
                          second: np.ndarray) -> float:
    """σ²_r = Σ_k (1/n) Σ_i z_ikᵀ Σ_k z_ik = Σ_k tr(Σ_k E[z_k z_kᵀ]), from the fixed-effect
    columns' means and second moments E[x xᵀ] (the intercept is the constant 1 whether or
    not X has it)."""
    if "(Intercept)" not in names:
        names = [*names, "(Intercept)"]
        mean = np.append(mean, 1.0)
        second = np.block([[second, mean[:-1, None]], [mean[None, :-1], np.ones((1, 1))]])
    index = {name: i for i, name in enumerate(names)}
    total = 0.0
    counted: set[str] = set()
    for term, Sigma in zip(res.design.terms, term_covariances(res), strict=True):
        # insight selects VarCorr entries by grouping-factor name, so of the pieces of an
        # (x || g) term (lme4's "g", "g.1", ...) only the first one counts.
        if term.group in counted:
            continue
        counted.add(term.group)
        keep = [i for i, c in enumerate(term.columns) if c in index]
        if not keep:
            continue
        cols = [index[term.columns[i]] for i in keep]
        total += float(np.sum(Sigma[np.ix_(keep, keep)] * second[np.ix_(cols, cols)]))
    return total


def icc(res: Any) -> pd.Series:
    """Intraclass correlation as ``performance::icc``.

    adjusted = σ²_r / (σ²_r + σ²_ε),  unadjusted = σ²_r / (σ²_f + σ²_r + σ²_ε),
    with the pieces of :func:`nakagawa_variances`.  For an empty model
    ``y ~ 1 + (1 | g)`` both equal τ00 / (τ00 + σ²).  With random slopes σ²_r is the mean
    random-effect variance over the observed predictor values, so the ICC then depends on
    where the predictor's zero is.  A singular fit with a zero variance gives 0 here, where
    performance (tolerance 1e-5) returns NA with a warning; ``res.advice()`` flags the
    singular term.
    """
    v = nakagawa_variances(res)
    return pd.Series(
        {
            "adjusted": v["random"] / (v["random"] + v["residual"]),
            "unadjusted": v["random"] / (v["fixed"] + v["random"] + v["residual"]),
        },
        name="icc",
    )


def r2(res: Any, method: str = "nakagawa") -> pd.Series:
    """Variance explained by the model.

    Parameters
    ----------
    method : {"nakagawa", "rights-sterba"}
        ``"nakagawa"``: ``marginal`` = σ²_f / (σ²_f + σ²_r + σ²_ε) and ``conditional`` =
        (σ²_f + σ²_r) / (σ²_f + σ²_r + σ²_ε), as ``performance::r2_nakagawa``.
        ``"rights-sterba"``: see :func:`rights_sterba`.
    """
    key = str(method).lower().replace("_", "-").replace(" ", "-")
    if key == "nakagawa":
        v = nakagawa_variances(res)
        total = v.sum()
        return pd.Series(
            {"marginal": v["fixed"] / total, "conditional": (v["fixed"] + v["random"]) / total},
            name="r2_nakagawa",
        )
    if key in ("rights-sterba", "rightssterba", "rs"):
        return rights_sterba(res)
    raise ValueError(f"method must be 'nakagawa' or 'rights-sterba', not {method!r}.")


def rights_sterba(res: Any) -> pd.Series:
    """Rights & Sterba (2019) decomposition of the model-implied outcome variance.

    With every level-1 predictor free of between-cluster variance (``cwc()``: cluster means
    0, or equal cluster means as a balanced time variable), random slopes on cluster-mean-
    centred predictors (cluster means exactly 0), and the other predictors constant within
    clusters (level 2, incl. ``cm()``), the total variance splits without cross terms into

    - f1 = γ_wᵀ Φ_w γ_w: fixed within part (Φ_w the covariance of the within columns),
    - f2 = γ_bᵀ Φ_b γ_b: fixed between part,
    - v = tr(T_s Φ_s): random-slope variation (T_s the slope block of T, Φ_s the
      covariance of the slope columns),
    - m = τ00: random-intercept variation,
    - residual = σ².

    Measures: ``R2_total_*`` = part / total for f1, f2, v, m, and the cumulative f, fv, fvm;
    ``R2_within_*`` over f1 + v + σ² (f1, v, f1v); ``R2_between_*`` over f2 + m (f2, m).
    Covariances use divisor n - 1 (as the r2mlm package).

    Raises
    ------
    ValueError
        More than one grouping factor, or a predictor that has both within- and
        between-cluster variance (not cluster-mean centred): the decomposition assumes the
        centring above; the message names the column and the cwc()/cm() fix.
    """
    if len(res.group_names) != 1:
        raise ValueError(
            "the Rights & Sterba decomposition is defined for two-level models with one "
            f"grouping factor; this model has {res.group_names}."
        )
    group = res.group_names[0]
    codes, levels = group_codes(res, group)
    X, names = res.design.X, list(res.design.fixed_names)
    gamma = res.fixef.to_numpy()
    within_idx: list[int] = []
    between_idx: list[int] = []
    for i, name in enumerate(names):
        if name == "(Intercept)":
            continue
        kind = level_of(X[:, i], codes, len(levels))
        if kind == "L1":
            raise ValueError(
                f"the Rights & Sterba decomposition assumes cluster-mean-centred level-1 "
                f"predictors, but '{name}' varies both within and between clusters of "
                f"'{group}'. Use cwc(x, {group}) for the within part and cm(x, {group}) for "
                "the between part (or r2(method='nakagawa'))."
            )
        (between_idx if kind == "L2" else within_idx).append(i)

    def quad(idx: list[int]) -> float:
        if not idx:
            return 0.0
        cols = X[:, idx]
        phi = np.atleast_2d(np.cov(cols, rowvar=False, ddof=1))
        return float(gamma[idx] @ phi @ gamma[idx])

    f1, f2 = quad(within_idx), quad(between_idx)
    m = v = 0.0
    for term, Sigma in zip(res.design.terms, term_covariances(res), strict=True):
        slopes = [i for i, c in enumerate(term.columns) if c != "(Intercept)"]
        if "(Intercept)" in term.columns:
            m += float(Sigma[term.columns.index("(Intercept)")] [term.columns.index("(Intercept)")])
        if not slopes:
            continue
        Z = term.Z[:, slopes]
        for j, s in enumerate(slopes):
            if level_of(Z[:, j], codes, len(levels)) != "L1-within":
                raise ValueError(
                    f"the Rights & Sterba decomposition needs random slopes on cluster-mean-"
                    f"centred predictors; '{term.columns[s]}' is not. Use "
                    f"cwc(x, {group}) in the random part."
                )
        phi = np.atleast_2d(np.cov(Z, rowvar=False, ddof=1))
        v += float(np.trace(Sigma[np.ix_(slopes, slopes)] @ phi))
    resid = float(res.sigma**2)
    total = f1 + f2 + v + m + resid
    within_total = f1 + v + resid
    between_total = f2 + m
    out = {
        "f1": f1, "f2": f2, "v": v, "m": m, "residual": resid, "total": total,
        "R2_total_f1": f1 / total, "R2_total_f2": f2 / total, "R2_total_v": v / total,
        "R2_total_m": m / total, "R2_total_f": (f1 + f2) / total,
        "R2_total_fv": (f1 + f2 + v) / total, "R2_total_fvm": (f1 + f2 + v + m) / total,
        "R2_within_f1": f1 / within_total, "R2_within_v": v / within_total,
        "R2_within_f1v": (f1 + v) / within_total,
        "R2_between_f2": f2 / between_total if between_total > 0 else np.nan,
        "R2_between_m": m / between_total if between_total > 0 else np.nan,
    }
    series = pd.Series(out, name="r2_rights_sterba")
    series.attrs["centring"] = (
        f"within columns (cluster means 0 in '{group}'): "
        f"{[names[i] for i in within_idx]}; between columns (constant within clusters): "
        f"{[names[i] for i in between_idx]}"
    )
    return series

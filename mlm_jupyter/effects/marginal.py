"""Estimated marginal means and their pairwise comparisons (emmeans' ``emmeans`` and ``pairs``).

A marginal mean is a linear function l'γ of the fixed effects, with l the equally weighted
average of the model-matrix rows of the reference grid (:mod:`.refgrid`) that share its
``specs`` and ``by`` values (plus the mean offset of the fitted rows when the model has an
``offset()``, as emmeans adds it for lmer fits; differences of means do not depend on it).
Its standard error and df follow ``ddf``:

- ``"kenward-roger"`` (emmeans' default for lmer fits): SE √(l'Φ_A l) with Φ_A pbkrtest's
  bias-adjusted covariance, df pbkrtest's ``Lb_ddf`` of l;
- ``"satterthwaite"``: SE √(l'Vl) with V = vcov(γ̂), lmerTest's Satterthwaite df of l;
- ``"residual"`` (n - p) or ``"asymptotic"`` (z).

Intervals are estimate ∓ t_{df, 1-(1-level)/2} · SE.  A pairwise difference of two means in
one ``by`` group is the contrast (l_a - l_b)'γ, labelled ``"a - b"`` with ``a`` the earlier
row, tested with t = estimate / SE on its own df; p-values are adjusted within each ``by``
group: Tukey's studentized range with k means, P(Q_{k,df} > √2 |t|) (R's ``ptukey``), Holm's
step-down, Bonferroni, Šidák or none.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .links import check_type, contrasts_on_response_scale, link_of, on_response_scale
from .refgrid import linear_functions, row_labels

ADJUSTMENTS = ("tukey", "holm", "bonferroni", "sidak", "none")
_DDF_NAMES = {"kenward-roger": "kenward-roger", "satterthwaite": "satterthwaite",
              "residual": "residual", "asymptotic": "asymptotic"}


def _ddf_name(ddf: str) -> str:
    key = str(ddf).lower().replace("_", "-").replace(" ", "-")
    key = {"kr": "kenward-roger", "kenwardroger": "kenward-roger", "satt": "satterthwaite",
           "z": "asymptotic"}.get(key, key)
    if key not in _DDF_NAMES:
        raise ValueError(f"ddf must be one of {tuple(_DDF_NAMES)}, not {ddf!r}.")
    return key


def _level(level: float) -> float:
    if not 0 < float(level) < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    return float(level)


def _quantile(level: float, df: np.ndarray) -> np.ndarray:
    return stats.t.ppf(0.5 + level / 2, np.where(np.isfinite(df), df, np.inf))


def _estimates(res: Any, L: np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(estimates, SEs, df) of the rows of L.

    Kenward-Roger on an ML fit follows emmeans: pbkrtest's ``vcovAdj`` refits the model by
    REML, so the SE comes from the REML fit's adjusted covariance Φ_A and the df from
    ``Lb_ddf(L, vcov(ML fit), Φ_A)``; the estimates stay the ML fit's.
    """
    from ..inference import linear_combinations

    if key != "kenward-roger" or res.reml:
        return linear_combinations(res, L, key)
    from dataclasses import replace

    from ..inference.kenward_roger import cached_kr, kr_adjust

    parts = replace(cached_kr(res.refit(reml=True)), vcov=res.vcov.to_numpy())
    out = np.full((len(L), 3), np.nan)
    for i, row in enumerate(np.atleast_2d(L)):
        if np.all(np.isfinite(row)):
            out[i] = (row @ res.fixef.to_numpy(), np.sqrt(row @ parts.vcov_adj @ row),
                      kr_adjust(parts, row[None, :])[0])
    return out[:, 0], out[:, 1], out[:, 2]


def marginal_means(
    res: Any,
    specs: Any,
    by: Any = None,
    at: dict[str, Any] | None = None,
    ddf: str = "kenward-roger",
    type: str = "link",
    level: float = 0.95,
) -> pd.DataFrame:
    """Estimated marginal means, as ``summary(emmeans(m, specs, by = by, at = at))``.

    Parameters
    ----------
    res : MixedModelResult
    specs : str or list of str
        The factor(s) whose means are wanted (``"Variety"``, ``["Variety", "nitro_f"]``,
        or emmeans' ``"~ Variety | nitro"``).  A numeric predictor may be a spec too: one row
        per value in ``at`` (or per value of a two-valued numeric).
    by : str or list of str, optional
        Conditioning variables: one set of means per combination of their values.
    at : dict, optional
        Values for predictors: ``{"nitro": [0, 0.3, 0.6]}`` for a numeric predictor, a subset
        of levels for a factor.  Values outside the data are allowed (with a note).
    ddf : {"kenward-roger", "satterthwaite", "residual", "asymptotic"}
    type : {"link", "response"}
        The scale of the estimates (the same for a linear mixed model).
    level : float
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        The ``specs`` columns, the ``by`` columns, then ``estimate, std_error, df, lower,
        upper``; ``attrs["notes"]`` holds emmeans-style notes and ``attrs["linfct"]`` the l
        vectors (rows) over ``res.fixef``'s names.
    """
    key = _ddf_name(ddf)
    level = _level(level)
    kind = check_type(type)
    funcs = linear_functions(res, specs, by, at)
    est, se, df = _estimates(res, funcs.L, key)
    est = est + funcs.offset
    half = _quantile(level, df) * se
    table = funcs.levels.copy()
    table["estimate"], table["std_error"], table["df"] = est, se, df
    table["lower"], table["upper"] = est - half, est + half
    if kind == "response":
        table = on_response_scale(table, link_of(res))
    offset = ([f"Offset held at its mean over the fitted rows: {funcs.offset:.6g}"]
              if res.design.offset is not None else [])
    table.attrs["notes"] = [*funcs.notes, *offset, f"Degrees-of-freedom method: {key}",
                            f"Confidence level used: {level:g}"]
    table.attrs["linfct"] = pd.DataFrame(funcs.L, columns=list(res.fixef.index))
    return table


def _adjust(p: np.ndarray, t: np.ndarray, df: np.ndarray, k: int, method: str) -> np.ndarray:
    """Adjusted p-values of the m = len(p) comparisons of one family of k means."""
    m = len(p)
    if method == "none" or m == 0:
        return p
    if method == "tukey":
        q = np.sqrt(2.0) * np.abs(t)
        dfs = np.where(np.isfinite(df), df, np.inf)
        return np.clip(stats.studentized_range.sf(q, k, dfs), 0.0, 1.0)
    if method == "bonferroni":
        return np.minimum(1.0, m * p)
    if method == "sidak":
        return 1.0 - (1.0 - p) ** m
    order = np.argsort(p, kind="stable")  # holm
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(1.0, stepped)
    return out


def pairwise(
    res: Any,
    specs: Any,
    by: Any = None,
    at: dict[str, Any] | None = None,
    adjust: str = "tukey",
    ddf: str = "kenward-roger",
    type: str = "link",
    level: float = 0.95,
) -> pd.DataFrame:
    """All pairwise differences of marginal means within each ``by`` group (emmeans' ``pairs``).

    Parameters
    ----------
    specs, by, at, ddf : as :func:`marginal_means`
    adjust : {"tukey", "holm", "bonferroni", "sidak", "none"}
        Multiplicity adjustment within each ``by`` group (Tukey: studentized range for the k
        means of the group).
    type : {"link", "response"}
        ``"response"`` turns differences on a log or logit scale into ratios (odds ratios);
        the same numbers for a linear mixed model.
    level : float
        Confidence level of the ``lower``/``upper`` columns (unadjusted intervals).

    Returns
    -------
    DataFrame
        ``contrast`` (``"a - b"``), the ``by`` columns, ``estimate, std_error, df, t, p``,
        then ``lower, upper``; ``attrs["notes"]`` as emmeans prints them.
    """
    method = str(adjust).lower()
    if method not in ADJUSTMENTS:
        raise ValueError(f"adjust must be one of {ADJUSTMENTS}, not {adjust!r}.")
    key = _ddf_name(ddf)
    level = _level(level)
    kind = check_type(type)
    funcs = linear_functions(res, specs, by, at)
    labels = row_labels(funcs.levels, funcs.specs, funcs.predictors)
    by_cols = list(funcs.by)
    if by_cols:
        groups = funcs.levels.groupby(by_cols, sort=False).indices.values()
    else:
        groups = [np.arange(len(funcs.levels))]
    pieces, sizes = [], []
    for rows in groups:
        rows = np.sort(np.asarray(rows))
        pairs = [(a, b) for i, a in enumerate(rows) for b in rows[i + 1:]]
        if not pairs:
            continue
        L = np.array([funcs.L[a] - funcs.L[b] for a, b in pairs])
        est, se, df = _estimates(res, L, key)
        t = est / se
        p = 2 * stats.t.sf(np.abs(t), np.where(np.isfinite(df), df, np.inf))
        piece = pd.DataFrame({"contrast": [f"{labels[a]} - {labels[b]}" for a, b in pairs]})
        for col in by_cols:
            piece[col] = funcs.levels[col].iloc[rows[0]]
        half = _quantile(level, df) * se
        piece["estimate"], piece["std_error"], piece["df"] = est, se, df
        piece["t"], piece["p"] = t, _adjust(p, t, df, len(rows), method)
        piece["lower"], piece["upper"] = est - half, est + half
        pieces.append(piece)
        sizes.append(len(rows))
    columns = ["contrast", *by_cols, "estimate", "std_error", "df", "t", "p", "lower", "upper"]
    table = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=columns)
    notes = [*funcs.notes, f"Degrees-of-freedom method: {key}"]
    if kind == "response" and len(table):
        table, note = contrasts_on_response_scale(table, link_of(res))
        if note:
            notes.append(note)
    family = max(sizes, default=0)
    if family <= 2:  # one comparison per group: nothing to adjust (emmeans says nothing)
        pass
    elif method == "tukey":
        notes.append(f"P value adjustment: tukey method for comparing a family of {family} "
                     "estimates")
    elif method != "none":
        notes.append(f"P value adjustment: {method} method for {family * (family - 1) // 2} "
                     "tests")
    table.attrs["notes"] = notes
    return table

"""Row-free answers for the effect sizes and displays of a warehouse fit.

Each function answers, from the cells' aggregates (:mod:`.summaries`), the question an
in-memory routine answers from the rows: rows per cluster, var(Xγ̂) and the second
moments of the fixed-effect columns (Nakagawa's R² and ICC), within-cluster sums of
squares of a random term's columns (reliabilities), whether a fixed-effect column is
constant within clusters (the equations' level-2 moderators).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .rows import origin_of
from .summaries import column_moments, level_sums

__all__ = ["cluster_counts", "fixed_moments", "fixed_level2", "term_within_ss"]


def _term_index(res: Any, group: str) -> int:
    for k, term in enumerate(res.design.terms):
        if term.group == group:
            return k
    raise KeyError(f"'{group}' is not a grouping factor of this model; use one of "
                   f"{res.group_names}.")


def cluster_counts(res: Any, group: str) -> np.ndarray:
    """Rows per level of ``group`` (levels in the design's order)."""
    origin = origin_of(res)
    k = _term_index(res, group)
    n_levels = res.design.terms[k].n_levels
    return level_sums(origin.cells, origin.cell_levels[k], n_levels)[:, 0, 0]


def fixed_moments(res: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Means and covariance (divisor n - 1) of the kept fixed-effect columns, and n."""
    origin = origin_of(res)
    mean, cov = column_moments(origin.cells, origin.fixed_exprs)
    return mean, cov, int(origin.cells.n)


def term_within_ss(res: Any, k: int) -> np.ndarray:
    """(levels, q): Σ_i (z_ij - z̄_j)² per level j and column of random term k."""
    origin = origin_of(res)
    cells = origin.cells
    term = res.design.terms[k]
    sums = level_sums(cells, origin.cell_levels[k], term.n_levels)
    counts = sums[:, 0, 0]
    out = np.zeros((term.n_levels, term.q))
    for a, expr in enumerate(origin.z_exprs[k]):
        if expr is None:
            continue
        i = cells.index(expr)
        s = cells.scale[i - 1]
        s1, s2 = sums[:, 0, i], sums[:, i, i]
        mean_sq = np.divide(s1 * s1, counts, out=np.zeros_like(s1), where=counts > 0)
        out[:, a] = s * s * np.maximum(s2 - mean_sq, 0.0)
    return out


def fixed_level2(res: Any, j: int, group: str) -> bool:
    """Whether fixed-effect column j is constant within every level of ``group``."""
    origin = origin_of(res)
    cells = origin.cells
    expr = origin.fixed_exprs[j]
    if expr is None:
        return True
    k = _term_index(res, group)
    sums = level_sums(cells, origin.cell_levels[k], res.design.terms[k].n_levels)
    counts = sums[:, 0, 0]
    i = cells.index(expr)
    m, s = cells.mean[i - 1], cells.scale[i - 1]
    s1, s2 = sums[:, 0, i], sums[:, i, i]
    within = float(np.sum(s2 - np.divide(s1 * s1, counts, out=np.zeros_like(s1),
                                         where=counts > 0))) * s * s
    G = cells.total
    raw2 = G[0, 0] * m * m + 2 * m * s * G[0, i] + s * s * G[i, i]
    return within <= 1e-12 * max(raw2, 1e-300)


def _reference(res: Any) -> Any:
    import pandas as pd

    from .plan import COMPLETE, frame_sql

    origin = origin_of(res)
    plan = origin.plan
    d = origin.source.dialect
    numeric = [v for v in plan.used if plan.kinds[v] == "numeric"]
    ranges: dict[str, tuple[float, float]] = {}
    if numeric:
        items = [f"MIN({d.quote(v)}) AS lo{i}, MAX({d.quote(v)}) AS hi{i}"
                 for i, v in enumerate(numeric)]
        got = origin.source.run(f"{frame_sql(plan)}SELECT {', '.join(items)} FROM {COMPLETE}")
        ranges = {v: (float(got[f"lo{i}"][0]), float(got[f"hi{i}"][0]))
                  for i, v in enumerate(numeric)}
    levels: dict[str, tuple[str, ...]] = {}
    for spec in (res.design.fixed_model_spec, *(t.model_spec for t in res.design.terms)):
        for info in spec.variables:
            if info.levels is not None and info.name in plan.kinds:
                levels.setdefault(info.name, info.levels)
    groups = {c for t in res.design.terms for c in t.group_columns}
    columns: dict[str, list[Any]] = {}
    for v in plan.used:
        if v in groups:
            columns[v] = [origin.cells.keys[v][0]]
        elif plan.kinds[v] == "numeric":
            columns[v] = list(ranges[v])
        elif plan.kinds[v] == "bool":
            columns[v] = [False, True]
        else:
            columns[v] = list(levels.get(v, ("",)))
    rows = max(len(c) for c in columns.values())
    return pd.DataFrame({v: [c[i % len(c)] for i in range(rows)] for v, c in columns.items()})


def reference_frame(res: Any) -> Any:
    """A few rows standing in for the data where only their kinds, ranges and levels are
    read (simple slopes' defaults, Johnson-Neyman's observed range): every numeric column
    holds its minimum and maximum over the rows used, every factor its levels, every
    grouping column its first cluster.  Computed once per result (one MIN/MAX query)."""
    from ..caching import result_memo

    memo = result_memo(res)
    if "reference_frame" not in memo:
        memo["reference_frame"] = _reference(res)
    return memo["reference_frame"]


def nesting_problem(small: Any, large: Any) -> str:
    """:func:`mlm_jupyter.nesting.nesting_problem` for fits whose rows stay in a database.

    Columns are compared as the SQL expressions both fits computed (the same formula text
    translates to the same expression), partitions as sets of grouping columns: a
    sufficient test, so a model written differently (``I(2 * x)`` for ``x``) is reported
    as not nested rather than guessed.
    """
    os_, ol = origin_of(small), origin_of(large)
    if os_ is None or ol is None:
        return ("one model's rows are in memory and the other's in a database; fit both "
                "the same way")
    if os_.row_key != ol.row_key:
        return "the two models were fitted to different data or rows"
    big = set(ol.fixed_exprs)
    outside = [name for name, e in zip(small.design.fixed_names, os_.fixed_exprs, strict=True)
               if e not in big]
    if outside:
        named = ", ".join(repr(n) for n in outside)
        return f"its fixed effect(s) {named} are not in the larger model"
    for term, exprs in zip(small.design.terms, os_.z_exprs, strict=True):
        fits = False
        for other, other_exprs in zip(large.design.terms, ol.z_exprs, strict=True):
            if set(other.group_columns) != set(term.group_columns):
                continue
            if term.q > 1 and not (other.correlated or other.q == term.q == 1):
                continue
            if set(exprs) <= set(other_exprs):
                fits = True
                break
        if not fits:
            cols = " + ".join(term.columns)
            return (f"its random term ({cols} | {term.group}) has no counterpart in the larger "
                    "model (same clusters, columns and covariances)")
    return ""


def same_fixed_effects(small: Any, large: Any) -> bool:
    """Both fits have the same fixed-effect columns (as SQL expressions)."""
    os_, ol = origin_of(small), origin_of(large)
    return set(os_.fixed_exprs) == set(ol.fixed_exprs)


def random_column_means(res: Any, ks: list[int]) -> list[float]:
    """Means over the rows used of the columns of random terms ``ks`` (design order)."""
    origin = origin_of(res)
    exprs = tuple(e for k in ks for e in origin.z_exprs[k])
    return [float(v) for v in column_moments(origin.cells, exprs)[0]]


def column_kinds(res: Any, names: list[str]) -> dict[str, tuple[bool, int]]:
    """Per data column: (numeric as the fit used it, approximate number of distinct values
    over the rows used), one query per result (for effect plots' default variables)."""
    from ..caching import result_memo
    from .plan import COMPLETE, frame_sql

    memo = result_memo(res)
    key = ("column_kinds", tuple(names))
    if key not in memo:
        origin = origin_of(res)
        plan, d = origin.plan, origin.source.dialect
        factors = {info.name for info in res.design.fixed_model_spec.variables
                   if info.levels is not None}
        numeric = [n for n in names if plan.kinds.get(n) == "numeric"
                   and not any(f.endswith(f"({n})") for f in factors)]
        counts: dict[str, int] = {}
        if numeric:
            items = [f"approx_count_distinct({d.quote(n)}) AS c{i}" for i, n in enumerate(numeric)]
            got = origin.source.run(f"{frame_sql(plan)}SELECT {', '.join(items)} FROM {COMPLETE}")
            counts = {n: int(got[f"c{i}"][0]) for i, n in enumerate(numeric)}
        memo[key] = {n: (n in counts, counts.get(n, 0)) for n in names}
    return memo[key]

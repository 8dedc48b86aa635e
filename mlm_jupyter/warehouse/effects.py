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

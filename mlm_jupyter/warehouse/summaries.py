"""What the cells' aggregates tell about the data, for results without rows.

Per grouping factor: rows per level; per random-term column: its spread (SD with an
intercept, RMS without, as :func:`mlm_jupyter.messages._column_scales`) and whether it is
constant within every level (a level-2 variable, whose random slope is not identified);
per fixed-effect column: means and the covariance matrix (for var(Xγ̂) in R², ICC).
All are exact sums over the cells of the centred columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .aggregate import Cells

__all__ = ["column_moments", "level_sums", "term_column_facts"]


def level_sums(cells: Cells, codes: np.ndarray, n_levels: int) -> np.ndarray:
    """Σ over the cells of each level of G_c: (n_levels, k+1, k+1)."""
    out = np.zeros((n_levels,) + cells.gram.shape[1:])
    np.add.at(out, codes, cells.gram)
    return out


def column_moments(cells: Cells, exprs: tuple[str | None, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariance matrix (divisor n - 1) of columns given as SQL (None: 1)."""
    G = cells.total
    n = G[0, 0]
    idx = [cells.index(e) for e in exprs]
    shift = np.array([0.0 if e is None else cells.mean[i - 1] for e, i in zip(exprs, idx,
                                                                               strict=True)])
    scale = np.array([1.0 if e is None else cells.scale[i - 1] for e, i in zip(exprs, idx,
                                                                               strict=True)])
    mean_u = G[0, idx] / n
    cov_u = (G[np.ix_(idx, idx)] - n * np.outer(mean_u, mean_u)) / max(n - 1, 1)
    const = [e is None for e in exprs]
    cov_u[const, :] = 0.0
    cov_u[:, const] = 0.0
    mean = np.where(const, 1.0, shift + scale * mean_u)
    return mean, cov_u * np.outer(scale, scale)


def term_column_facts(cells: Cells, exprs: tuple[str | None, ...], codes: np.ndarray,
                      n_levels: int) -> tuple[list[float], list[bool]]:
    """Per column of a random term: its spread, and whether it is constant within levels."""
    sums = level_sums(cells, codes, n_levels)
    counts = sums[:, 0, 0]
    G = cells.total
    n = G[0, 0]
    has_intercept = bool(exprs) and exprs[0] is None
    scales, constant = [], []
    for e in exprs:
        if e is None:
            scales.append(1.0)
            constant.append(True)
            continue
        i = cells.index(e)
        m, s = cells.mean[i - 1], cells.scale[i - 1]
        s1, s2 = sums[:, 0, i], sums[:, i, i]
        within_u = float(np.sum(s2 - np.divide(s1 * s1, counts, out=np.zeros_like(s1),
                                               where=counts > 0)))
        total_u2 = float(G[i, i])
        mean_u = float(G[0, i]) / n
        sd = s * np.sqrt(max(total_u2 / n - mean_u**2, 0.0))
        raw2 = n * m * m + 2 * m * s * float(G[0, i]) + s * s * total_u2
        rms = float(np.sqrt(max(raw2 / n, 0.0)))
        spread = sd if has_intercept else rms
        scales.append(spread if spread > 0 else 1.0)
        constant.append(s * s * within_u <= 1e-10 * max(raw2, 1e-300))
    return scales, constant


def describe(origin: Any) -> dict[str, Any]:
    """Source, rows used and dropped, and number of cells of a warehouse fit."""
    return {"source": origin.source.label, "rows_used": origin.plan.n_used,
            "rows_dropped": origin.plan.n_total - origin.plan.n_used,
            "cells": int(origin.cells.gram.shape[0])}

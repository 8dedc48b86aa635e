"""Shared helpers: per-term covariance matrices and the level of a data column."""

from __future__ import annotations

from typing import Any

import numpy as np


def term_covariances(res: Any) -> list[np.ndarray]:
    """Σ_k = σ² T_k T_kᵀ for every random term k, in ``res.design.terms`` order."""
    from ..result_common import relative_factors

    return [res.sigma**2 * T @ T.T for T in relative_factors(res.design, res.theta)]


def default_group(res: Any, group: str | None) -> str:
    names = res.group_names
    if group is None:
        return names[0]
    if group not in names:
        raise KeyError(f"'{group}' is not a grouping factor of this model; use one of {names}.")
    return group


def group_codes(res: Any, group: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Level index of every observation and the level names of one grouping factor."""
    for term in res.design.terms:
        if term.group == group:
            return term.codes, term.levels
    raise KeyError(
        f"'{group}' is not a grouping factor of this model; use one of {res.group_names}."
    )


def within_between(values: np.ndarray, codes: np.ndarray, n_levels: int) -> tuple[float, float]:
    """Within-cluster and between-cluster sums of squares of one column (ANOVA split)."""
    counts = np.bincount(codes, minlength=n_levels).astype(float)
    sums = np.bincount(codes, weights=values, minlength=n_levels)
    means = np.divide(sums, counts, out=np.zeros(n_levels), where=counts > 0)
    within = float(np.sum((values - means[codes]) ** 2))
    between = float(np.sum(counts * (means - values.mean()) ** 2))
    return within, between


def level_of(values: np.ndarray, codes: np.ndarray, n_levels: int, rtol: float = 1e-8) -> str:
    """Where a column varies, relative to one grouping factor.

    ``"L2"``: constant within every cluster.  ``"L1-within"``: varies within clusters and
    every cluster mean is 0 (cluster-mean centred).  ``"L1-balanced"``: varies within
    clusters, all cluster means equal but not 0 (e.g. the same design in every cluster,
    as ``Days`` in sleepstudy): no between-cluster variance.  ``"L1"``: variance both
    within and between clusters.
    """
    within, between = within_between(values, codes, n_levels)
    scale = max(float(np.sum((values - values.mean()) ** 2)), float(np.sum(values**2)), 1e-300)
    if within <= rtol * scale:
        return "L2"
    if between > rtol * scale:
        return "L1"
    if abs(float(values.mean())) ** 2 * len(values) <= rtol * scale:
        return "L1-within"
    return "L1-balanced"

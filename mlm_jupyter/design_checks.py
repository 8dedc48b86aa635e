"""Checks and small builders shared by :func:`mlm_jupyter.design.build_design` and ``predict``.

Grouping factors (lme4's ``factor(g)`` and ``g:h`` interactions, unused levels dropped),
finiteness, aliased fixed-effect columns (lme4's rank check) and identifiability.
"""

from __future__ import annotations

import numpy as np

from .intake import Factor, Frame, drop_unused, group_labels
from .rank import dependent_columns
from .spec import RandomTerm

__all__ = [
    "check_identifiable",
    "check_term_rank",
    "drop_aliased",
    "finite_or_raise",
    "group_factor",
    "grouping_factor",
    "lme4_term_order",
]


def group_factor(frame: Frame, term: RandomTerm) -> Factor:
    """The grouping factor of ``term`` on every row (codes -1 where an id is missing).

    An interaction ``a:b`` has the level ``"a_i:b_j"`` for each combination that occurs
    (R's ``interaction(a, b, drop = TRUE)``, as lme4 builds it), ordered by ``a`` then ``b``.
    """
    parts = [group_labels(frame.series(c), c) for c in term.group_columns]
    if len(parts) == 1:
        return parts[0]
    missing = np.zeros(frame.n, dtype=bool)
    combined = np.zeros(frame.n, dtype=np.int64)
    for part in parts:
        missing |= part.codes < 0
        combined = combined * len(part.levels) + np.maximum(part.codes, 0)
    uniques, codes = np.unique(combined[~missing], return_inverse=True)
    names = []
    for value in uniques:
        labels = []
        for part in reversed(parts):
            labels.append(part.levels[value % len(part.levels)])
            value //= len(part.levels)
        names.append(":".join(reversed(labels)))
    out = np.full(frame.n, -1, dtype=np.int64)
    out[~missing] = codes
    return Factor(out, tuple(names))


def grouping_factor(
    frame: Frame, term: RandomTerm, keep: np.ndarray
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes (on the rows ``keep``) and levels of ``term``'s grouping factor, unused dropped."""
    factor = drop_unused(group_factor(frame, term), keep)
    return factor.codes, factor.levels


def finite_or_raise(values: np.ndarray, names: tuple[str, ...], what: str) -> None:
    """Refuse infinite or undefined values (log of 0, a division by zero) naming the column."""
    bad = ~np.isfinite(values)
    if bad.any():
        col = names[int(np.argmax(bad.any(axis=0)))]
        raise ValueError(
            f"The {what} column '{col}' has {int(bad.sum())} infinite or undefined value(s) "
            "(e.g. log of 0 or of a negative number, or a division by zero). Remove or recode "
            "those rows first."
        )


def drop_aliased(
    X: np.ndarray, names: tuple[str, ...]
) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Drop columns that are linear combinations of earlier ones (as lme4 does, tol 1e-7).

    Tested on each column's variation (:func:`.rank.dependent_columns`), so a predictor's
    units or offset never make it look collinear with the intercept; earlier columns keep
    priority, as in R.
    """
    if X.shape[1] == 0:
        return X, names, ()
    keep = ~dependent_columns(X)
    dropped = tuple(n for n, k in zip(names, keep, strict=True) if not k)
    return X[:, keep], tuple(n for n, k in zip(names, keep, strict=True) if k), dropped


def check_term_rank(term: RandomTerm, Z: np.ndarray, names: tuple[str, ...]) -> None:
    """Refuse a random term whose columns are linearly dependent (its covariance would not
    be identified), naming the columns."""
    dependent = dependent_columns(Z)
    if not dependent.any():
        return
    label = f"({term.expr} | {term.group})"
    bad = [names[i] for i in np.flatnonzero(dependent)]
    zero = [names[i] for i in np.flatnonzero(dependent) if not np.any(Z[:, i])]
    why = ("is 0 in every row used" if len(bad) == len(zero) == 1 else
           "is a linear combination of the term's other columns" if len(bad) == 1 else
           "are linear combinations of the term's other columns (or constant 0)")
    raise ValueError(
        f"The random term {label} cannot be estimated: its column"
        f"{'s' if len(bad) > 1 else ''} {', '.join(repr(b) for b in bad)} {why}, so the "
        "variances and covariances of this term are not identified. Remove "
        f"{'them' if len(bad) > 1 else 'it'} from the term (or recode the variable)."
    )


def lme4_term_order(levels_per_term: list[int]) -> list[int]:
    """lme4's mkReTrms: ``if (any(diff(nl) > 0)) ord <- rev(order(nl))``."""
    if not any(b > a for a, b in zip(levels_per_term, levels_per_term[1:], strict=False)):
        return list(range(len(levels_per_term)))
    ascending = sorted(range(len(levels_per_term)), key=lambda i: levels_per_term[i])
    return ascending[::-1]


def check_identifiable(term: RandomTerm, n_levels: int, q: int, n: int) -> None:
    """A random term must be estimable from ``n`` rows (lme4's checks on levels and size)."""
    if n_levels < 2:
        raise ValueError(
            f"The grouping factor '{term.group}' has {n_levels} level(s) in the rows used; "
            "a random effect needs at least 2 groups (lme4 requires more than 1)."
        )
    if n_levels >= n:
        raise ValueError(
            f"The grouping factor '{term.group}' has {n_levels} levels for {n} "
            "observations: every group has a single row, so its variance cannot be told "
            "apart from the residual. Use a coarser grouping factor."
        )
    if n_levels * q >= n:
        raise ValueError(
            f"The term ({term.expr} | {term.group}) has {n_levels * q} random "
            f"effects for {n} observations; the model is not identified. Drop a "
            "random slope or use a coarser grouping factor."
        )

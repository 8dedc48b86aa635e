"""Is one mixed model a special case of another?  Decided from the models, not their names.

A likelihood-ratio test needs the smaller model to be the larger one with some
parameters fixed.  Names are a poor guide: ``(1 | batch:cask)`` and the ``cask:batch``
term of ``(1 | batch/cask)`` are the same grouping, ``x`` and ``I(2*x)`` the same fixed
effect.  So nesting is read from the design matrices:

* **Fixed effects**: the column space of the smaller X lies in that of the larger.
* **Random effects**: every term of the smaller model, with grouping factor g (a partition
  of the observations) and columns Z_s, has a term in the larger model that groups the
  observations into the same clusters and whose columns span Z_s; a correlated smaller
  term (a full covariance matrix) must fit inside one correlated larger term, so that its
  covariances exist there too.

Partitions are compared through the cluster codes of the rows used, columns through
least-squares residuals relative to the column's length (tolerance 1e-8).
"""

from __future__ import annotations

from typing import Any

import numpy as np

SPAN_TOL = 1e-8


def _spans(big: np.ndarray, small: np.ndarray) -> bool:
    """True when every column of ``small`` lies in the column space of ``big``."""
    if small.shape[1] == 0:
        return True
    if big.shape[1] == 0:
        return not np.any(small)
    Q, _ = np.linalg.qr(big / np.maximum(np.linalg.norm(big, axis=0), 1e-300))
    resid = small - Q @ (Q.T @ small)
    norms = np.maximum(np.linalg.norm(small, axis=0), 1e-300)
    return bool(np.all(np.linalg.norm(resid, axis=0) <= SPAN_TOL * norms))


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Do two code vectors group the rows into the same clusters (labels aside)?"""
    if a.shape != b.shape:
        return False
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def _term_fits(small_term: Any, large_terms: list[Any]) -> bool:
    """Does one random term of the smaller model live inside one of the larger model's?"""
    for term in large_terms:
        if not same_partition(small_term.codes, term.codes):
            continue
        if small_term.q > 1 and not (term.correlated or term.q == small_term.q == 1):
            continue
        if _spans(term.Z, small_term.Z):
            return True
    return False


def nesting_problem(small: Any, large: Any) -> str:
    """Why ``small`` is not nested in ``large`` ('' when it is)."""
    from .warehouse.rows import origin_of

    if origin_of(small) is not None or origin_of(large) is not None:
        from .warehouse.effects import nesting_problem as rowless_problem

        return rowless_problem(small, large)
    ds, dl = small.design, large.design
    if not _spans(dl.X, ds.X):
        outside = [name for j, name in enumerate(ds.fixed_names)
                   if not _spans(dl.X, ds.X[:, [j]])]
        named = ", ".join(repr(n) for n in outside) or "a combination of its fixed effects"
        return f"its fixed effect(s) {named} are not in the larger model"
    for term in ds.terms:
        if not _term_fits(term, list(dl.terms)):
            cols = " + ".join(term.columns)
            return (f"its random term ({cols} | {term.group}) has no counterpart in the larger "
                    "model (same clusters, columns and covariances)")
    return ""


def same_fixed_effects(small: Any, large: Any) -> bool:
    """The two fixed-effects designs span the same space."""
    from .warehouse.rows import origin_of

    if origin_of(small) is not None and origin_of(large) is not None:
        from .warehouse.effects import same_fixed_effects as rowless_same

        return rowless_same(small, large)
    Xs, Xl = small.design.X, large.design.X
    return Xs.shape[1] == Xl.shape[1] and _spans(Xl, Xs) and _spans(Xs, Xl)


def n_variances(res: Any) -> int:
    """Random-effect variance parameters of a fit (one per column of every term)."""
    return sum(term.q for term in res.design.terms)


def added_variances(small: Any, large: Any) -> int:
    """Variances the larger model adds (assuming ``small`` is nested in ``large``)."""
    return n_variances(large) - n_variances(small)

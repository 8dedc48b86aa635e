"""θ, lme4's vector of relative covariance parameters, and the matrices it packs.

θ holds, term by term, the lower triangle of each relative covariance factor T_k
(Σ_k = σ² T_k T_k') in lme4's column-major order: for a term (1 + x | g) that is
(T_11, T_21, T_22).  Every module that reads or writes θ uses these three functions.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["lower_tri_index", "pack_theta", "unpack_theta"]


@lru_cache(maxsize=64)
def _lower_tri_index(q: int) -> tuple[np.ndarray, np.ndarray]:
    cols, rows = np.triu_indices(q)
    rows.flags.writeable = False
    cols.flags.writeable = False
    return rows, cols


def lower_tri_index(q: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of the lower triangle in lme4's column-major θ order (cached, read-only)."""
    return _lower_tri_index(q)


def unpack_theta(theta: np.ndarray, layout: Any) -> list[np.ndarray]:
    """θ -> the lower-triangular T_k of every term.

    Parameters
    ----------
    theta : ndarray
    layout : object
        Anything with ``.terms`` whose items have ``.q`` (columns of the term): a design,
        its cross-products, a random-effects system.
    """
    out, start = [], 0
    for term in layout.terms:
        rows, cols = lower_tri_index(term.q)
        T = np.zeros((term.q, term.q))
        T[rows, cols] = theta[start : start + rows.size]
        out.append(T)
        start += rows.size
    return out


def pack_theta(T: list[np.ndarray]) -> np.ndarray:
    """Lower-triangular T_k -> θ in lme4's column-major order."""
    parts = []
    for Tk in T:
        rows, cols = lower_tri_index(Tk.shape[0])
        parts.append(Tk[rows, cols])
    return np.concatenate(parts) if parts else np.zeros(0)

"""Cholesky factors and triangular inverses of many tiny blocks at once.

The first random term's cross-product is block diagonal with one q x q block per level
(q = 1 or 2 for a random intercept, or intercept and slope).  NumPy's batched
``linalg.cholesky``/``linalg.inv`` pay a LAPACK call per block; for q <= 2 the closed
forms below are a handful of vector operations (160 hsb schools: 4 us instead of 11-21 us),
and that difference is paid on every evaluation of the criterion.
"""

from __future__ import annotations

import numpy as np


def cholesky(M: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of symmetric positive definite blocks ``M`` (l, q, q)."""
    q = M.shape[-1]
    if q == 1:
        return np.sqrt(M)
    if q == 2:
        l00 = np.sqrt(M[:, 0, 0])
        l10 = M[:, 1, 0] / l00
        L = np.zeros_like(M)
        L[:, 0, 0] = l00
        L[:, 1, 0] = l10
        L[:, 1, 1] = np.sqrt(M[:, 1, 1] - l10 * l10)
        return L
    return np.linalg.cholesky(M)


def lower_inverse(L: np.ndarray) -> np.ndarray:
    """Inverses of lower-triangular blocks ``L`` (l, q, q)."""
    q = L.shape[-1]
    if q == 1:
        return 1.0 / L
    if q == 2:
        out = np.zeros_like(L)
        i00 = 1.0 / L[:, 0, 0]
        i11 = 1.0 / L[:, 1, 1]
        out[:, 0, 0] = i00
        out[:, 1, 1] = i11
        out[:, 1, 0] = -L[:, 1, 0] * i00 * i11
        return out
    return np.linalg.inv(L)

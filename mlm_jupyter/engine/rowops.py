"""Products over the n rows without BLAS.

A GLMM iteration is a few dozen passes over n-vectors.  Multi-threaded BLAS calls on
them (``np.dot``, ``X @ β`` with small p) cost 10-50x a plain loop on a busy machine
(thread wake-ups, and worker threads that spin afterwards and slow the element-wise
work that follows), so the engine keeps X and Z column-major and multiplies column by
column with NumPy's own loops.
"""

from __future__ import annotations

import numpy as np

SMALL = 4096  # below this length BLAS's call is cheaper than einsum's dispatch


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """a'b for two n-vectors."""
    if a.shape[0] < SMALL:
        return float(np.dot(a, b))
    return float(np.einsum("i,i->", a, b))


def matvec(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """X v for a column-major (n, p) X and small p."""
    n, p = X.shape
    if p == 0:
        return np.zeros(n)
    out = X[:, 0] * v[0]
    for k in range(1, p):
        out += X[:, k] * v[k]
    return out


def rmatvec(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """X'v for a column-major (n, p) X."""
    return np.array([dot(X[:, k], v) for k in range(X.shape[1])])


def small_product(Z: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Z T (n, q) for a column-major (n, q) Z and a q x q T, column-major result."""
    n, q = Z.shape
    out = np.empty((n, q), order="F")
    for c in range(q):
        col = out[:, c]
        col[:] = Z[:, 0] * T[0, c]
        for r in range(1, q):
            if T[r, c] != 0.0:
                col += Z[:, r] * T[r, c]
    return out


def cross(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A'B (q_a, q_b) for column-major (n, q_a) and (n, q_b)."""
    return np.array([[dot(A[:, r], B[:, c]) for c in range(B.shape[1])]
                     for r in range(A.shape[1])])

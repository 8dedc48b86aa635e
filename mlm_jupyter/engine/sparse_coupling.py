"""The fixed-pattern sparse coupling block S of the GLMM's random-effects system.

PIRLS refactors Λ'Z'WZΛ + I at every iteration with the same sparsity; scipy.sparse would
rebuild and re-validate its index arrays on every product, which costs more than the
arithmetic on models such as three crossed or nested scalar terms.  Here the pattern is
fixed once and products are ``bincount``s.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class Coupling:
    """The sparse coupling S (m_r x n1) with a fixed pattern, without scipy's per-call costs.

    The pattern (row, column of every nonzero) never changes between factorisations, so
    S x, S'y and S S' are ``bincount``s over precomputed index arrays (S S' through the
    pairs of nonzeros that share a column).
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]):
        self.rows, self.cols, self.shape = rows, cols, shape
        order = np.argsort(cols, kind="stable")
        counts = np.bincount(cols, minlength=shape[1])
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        # all (i, j) nonzeros in one column: within-column offsets by repetition
        reps = counts[cols[order]]
        first = np.repeat(order, reps)
        col_start = starts[cols[order]]
        pos = np.arange(first.size) - np.repeat(np.cumsum(reps) - reps, reps)
        second = order[np.repeat(col_start, reps) + pos]
        self._pair_a, self._pair_b = first, second
        self._pair_target = rows[first] * shape[0] + rows[second]
        self.data = np.zeros(rows.size)

    def with_data(self, data: np.ndarray) -> Coupling:
        out = object.__new__(Coupling)
        out.__dict__.update(self.__dict__)
        out.data = data
        return out

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """S x for a vector or an (n1, k) matrix."""
        if x.ndim == 1:
            return np.bincount(self.rows, weights=self.data * x[self.cols],
                               minlength=self.shape[0])
        return np.column_stack([self.matvec(x[:, k]) for k in range(x.shape[1])])

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        """S'y for a vector or an (m_r, k) matrix."""
        if y.ndim == 1:
            return np.bincount(self.cols, weights=self.data * y[self.rows],
                               minlength=self.shape[1])
        return np.column_stack([self.rmatvec(y[:, k]) for k in range(y.shape[1])])

    def gram(self) -> np.ndarray:
        """S S' as a dense (m_r, m_r) array."""
        m = self.shape[0]
        values = self.data[self._pair_a] * self.data[self._pair_b]
        return np.bincount(self._pair_target, weights=values, minlength=m * m).reshape(m, m)

    def tocsr(self) -> sp.csr_matrix:
        return sp.csr_matrix((self.data, (self.rows, self.cols)), shape=self.shape)


def as_csr(S) -> sp.csr_matrix:
    return S.tocsr() if isinstance(S, Coupling) else sp.csr_matrix(S)


def s_times(S, x: np.ndarray) -> np.ndarray:
    return S.matvec(x) if isinstance(S, Coupling) else S @ x


def st_times(S, y: np.ndarray) -> np.ndarray:
    return S.rmatvec(y) if isinstance(S, Coupling) else S.T @ y

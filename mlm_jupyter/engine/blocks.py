"""Cross-products of ``[Z X y]``, computed once per fit.

The blocked layout follows MixedModels.jl.  The first random term (the one with the most
levels, lme4's order) keeps a block-diagonal cross-product ``A11`` with one q1 x q1 block
per level.  Everything else, i.e. the other random terms ("rest"), X and y, forms the
dense block ``A22``; ``A21`` couples the two and is kept as a sparse part (rest terms) and a
dense part (X, y).  An evaluation of the objective only ever touches these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..design import Design, RandomBlock


@dataclass(frozen=True)
class TermLayout:
    """Sizes of one random term in the stacked random-effects vector."""

    q: int
    n_levels: int
    offset: int  # first column of this term in the rest block (unused for the first term)

    @property
    def size(self) -> int:
        return self.q * self.n_levels

    @property
    def n_theta(self) -> int:
        return self.q * (self.q + 1) // 2


@dataclass(frozen=True)
class CrossProducts:
    """All the data the profiled objective needs.

    Attributes
    ----------
    A11 : ndarray (l1, q1, q1)
        Per-level blocks of Z1'Z1.
    S : scipy.sparse.csr_matrix (m_r, l1*q1)
        Z_rest' Z1 (m_r = total size of the other random terms; 0 rows when none).
    D : ndarray (p+1, l1, q1)
        [X y]' Z1, per level.
    A22 : ndarray (m, m), m = m_r + p + 1
        [Z_rest X y]' [Z_rest X y].
    n, p : int
    terms : tuple of TermLayout
        First term, then the rest terms (offsets within the rest block).
    """

    A11: np.ndarray
    S: sp.csr_matrix
    D: np.ndarray
    A22: np.ndarray
    n: int
    p: int
    terms: tuple[TermLayout, ...]

    @property
    def m_rest(self) -> int:
        return int(self.A22.shape[0] - self.p - 1)


def term_sparse(block: RandomBlock, rows: np.ndarray | None = None) -> sp.csr_matrix:
    """The n x (levels*q) indicator-expanded Z of one term (columns level-major)."""
    codes, Z = block.codes, block.Z
    if rows is not None:
        codes, Z = codes[rows], Z[rows]
    n, q = Z.shape
    cols = (codes[:, None] * q + np.arange(q)[None, :]).ravel()
    indptr = np.arange(0, n * q + 1, q)
    return sp.csr_matrix((Z.ravel(), cols, indptr), shape=(n, block.n_levels * q))


def _per_level_gram(
    codes: np.ndarray, left: np.ndarray, right: np.ndarray, n_levels: int
) -> np.ndarray:
    """sum over rows of level j of left_i right_i' -> (n_levels, a, b); loops only over a*b."""
    out = np.empty((n_levels, left.shape[1], right.shape[1]))
    for a in range(left.shape[1]):
        for b in range(right.shape[1]):
            out[:, a, b] = np.bincount(codes, weights=left[:, a] * right[:, b], minlength=n_levels)
    return out


def cross_products(design: Design, rows: np.ndarray | None = None) -> CrossProducts:
    """Compute the blocked cross-products of a design, optionally for a subset of rows.

    ``rows`` (an index array or boolean mask) lets diagnostics form the contribution of one
    cluster, so that a deletion refit subtracts it instead of re-reading all N rows.
    """
    first, rest = design.terms[0], design.terms[1:]
    y, X = design.y, design.X
    codes1, Z1 = first.codes, first.Z
    if rows is not None:
        y, X, codes1, Z1 = y[rows], X[rows], codes1[rows], Z1[rows]
    W = np.column_stack([X, y])
    l1, q1 = first.n_levels, first.q

    A11 = _per_level_gram(codes1, Z1, Z1, l1)
    D = _per_level_gram(codes1, W, Z1, l1).transpose(1, 0, 2)  # (p+1, l1, q1)

    layouts = [TermLayout(q1, l1, 0)]
    offset = 0
    rest_mats = []
    for block in rest:
        layouts.append(TermLayout(block.q, block.n_levels, offset))
        offset += block.q * block.n_levels
        rest_mats.append(term_sparse(block, rows))
    m_rest = offset
    m = m_rest + W.shape[1]
    # np.zeros: the OS hands out zeroed pages lazily, so a 10,000² block costs only what is
    # written into it (densifying R'R and copying it in took 3.6 s for three factors of
    # 5,000 levels).
    A22 = np.zeros((m, m))
    A22[m_rest:, m_rest:] = W.T @ W
    if rest_mats:
        R = sp.hstack(rest_mats, format="csc")
        Z1s = term_sparse(first, rows).tocsc()
        S = (R.T @ Z1s).tocsr()
        RR = (R.T @ R).tocoo()
        RW = np.asarray(R.T @ W)
        A22[RR.row, RR.col] = RR.data
        A22[:m_rest, m_rest:] = RW
        A22[m_rest:, :m_rest] = RW.T
    else:
        S = sp.csr_matrix((0, l1 * q1))
    return CrossProducts(A11, S, D, A22, int(W.shape[0]), int(X.shape[1]), tuple(layouts))

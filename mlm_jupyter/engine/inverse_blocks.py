"""Blocks of A⁻¹ that the GLMM gradient needs, from the blocked factor of :mod:`.resystem`.

With A = [[M, B'], [B, C]], L11 L11' = M, S = B L11⁻ᵀ, L22 L22' = C - S S',
P = (L22 L22')⁻¹ and K = S L11⁻¹:

    A⁻¹ = [[M⁻¹ + K'PK, -K'P], [-PK, P]].

The first term's diagonal blocks of K'PK are per-level inner products along K's nonzeros.
K is formed the cheap way for each layout of S: dense S (few rest levels) by scaling its
level blocks, a scalar first term's sparse S by scaling its nonzeros (the pattern of S,
transposed once into CSR form, is reused), and scipy.sparse otherwise.  These products run
at every gradient evaluation, where building sparse matrices from scratch used to cost
more than the arithmetic.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import smallblocks
from .objective import inverse_from_cholesky
from .sparse_coupling import Coupling, as_csr


class TransposedPattern:
    """CSR layout of K' (n1 x m_r) for a fixed pattern of S (m_r x n1)."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]):
        self.perm = np.argsort(cols, kind="stable")
        self.indices = rows[self.perm].astype(np.int32)
        counts = np.bincount(cols, minlength=shape[1])
        self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        self.rows, self.cols = rows, cols
        self.shape_t = (shape[1], shape[0])

    def transpose_with(self, data: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((data[self.perm], self.indices, self.indptr), shape=self.shape_t,
                             copy=False)


def inverse_blocks(first, f, pattern: TransposedPattern | None):
    """(P, K'P, V1): P, the (n1, m_r) product K'P, and the first term's (l1, q1, q1) diagonal
    blocks of A⁻¹ (M⁻¹ + diag blocks of K'PK).  ``f`` has a rest block (S and L22)."""
    l1, q1 = first.n_levels, first.q
    Linv = f.L11inv
    V1 = Linv * Linv if q1 == 1 else Linv.transpose(0, 2, 1) @ Linv
    P = inverse_from_cholesky(f.L22)
    S = f.S
    m_r = P.shape[0]
    if isinstance(S, np.ndarray):
        S3 = S.reshape(m_r, l1, q1)
        if q1 == 1:
            K3 = S3 * Linv[None, :, 0, :]
        else:
            K3 = np.einsum("rja,jab->rjb", S3, Linv)
        KtP = K3.reshape(m_r, l1 * q1).T @ P
        V1 = V1 + np.einsum("rja,jbr->jab", K3, KtP.reshape(l1, q1, m_r))
        return P, KtP, V1
    if q1 == 1 and pattern is not None and isinstance(S, Coupling):
        data = S.data * Linv[:, 0, 0][S.cols]
        KtP = np.asarray(pattern.transpose_with(data) @ P)
        inner = np.bincount(S.cols, weights=data * KtP[S.cols, S.rows], minlength=l1)
        return P, KtP, V1 + inner[:, None, None]
    K = (as_csr(S) @ smallblocks.block_diagonal(Linv)).tocsr()
    KtP = np.asarray(K.T @ P)
    return P, KtP, V1 + smallblocks.level_inner(K, KtP, l1, q1)

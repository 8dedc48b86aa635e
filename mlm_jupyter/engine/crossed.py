"""Fully crossed designs: the coupling block Z_rest'Z1 held dense.

When every level of the first term meets most levels of the others (a psycholinguistic
design where every subject sees every item: kb07, 56 subjects x 32 items), Z_rest'Z1 is
a dense matrix stored as sparse, and the sparse products of the blocked factorisation
(Λ₂'S Λ₁ F, S S') and the coupling plan's sums over "triples" (pairs of coupled rows
sharing a first-term level: 3.7 million for kb07's maximal model) are the slowest way
to do dense linear algebra.  Here the same quantities are batched matrix products:

    S° = Λ₂' A21 Λ₁ F        (per level j: rows scaled by T_k', columns by F_j)
    Ω₂₂ -= S°S°'             (one GEMM)

and, for the gradient (notation of :mod:`.gradient`), with B = Λ̃₂'A21, C = BΛ₁,
K = C M⁻¹ (per level), P = (L22 L22')⁻¹ on the "2" block:

    PK = P K,    Q_j = K_j' (PK)_j,    first term: Σ_j (M_j⁻¹ + Q_j) T1'A11_j - Σ_j (PK)_j' B_j,
    rest term k: R_k = Σ_l P_kl,· (Λ̃₂'A22)_·,kl - Σ_{l,j} (PK)_{kl,j} (A21Λ₁)_{kl,j}'.

Exactly the plan's formulas with the pattern taken to be everything; chosen per model by
:func:`prefers_dense_coupling` from the density of Z_rest'Z1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .blocks import CrossProducts

if TYPE_CHECKING:  # pragma: no cover
    from .objective import ProfiledDeviance

#: Z_rest'Z1 at least this dense: batched dense products beat sparse ones (kb07: 1.0).
MIN_DENSITY = 0.25
#: ... and at most this many entries (m_rest x levels*q1 doubles: 160 MB).
MAX_ENTRIES = 20_000_000


def prefers_dense_coupling(cp: CrossProducts) -> bool:
    """True when Z_rest'Z1 is dense enough to be held and multiplied as a dense array."""
    m_r = cp.m_rest
    size = m_r * cp.S.shape[1]
    return bool(m_r and size <= MAX_ENTRIES and cp.S.nnz >= MIN_DENSITY * size)


def coupling_dense(cp: CrossProducts, reml: bool) -> np.ndarray:
    """A21 = [Z_rest'Z1; X'Z1 (REML only)] as a dense (m_s, levels*q1) array."""
    S = cp.S.toarray()
    if not reml or cp.p == 0:
        return S
    return np.vstack([S, cp.D[: cp.p].reshape(cp.p, -1)])


def scaled_coupling(obj: ProfiledDeviance, T: list[np.ndarray], F: np.ndarray) -> np.ndarray:
    """S° = Λ_rest' S Λ₁ F_j per level, dense (m_rest, levels*q1)."""
    cp = obj.cp
    m_r = cp.m_rest
    l1, q1 = cp.terms[0].n_levels, cp.terms[0].q
    S = obj._lt_rows(T, obj._S_dense_rest)
    if q1 == 1:
        return S * F.reshape(1, l1)
    S3 = S.reshape(m_r, l1, q1).transpose(1, 0, 2)  # (l1, m_r, q1)
    return np.ascontiguousarray((S3 @ F).transpose(1, 0, 2)).reshape(m_r, l1 * q1)


def first_and_rest_sums(
    obj: ProfiledDeviance, T: list[np.ndarray], Minv: np.ndarray, TA: np.ndarray,
    P: np.ndarray,
) -> list[np.ndarray]:
    """Σ_j [A⁻¹Λ̃'Ω]_jj per term (the log-determinant's gradient before the θ gather)."""
    cp = obj.cp
    l1, q1 = cp.terms[0].n_levels, cp.terms[0].q
    A21 = obj._coupling_dense(obj.reml)
    m_s = A21.shape[0]
    T1 = T[0]
    B = obj._lt_rows(T, A21)  # Λ̃₂'A21 (X rows: identity)
    B3 = B.reshape(m_s, l1, q1)
    C3 = B3 @ T1
    K3 = (C3.transpose(1, 0, 2) @ Minv).transpose(1, 0, 2)  # (m_s, l1, q1)
    K = np.ascontiguousarray(K3).reshape(m_s, l1 * q1)
    PK = P @ K
    PK3 = PK.reshape(m_s, l1, q1)
    Q = K3.transpose(1, 2, 0) @ PK3.transpose(1, 0, 2)  # (l1, q1, q1)
    first = ((Minv + Q) @ TA).sum(axis=0) - PK.reshape(-1, q1).T @ B.reshape(-1, q1)
    sums = [first]
    E = (A21.reshape(m_s, l1, q1) @ T1).reshape(m_s, l1 * q1)  # A21 Λ₁
    from .gradient import rest_trace

    for term in cp.terms[1:]:
        q, lk, off = term.q, term.n_levels, term.offset
        block = slice(off, off + lk * q)
        R_k = rest_trace(obj, T, P, term)
        R_k -= np.tensordot(PK[block].reshape(lk, q, -1), E[block].reshape(lk, q, -1),
                            axes=([0, 2], [0, 2]))
        sums.append(R_k)
    return sums

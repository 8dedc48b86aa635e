"""Exact gradient of the profiled criterion for any number of random terms.

With Λ̃ = diag(Λ, I_p), Ω = [Z X]'[Z X] and A = Λ̃'ΩΛ̃ + diag(I_q, 0) (REML; for ML only
the Z part, A_Z = Λ'Z'ZΛ + I), the criterion is

    d(θ) = log|A| + ν log r²(θ) + const,     ν = n - p (REML) or n (ML).

For θ_i the (r, c) entry of T_k (∂Λ = E_rc in every level block of term k):

    ∂ log|A| / ∂θ_i = 2 tr(A⁻¹ Λ̃'Ω ∂Λ̃) = 2 Σ_j [R_kj]_{c,r},   R = A⁻¹ Λ̃'Ω,

and, by the envelope theorem (β̂ and û minimise the penalised RSS),

    ∂ r² / ∂θ_i = -2 Σ_j (Z'ρ)_kj,r u_kj,c,        ρ = y - Xβ̂ - ZΛû.

Only the diagonal level blocks of R are needed.  In the blocked layout of
:mod:`.objective` (first term block diagonal M = blockdiag(T1'Z1j'Z1jT1 + I), the rest
terms and X dense, C = Λ̃₂'A21Λ₁ their coupling), A⁻¹ has the blocks

    [ M⁻¹ + K'PK   -K'P ]        K = C M⁻¹ = L21 L11⁻¹,   P = (L22 L22')⁻¹,
    [ -PK            P  ]

so every diagonal block of R is a contraction of P, K and the cross-products along the
sparsity pattern of Z_rest'Z1 (which rest-term level meets which first-term level).
:class:`.coupling.CouplingPlan` lists that pattern once per model; an evaluation then costs one
dense inverse of the rest block (LAPACK potri) plus work proportional to
Σ_j (pattern size of level j)², never the N rows and never Λ⁻¹, so it is exact on the
boundary too (singular fits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import smallblocks
from .coupling import plan_for
from .linalg import inverse_from_cholesky
from .objective import GradientParts
from .solution import solve_factor, unscaled_vcov
from .theta import lower_tri_index

if TYPE_CHECKING:  # pragma: no cover
    from .objective import ProfiledDeviance


def criterion_parts(obj: ProfiledDeviance, theta: np.ndarray) -> GradientParts | None:
    """Criterion, log|A|, r² and their exact θ-gradients (None where A is not PD).

    For models with several random terms (raises ValueError when the model has no
    :func:`.coupling.plan_for` plan: one term, or a pattern too dense).
    """
    cp = obj.cp
    plan = None if obj._dense_coupling else plan_for(obj)
    if plan is None and not obj._dense_coupling:
        raise ValueError("no coupling plan for this model (one random term or too dense)")
    theta = np.asarray(theta, dtype=float)
    f = obj.factor(theta)
    if f is None:
        return None
    m_r, p, n = cp.m_rest, cp.p, cp.n
    l1, q1 = cp.terms[0].n_levels, cp.terms[0].q
    sol = solve_factor(obj, f)
    L11inv = smallblocks.lower_inverse(f.L11)
    Minv = L11inv.transpose(0, 2, 1) @ L11inv  # (l1, q1, q1)
    TA = f.T[0].T @ cp.A11  # T1' A11_j
    m_s = m_r + (p if obj.reml else 0)
    P = inverse_from_cholesky(f.L22[:m_s, :m_s])  # L22's diagonal is positive: never singular
    if plan is None:
        from .crossed import first_and_rest_sums

        sums = first_and_rest_sums(obj, f.T, Minv, TA, P)
    else:
        sums = _plan_sums(obj, plan, f.T, Minv, TA, P)

    # -- ∂r²: residual cross-products Z'ρ at (β̂, b̂) -------------------------------------
    beta = sol.beta
    b1 = sol.b[0]
    b_rest = np.concatenate([b.ravel() for b in sol.b[1:]])
    zr1 = (
        cp.D[-1] - np.einsum("mja,m->ja", cp.D[:p], beta) - np.einsum("jab,jb->ja", cp.A11, b1)
        - np.asarray(cp.S.T @ b_rest).reshape(l1, q1)
    )
    A22 = cp.A22
    zr_rest = (
        A22[:m_r, -1] - A22[:m_r, m_r : m_r + p] @ beta - cp.S @ b1.ravel()
        - A22[:m_r, :m_r] @ b_rest
    )
    r2 = sol.pwrss
    dof = n - p if obj.reml else n
    logdet = f.logdet_Z(m_r)
    if obj.reml:
        logdet += 2.0 * float(np.log(np.diag(f.L22)[m_r : m_r + p]).sum())

    g_logdet, g_r2 = [], []
    for i, term in enumerate(cp.terms):
        rows, cols = lower_tri_index(term.q)
        if i == 0:
            zr = zr1
        else:
            zr = zr_rest[term.offset : term.offset + term.size].reshape(term.n_levels, term.q)
        dr2 = -2.0 * np.einsum("jr,jc->rc", zr, sol.u[i])
        g_logdet.append(2.0 * sums[i][cols, rows])
        g_r2.append(dr2[rows, cols])
    grad_logdet = np.concatenate(g_logdet)
    grad_r2 = np.concatenate(g_r2)
    return GradientParts(obj.from_factor(f), logdet, r2, dof, grad_logdet, grad_r2,
                         unscaled_vcov(f, m_r, p))


def _plan_sums(obj: ProfiledDeviance, plan, T: list[np.ndarray], Minv: np.ndarray,
               TA: np.ndarray, P: np.ndarray) -> list[np.ndarray]:
    """Σ_j [A⁻¹Λ̃'Ω]_jj per term, contracted along the coupling plan's pattern."""
    cp = obj.cp
    l1, q1 = cp.terms[0].n_levels, cp.terms[0].q
    T1 = T[0]
    # -- first term: Σ_j [(M_j⁻¹ + K_j'PK_j) T1'A11_j - (PK_j)'B_j] ------------------------
    lev = plan.pair_level
    B = plan.mixed_rows(T)  # Λ̃₂'A21 on the pattern
    V = plan.values
    C = B @ T1  # Λ̃₂'A21Λ₁ on the pattern
    K = C * Minv[lev, 0, 0][:, None] if q1 == 1 else (C[:, None, :] @ Minv[lev])[:, 0]  # C M⁻¹
    w = P.ravel()[plan.trip_flat]
    PK = np.empty_like(K)
    for a in range(q1):
        PK[plan.seg_pair, a] = np.add.reduceat(w * K[plan.trip_right, a], plan.seg_start)
    Q = np.empty((l1, q1, q1))
    for a in range(q1):
        for b in range(q1):
            Q[:, a, b] = np.bincount(lev, weights=K[:, a] * PK[:, b], minlength=l1)
    sums = [np.einsum("jab,jbc->ac", Minv + Q, TA) - PK.T @ B]

    # -- rest terms: Σ_j R_kj with R_cc' = -Σ_t (PK)_{c,t} E_{c',t} + Σ_t P_{c,t} G2_{t,c'} ---
    E = V @ T1  # A21 Λ₁ on the pattern
    for k, term in enumerate(cp.terms[1:], start=1):
        q = term.q
        R_k = rest_trace(obj, T, P, term)
        mine = np.flatnonzero(plan.term_of_pair == k)
        for b in range(q):
            contrib = (PK[mine] * E[plan.partner[mine, b]]).sum(axis=1)
            R_k[:, b] -= np.bincount(plan.comp[mine], weights=contrib, minlength=q)
        sums.append(R_k)
    return sums


#: Columns of A22 processed at once in :func:`rest_trace` (bounds its temporaries).
TRACE_CHUNK = 1024


def rest_trace(obj: ProfiledDeviance, T: list[np.ndarray], P: np.ndarray, term) -> np.ndarray:
    """Σ_l Σ_t P_(kl c),t (Λ̃₂'A22)_t,(kl c') for one rest term k: (q, q).

    Level by level in chunks of columns, so that no copy of the whole (possibly 10,000²)
    A22 is made: Λ̃₂'A22[:, chunk] is formed for a chunk of the term's columns only.
    """
    cp = obj.cp
    m_s = P.shape[0]
    q, lk, off = term.q, term.n_levels, term.offset
    per = max(1, TRACE_CHUNK // q)
    R = np.zeros((q, q))
    for l0 in range(0, lk, per):
        l1 = min(lk, l0 + per)
        cols = slice(off + l0 * q, off + l1 * q)
        G = obj._lt_rows(T, cp.A22[:, cols])[:m_s]  # (m_s, chunk)
        Pk = P[cols].reshape(l1 - l0, q, m_s)
        Gk = np.ascontiguousarray(G.T).reshape(l1 - l0, q, m_s)
        R += np.tensordot(Pk, Gk, axes=([0, 2], [0, 2]))
    return R

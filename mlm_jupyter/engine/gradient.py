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
:class:`GradientPlan` lists that pattern once per model; an evaluation then costs one
dense inverse of the rest block (LAPACK potri) plus work proportional to
Σ_j (pattern size of level j)², never the N rows and never Λ⁻¹, so it is exact on the
boundary too (singular fits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg as sla

from . import smallblocks
from .blocks import CrossProducts
from .objective import GradientParts, lower_tri_index, solve_factor, unscaled_vcov

if TYPE_CHECKING:  # pragma: no cover
    from .objective import ProfiledDeviance


MAX_TRIPLES = 30_000_000  # pattern products above this: the plan would need > ~1 GB


@dataclass(frozen=True)
class GradientPlan:
    """The sparsity pattern of the coupling block A21 = [Z_rest'Z1; X'Z1], listed once.

    A *pair* is (row t of the rest/X block, first-term level j) where A21 has a nonzero
    q1-vector.  The pattern is closed over each rest-term level block (all q_k rows of
    a level are in it together), so Λ̃₂' maps it onto itself.  A *triple* is two pairs
    of the same level j; PK on the pattern is a sum over triples.
    """

    m_s: int
    pair_row: np.ndarray  # (n_pairs,) row t in the "2" block
    pair_level: np.ndarray  # (n_pairs,) first-term level j
    values: np.ndarray  # (n_pairs, q1) A21[t, (j, ·)]
    partner: np.ndarray  # (n_pairs, q_max) pair of row (block start + c, same j)
    comp: np.ndarray  # (n_pairs,) position a of row t inside its level block
    term_of_pair: np.ndarray  # (n_pairs,) rest term index (1-based), 0 for X rows
    trip_left: np.ndarray  # (n_trip,) pair p1
    trip_right: np.ndarray  # (n_trip,) pair p2 (same level as p1)
    trip_flat: np.ndarray  # (n_trip,) t1 * m_s + t2, index into P.ravel()

    @classmethod
    def build(cls, cp: CrossProducts, reml: bool) -> GradientPlan | None:
        """The plan, or None when the pattern is too dense to be worth it."""
        m_r, p = cp.m_rest, cp.p
        l1, q1 = cp.terms[0].n_levels, cp.terms[0].q
        m_s = m_r + (p if reml else 0)
        # Level-block of every rest row (term, level) and its position inside the block.
        block_of_row = np.empty(m_s, dtype=np.int64)
        comp_of_row = np.zeros(m_s, dtype=np.int64)
        term_of_row = np.zeros(m_s, dtype=np.int64)
        start_of_block = []
        n_blocks = 0
        for k, term in enumerate(cp.terms[1:], start=1):
            rows = term.offset + np.arange(term.size)
            lev, comp = np.divmod(rows - term.offset, term.q)
            block_of_row[rows] = n_blocks + lev
            comp_of_row[rows] = comp
            term_of_row[rows] = k
            start_of_block.append(term.offset + term.q * np.arange(term.n_levels))
            n_blocks += term.n_levels
        x_rows = np.arange(m_r, m_s)
        block_of_row[x_rows] = n_blocks + np.arange(x_rows.size)
        start_of_block.append(x_rows)
        block_start = np.concatenate(start_of_block) if start_of_block else np.zeros(0, int)
        # (block, level) pairs present in Z_rest'Z1, then every row of each block.
        coo = cp.S.tocoo()
        bl = np.unique(block_of_row[coo.row] * l1 + coo.col // q1) if coo.nnz else np.zeros(
            0, dtype=np.int64
        )
        blocks, levels = np.divmod(bl, l1)
        sizes = np.array([t.q for t in cp.terms[1:] for _ in range(t.n_levels)] + [1] * p,
                         dtype=np.int64)[: n_blocks + x_rows.size]
        rest_rows = np.repeat(block_start[blocks], sizes[blocks]) + _ranges(sizes[blocks])
        rest_levels = np.repeat(levels, sizes[blocks])
        pair_row = np.concatenate([rest_rows, np.repeat(x_rows, l1)])
        pair_level = np.concatenate([rest_levels, np.tile(np.arange(l1), x_rows.size)])
        order = np.lexsort((pair_row, pair_level))
        pair_row, pair_level = pair_row[order], pair_level[order]
        n_pairs = pair_row.size
        counts = np.bincount(pair_level, minlength=l1)
        n_trip = int((counts.astype(np.int64) ** 2).sum())
        if n_trip > MAX_TRIPLES:
            return None
        # A21 values on the pattern.
        values = np.zeros((n_pairs, q1))
        is_rest = pair_row < m_r
        S = cp.S.tocsr()
        for a in range(q1):
            cols = pair_level[is_rest] * q1 + a
            values[is_rest, a] = np.asarray(S[pair_row[is_rest], cols]).ravel()
            if x_rows.size:
                xr = ~is_rest
                values[xr, a] = cp.D[pair_row[xr] - m_r, pair_level[xr], a]
        # Partner of each pair: same level, row = block start + c.
        q_max = max([t.q for t in cp.terms[1:]] + [1])
        key = pair_row * l1 + pair_level
        sorter = np.argsort(key)
        partner = np.repeat(np.arange(n_pairs)[:, None], q_max, axis=1)
        comp = comp_of_row[pair_row]
        term_of_pair = term_of_row[pair_row]
        first_row = pair_row - comp
        for c in range(q_max):
            q_of_pair = np.where(term_of_pair > 0, sizes[block_of_row[pair_row]], 1)
            ok = c < q_of_pair
            want = (first_row[ok] + c) * l1 + pair_level[ok]
            partner[ok, c] = sorter[np.searchsorted(key, want, sorter=sorter)]
        # Triples: all (p1, p2) of the same level (pairs are sorted by level).
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rep = counts[pair_level]
        left = np.repeat(np.arange(n_pairs), rep)
        within = np.arange(left.size) - np.repeat(np.cumsum(rep) - rep, rep)
        right = np.repeat(starts[pair_level], rep) + within
        return cls(
            m_s=m_s, pair_row=pair_row, pair_level=pair_level, values=values,
            partner=partner, comp=comp, term_of_pair=term_of_pair,
            trip_left=left, trip_right=right, trip_flat=pair_row[left] * m_s + pair_row[right],
        )


def _ranges(sizes: np.ndarray) -> np.ndarray:
    """Concatenated aranges: [0..s0), [0..s1), ..."""
    total = int(sizes.sum())
    return np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)


_NO_PLAN = object()


def plan_for(obj: ProfiledDeviance) -> GradientPlan | None:
    """The model's :class:`GradientPlan`, built on first use and kept on ``obj``."""
    plan = obj.__dict__.get("_gradient_plan", _NO_PLAN)
    if plan is _NO_PLAN:
        plan = GradientPlan.build(obj.cp, obj.reml) if obj.cp.m_rest else None
        obj.__dict__["_gradient_plan"] = plan
    return plan


def adopt_plan(obj: ProfiledDeviance, plan: GradientPlan | None) -> None:
    """Give ``obj`` a plan built for the same design (refits that only change y)."""
    obj.__dict__["_gradient_plan"] = plan


def criterion_parts(obj: ProfiledDeviance, theta: np.ndarray) -> GradientParts | None:
    """Criterion, log|A|, r² and their exact θ-gradients (None where A is not PD).

    For models with several random terms (see :func:`plan_for`; raises ValueError when
    the model has no plan: one term, or a pattern too dense).
    """
    plan = plan_for(obj)
    if plan is None:
        raise ValueError("no gradient plan for this model (one random term or too dense)")
    theta = np.asarray(theta, dtype=float)
    f = obj.factor(theta)
    if f is None:
        return None
    cp = obj.cp
    m_r, p, n = cp.m_rest, cp.p, cp.n
    m_s = plan.m_s
    l1, q1 = cp.terms[0].n_levels, cp.terms[0].q
    T1 = f.T[0]
    sol = solve_factor(obj, f)

    # -- first term: Σ_j [(M_j⁻¹ + K_j'PK_j) T1'A11_j - (PK_j)'B_j] ------------------------
    L11inv = smallblocks.lower_inverse(f.L11)
    Minv = L11inv.transpose(0, 2, 1) @ L11inv  # (l1, q1, q1)
    TA = np.einsum("ba,jbc->jac", T1, cp.A11)  # T1' A11_j
    lev = plan.pair_level
    # B = Λ̃₂'A21 on the pattern: rows of a rest level block mix through T_k'.
    coef = np.zeros(plan.partner.shape)
    coef[plan.term_of_pair == 0, 0] = 1.0
    for k in range(1, len(cp.terms)):
        mine = plan.term_of_pair == k
        Tk = f.T[k]
        coef[mine, : Tk.shape[0]] = Tk[:, plan.comp[mine]].T
    V = plan.values
    B = np.einsum("pc,pca->pa", coef, V[plan.partner])
    C = B @ T1  # Λ̃₂'A21Λ₁ on the pattern
    K = C * Minv[lev, 0, 0][:, None] if q1 == 1 else (C[:, None, :] @ Minv[lev])[:, 0]  # C M⁻¹
    inv, info = sla.lapack.dpotri(f.L22[:m_s, :m_s], lower=1)
    if info:
        return None
    P = np.tril(inv) + np.tril(inv, -1).T
    w = P.ravel()[plan.trip_flat]
    PK = np.empty_like(K)
    n_pairs = lev.size
    for a in range(q1):
        PK[:, a] = np.bincount(plan.trip_left, weights=w * K[plan.trip_right, a],
                               minlength=n_pairs)
    Q = np.empty((l1, q1, q1))
    for a in range(q1):
        for b in range(q1):
            Q[:, a, b] = np.bincount(lev, weights=K[:, a] * PK[:, b], minlength=l1)
    sums = [np.einsum("jab,jbc->ac", Minv + Q, TA) - PK.T @ B]

    # -- rest terms: Σ_j R_kj with R_cc' = -Σ_t (PK)_{c,t} E_{c',t} + Σ_t P_{c,t} G2_{t,c'} ---
    E = V @ T1  # A21 Λ₁ on the pattern
    G2 = obj._lt_rows(f.T, cp.A22)[:m_s, :m_s]  # Λ̃₂'A22
    for k, term in enumerate(cp.terms[1:], start=1):
        q, lk, off = term.q, term.n_levels, term.offset
        block = slice(off, off + lk * q)
        Pk = P[block].reshape(lk, q, m_s)
        Gk = np.ascontiguousarray(G2[:, block].T).reshape(lk, q, m_s)
        R_k = np.tensordot(Pk, Gk, axes=([0, 2], [0, 2]))
        mine = np.flatnonzero(plan.term_of_pair == k)
        for b in range(q):
            contrib = (PK[mine] * E[plan.partner[mine, b]]).sum(axis=1)
            R_k[:, b] -= np.bincount(plan.comp[mine], weights=contrib, minlength=q)
        sums.append(R_k)

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

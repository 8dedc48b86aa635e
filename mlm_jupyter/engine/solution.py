"""Estimates at one θ from its factor: β, the conditional modes, σ, vcov and condVar.

Back-substitution through the blocked factor of :mod:`.objective` (or the per-component
one of :mod:`.components`, through the same methods), never touching the N rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import smallblocks
from .blocks import CrossProducts
from .linalg import inverse_from_cholesky, tri_inv

if TYPE_CHECKING:  # pragma: no cover
    from .objective import Factor, ProfiledDeviance


@dataclass(frozen=True)
class Solution:
    """Estimates at one θ: β, spherical u, b = Λu, σ, and the factor they came from."""

    beta: np.ndarray
    u: list[np.ndarray]  # per term, shape (levels, q)
    b: list[np.ndarray]  # per term, shape (levels, q)
    sigma: float
    pwrss: float
    factor: Factor


def solve(obj: ProfiledDeviance, theta: np.ndarray) -> Solution:
    """Back-substitution L'[u; β] = l_y' at θ (the conditional modes and fixed effects)."""
    f = obj.factor(theta)
    if f is None:
        raise np.linalg.LinAlgError("the model matrices are not positive definite at this θ")
    return solve_factor(obj, f)


def solve_factor(obj: ProfiledDeviance, f: Factor) -> Solution:
    """:func:`solve` from an existing factor (no new factorisation)."""
    cp = obj.cp
    m_r, p = cp.m_rest, cp.p
    w = f.back_substitute()
    beta = w[m_r:]
    u_rest = w[:m_r]
    # L11_j' u1_j = (L21_y - L21_a' w)_j  with L21_a the rest and X rows of L21.
    l1, q1 = cp.terms[0].n_levels, cp.terms[0].q
    rhs = f.D[-1] - np.einsum("mja,m->ja", f.D[:-1], beta)
    if m_r:
        rhs = rhs - np.asarray(f.S.T @ u_rest).reshape(l1, q1)
    u1 = np.linalg.solve(f.L11.transpose(0, 2, 1), rhs[:, :, None])[:, :, 0]
    us = [u1]
    for term in cp.terms[1:]:
        us.append(u_rest[term.offset : term.offset + term.size].reshape(term.n_levels, term.q))
    bs = [u @ Tk.T for u, Tk in zip(us, f.T, strict=True)]
    pwrss = float(f.diag22()[-1] ** 2)
    dof = cp.n - p if obj.reml else cp.n
    return Solution(beta, us, bs, float(np.sqrt(pwrss / dof)), pwrss, f)


def unscaled_vcov(f: Factor, m_rest: int, p: int) -> np.ndarray:
    """(RX'RX)^{-1}: vcov(β) / σ²."""
    inv = tri_inv(f.x_block(m_rest, p))
    return inv.T @ inv


def conditional_variances(f: Factor, cp: CrossProducts) -> list[np.ndarray]:
    """Diagonal blocks of Λ (L_Z L_Z')^{-1} Λ' per term: lme4's condVar / σ².

    With L_Z = [[L11, 0], [S, L_rr]] and P = (L_rr L_rr')⁻¹, (L_Z L_Z')⁻¹ has the first
    term's diagonal blocks M_j⁻¹ + K_j'PK_j (K = S L11⁻¹, level by level) and the rest
    terms' blocks in P.  K_j'PK_j is summed along the sparsity of S (never a dense
    rest x first-term product: that was 1 GFlop for the three-level growth model).
    """
    m_r = cp.m_rest
    first = cp.terms[0]
    L11inv = smallblocks.lower_inverse(f.L11)  # (l1, q1, q1)
    V1 = L11inv.transpose(0, 2, 1) @ L11inv
    out_u = []
    if m_r:
        P = inverse_from_cholesky(f.L22[:m_r, :m_r])
        K = (f.S_sparse @ smallblocks.block_diagonal(L11inv)).tocsr()
        PK_t = np.asarray(K.T @ P)  # (l1*q1, m_r) = (P K)'
        V1 = V1 + smallblocks.level_inner(K, PK_t, first.n_levels, first.q)
        out_u.append(V1)
        for term in cp.terms[1:]:
            idx = term.offset + np.arange(term.size).reshape(term.n_levels, term.q)
            out_u.append(P[idx[:, :, None], idx[:, None, :]])
    else:
        out_u.append(V1)
    return [Tk @ V @ Tk.T for Tk, V in zip(f.T, out_u, strict=True)]

"""Crossed factors that cross only within clusters: the rest block factored per component.

After the first term's levels are eliminated, two rest-term levels are coupled when they
share a row or a first-term level.  Students crossed with teachers and raters *within*
districts couple only within a district: the rest block is block diagonal once its rows
are ordered by connected component, and its Cholesky factor has no fill outside the
blocks (the ordering is exact: no fill-in at all between components).  The dense path
factors the whole m_rest x m_rest block (10,002² for three factors of 5,000 levels: 800
MB and 3·10¹¹ flops per evaluation); here each component is factored densely (batched
over components of equal size), with X and y as a dense border:

    [ Ω_cc         ]        L_cc = chol(Ω_cc),   L_Bc = Ω_Bc L_cc⁻ᵀ,
    [ Ω_Bc   Ω_BB  ]        L_BB = chol(Ω_BB - Σ_c L_Bc L_Bc').

Where the components are not much smaller than the whole (truly crossed designs: every
student meets every teacher's students), the factor really fills in and the dense path
is kept.  A component factor is a :class:`BlockedFactor`, duck-typed like
:class:`.objective.Factor`; its dense ``L22`` is built only if a caller asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

if TYPE_CHECKING:  # pragma: no cover
    from .objective import ProfiledDeviance

MIN_REST = 400  # rest blocks smaller than this: the dense path is fast anyway
MAX_WORK_SHARE = 0.25  # use components when Σ n_c³ is below this share of m_rest³


def rest_components(n_rest: int, n_first: int, rest_rows: np.ndarray, first_cols: np.ndarray,
                    rr_rows: np.ndarray, rr_cols: np.ndarray) -> np.ndarray:
    """Component label of every rest row: coupled through a first-term level or directly."""
    n = n_rest + n_first
    rows = np.concatenate([rest_rows, rr_rows])
    cols = np.concatenate([n_rest + first_cols, rr_cols])
    graph = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels[:n_rest]


@dataclass(frozen=True)
class ComponentPlan:
    """Rest rows grouped by component, components grouped by size."""

    groups: tuple[np.ndarray, ...]  # each (n_comp, size): rest rows of each component
    a22_blocks: tuple[np.ndarray, ...]  # constant A22 blocks per group (n_comp, size, size)
    schur_pos: tuple[np.ndarray, ...]  # per group: flat position of each Schur entry
    schur_rows: tuple[np.ndarray, ...]  # ... and which Schur value goes there
    work_share: float  # Σ n_c³ / m_rest³

    @classmethod
    def build(cls, obj: ProfiledDeviance) -> ComponentPlan | None:
        cp = obj.cp
        m_r = cp.m_rest
        kernel = getattr(obj, "kernel", None)
        forced = kernel == "components"
        if kernel not in (None, "components"):
            return None
        if not m_r or obj._dense_coupling or (m_r < MIN_REST and not forced):
            return None
        schur = obj._schur_plan()
        if schur is None:
            return None
        coo = cp.S.tocoo()
        rr = cp.A22[:m_r, :m_r]
        ri, rj = np.nonzero(rr)
        labels = rest_components(m_r, cp.S.shape[1], coo.row, coo.col, ri, rj)
        sizes = np.bincount(labels)
        share = float((sizes.astype(float) ** 3).sum() / float(m_r) ** 3)
        if share > MAX_WORK_SHARE and not forced:
            return None
        order = np.lexsort((np.arange(m_r), labels))  # rows by component
        starts = np.concatenate([[0], np.cumsum(sizes)])
        local = np.empty(m_r, dtype=np.int64)
        local[order] = np.arange(m_r) - np.repeat(starts[:-1], sizes)
        groups, blocks, pos, srows = [], [], [], []
        m = cp.A22.shape[0]
        t, tp = np.divmod(schur.lower, m)
        comp_of_entry = labels[t]
        for size in np.unique(sizes):
            comps = np.flatnonzero(sizes == size)
            idx = np.stack([order[starts[c] : starts[c] + size] for c in comps])
            groups.append(idx)
            blocks.append(rr[idx[:, :, None], idx[:, None, :]])
            slot = np.full(labels.max() + 1, -1)
            slot[comps] = np.arange(comps.size)
            mine = np.flatnonzero(slot[comp_of_entry] >= 0)
            base = slot[comp_of_entry[mine]] * size * size
            lo = base + local[t[mine]] * size + local[tp[mine]]
            up = base + local[tp[mine]] * size + local[t[mine]]
            off = t[mine] != tp[mine]
            pos.append(np.concatenate([lo, up[off]]))
            srows.append(np.concatenate([mine, mine[off]]))
        return cls(tuple(groups), tuple(blocks), tuple(pos), tuple(srows), share)

    def factor_bytes(self, border: int) -> int:
        """Bytes of one factor's blocks (and the border rows)."""
        inner = sum(g.shape[0] * g.shape[1] ** 2 for g in self.groups)
        m_r = sum(g.size for g in self.groups)
        return 8 * (inner + border * (m_r + border))

    def factor(self, obj: ProfiledDeviance, theta: np.ndarray, T: list[np.ndarray],
               L11: np.ndarray, S: sp.csr_matrix, D: np.ndarray, W: np.ndarray,
               F: np.ndarray) -> BlockedFactor | None:
        """The blocked factor at θ (None where a block is not positive definite)."""
        cp = obj.cp
        m_r = cp.m_rest
        q1 = cp.terms[0].q
        x = obj._schur.G @ (F * F if q1 == 1 else F @ F.transpose(0, 2, 1)).reshape(-1)
        lam_t = obj._lambda_t_rest(T)[:m_r, :m_r].tocsr()
        scalar = all(t.q == 1 for t in cp.terms[1:])
        lam_diag = lam_t.diagonal() if scalar else None
        # Border: Λ̃'A22 rows of X, y against the rest, minus S W' (the first term's part).
        A_rB = np.asarray(lam_t @ cp.A22[:m_r, m_r:]) - np.asarray(S @ W.T)
        omega_BB = cp.A22[m_r:, m_r:] - W @ W.T
        Ls, LB = [], []
        for idx, A_cc, pos, srow in zip(self.groups, self.a22_blocks, self.schur_pos,
                                        self.schur_rows, strict=True):
            g, size = idx.shape
            block = A_cc.copy().reshape(-1)
            block[pos] -= x[srow]
            block = block.reshape(g, size, size)
            if scalar:
                lam = lam_diag[idx]
                block *= lam[:, :, None] * lam[:, None, :]
            else:
                lam = _local_lambda(lam_t, idx)
                block = lam @ block @ lam.transpose(0, 2, 1)
            block[:, np.arange(size), np.arange(size)] += 1.0
            try:
                L = np.linalg.cholesky(block)
            except np.linalg.LinAlgError:
                return None
            # L_Bc' = L_cc⁻¹ Ω_cB: a triangular solve per component (LU would be O(n³)).
            LBt = _lower_solves(L, A_rB[idx])
            omega_BB -= np.einsum("gsa,gsb->ab", LBt, LBt)
            Ls.append(L)
            LB.append(LBt)
        try:
            L_BB = np.linalg.cholesky(omega_BB)
        except np.linalg.LinAlgError:
            return None
        if not (np.all(np.isfinite(L_BB)) and all(np.all(np.isfinite(L)) for L in Ls)):
            return None
        return BlockedFactor(np.asarray(theta, dtype=float), T, L11, S, D, self, tuple(Ls),
                             tuple(LB), L_BB, m_r)


def _lower_solves(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """L_c⁻¹ B_c for every component c (LAPACK trtrs; L: (g, n, n) lower, B: (g, n, k))."""
    out = np.empty_like(B)
    for c in range(L.shape[0]):
        x, info = sla.lapack.dtrtrs(L[c].T, B[c], lower=0, trans=1)
        if info:
            raise np.linalg.LinAlgError("singular component factor")
        out[c] = x
    return out


def _local_lambda(lam_t: sp.csr_matrix, idx: np.ndarray) -> np.ndarray:
    """Λ_r' restricted to each component's rows (g, size, size); rows of one level share one."""
    g, size = idx.shape
    flat = idx.reshape(-1)
    sub = lam_t[flat][:, flat].tocoo()  # block diagonal over the group's components
    out = np.zeros((g, size, size))
    comp, r = np.divmod(sub.row, size)
    out[comp, r, sub.col - comp * size] = sub.data
    return out


@dataclass(frozen=True)
class BlockedFactor:
    """The factor with the rest block held per component (see the module docstring)."""

    theta: np.ndarray
    T: list[np.ndarray]
    L11: np.ndarray
    S: sp.csr_matrix
    D: np.ndarray
    plan: ComponentPlan = field(repr=False)
    blocks: tuple[np.ndarray, ...] = field(repr=False)  # per group (g, size, size) lower
    border_t: tuple[np.ndarray, ...] = field(repr=False)  # per group (g, size, p+1): L_Bc'
    L_BB: np.ndarray = field(repr=False)  # (p+1, p+1) lower
    m_rest: int = 0

    @property
    def S_sparse(self) -> sp.csr_matrix:
        return self.S

    def diag22(self) -> np.ndarray:
        """Diagonal of L22 (rest rows in their original order, then X and y)."""
        d = np.empty(self.m_rest)
        for idx, L in zip(self.plan.groups, self.blocks, strict=True):
            d[idx] = np.diagonal(L, axis1=1, axis2=2)
        return np.concatenate([d, np.diag(self.L_BB)])

    def logdet_Z(self, m_rest: int) -> float:
        d11 = np.diagonal(self.L11, axis1=1, axis2=2)
        return 2.0 * float(np.log(d11).sum() + np.log(self.diag22()[:m_rest]).sum())

    def x_block(self, m_rest: int, p: int) -> np.ndarray:
        """The X rows' diagonal block of L22 (RX')."""
        return self.L_BB[:p, :p]

    def back_substitute(self) -> np.ndarray:
        """w = [u_rest; β] from L22[:-1, :-1]' w = L22[-1, :-1] (component by component)."""
        p = self.L_BB.shape[0] - 1
        Lxx, lyx = self.L_BB[:p, :p], self.L_BB[-1, :p]
        beta = np.linalg.solve(Lxx.T, lyx) if p else np.zeros(0)
        u = np.empty(self.m_rest)
        for idx, L, LBt in zip(self.plan.groups, self.blocks, self.border_t, strict=True):
            rhs = LBt[:, :, -1] - LBt[:, :, :p] @ beta  # l_yc - L_Xc' β
            u[idx] = np.linalg.solve(L.transpose(0, 2, 1), rhs[:, :, None])[:, :, 0]
        return np.concatenate([u, beta])

    @cached_property
    def L22(self) -> np.ndarray:
        """The dense (m, m) factor, built on request (m_rest² doubles: avoid for big models)."""
        m_r = self.m_rest
        b = self.L_BB.shape[0]
        out = np.zeros((m_r + b, m_r + b))
        for idx, L, LBt in zip(self.plan.groups, self.blocks, self.border_t, strict=True):
            out[idx[:, :, None], idx[:, None, :]] = L
            out[m_r:, idx.reshape(-1)] = LBt.reshape(-1, b).T
        out[m_r:, m_r:] = self.L_BB
        return out


def component_plan_for(obj: ProfiledDeviance) -> ComponentPlan | None:
    """The model's :class:`ComponentPlan` (None: the dense path), built once per model."""
    if "_cached_component_plan" not in obj.__dict__:
        obj.__dict__["_cached_component_plan"] = ComponentPlan.build(obj)
    return obj.__dict__["_cached_component_plan"]


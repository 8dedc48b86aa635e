"""The weighted random-effects system A = Λ'Z'WZΛ + I of a GLMM, factored blockwise.

PIRLS solves with A at every iteration (new working weights W), so the structure of Z is
laid out once and each iteration only recomputes numbers.  The layout is the LMM
engine's (:mod:`.blocks`, MixedModels.jl's scheme): the first random term (most levels)
has one q1 x q1 block per level, factored with one batched Cholesky
(:mod:`.smallblocks`); the other ("rest") terms form one dense block; their coupling
S = B L11⁻ᵀ is sparse.  With A = [[M, B'], [B, C]] (M block diagonal)

    L11 L11' = M,   S = B L11⁻ᵀ,   L22 L22' = C - S S',   log|A| = log|L11|² + log|L22|²

and for the gradients of the Laplace criterion the diagonal and row-wise blocks of A⁻¹:
P = (L22 L22')⁻¹, K = S L11⁻¹ = B M⁻¹,

    A⁻¹ = [[M⁻¹ + K'PK, -K'P], [-PK, P]].

Weighted cross-products are sums over rows grouped by pairs of levels, precomputed as
"pair" indices, so an iteration is a few ``bincount`` calls per pair of terms and no
Python loop over groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from . import smallblocks
from .inverse_blocks import TransposedPattern, inverse_blocks
from .rowops import small_product
from .sparse_coupling import Coupling, s_times, st_times
from .theta import unpack_theta


@dataclass(frozen=True)
class TermZ:
    """One random term: grouping codes, raw Z columns and its place in the stacked u.

    When the rows are sorted by this term's codes (the engine sorts by the first term),
    per-level sums are contiguous ``reduceat`` segments and per-row expansions are
    ``repeat``s: several times faster than ``bincount`` and fancy indexing on large data.
    """

    codes: np.ndarray  # (n,)
    Z: np.ndarray  # (n, q)
    n_levels: int
    offset: int  # first position of this term in the stacked u (first term at 0)
    starts: np.ndarray | None = None  # segment starts when the rows are sorted by codes
    counts: np.ndarray | None = None
    intercepts: tuple[bool, ...] | None = None  # columns that are all 1
    q: int = field(init=False)
    size: int = field(init=False)
    n_theta: int = field(init=False)

    def __post_init__(self) -> None:
        # Read in every loop of the engine: plain attributes, not properties.
        q = int(self.Z.shape[1])
        object.__setattr__(self, "q", q)
        object.__setattr__(self, "size", q * self.n_levels)
        object.__setattr__(self, "n_theta", q * (q + 1) // 2)

    @staticmethod
    def build(codes: np.ndarray, Z: np.ndarray, n_levels: int, offset: int) -> TermZ:
        codes = np.asarray(codes, dtype=np.int64)
        starts = counts = None
        if codes.size and np.all(np.diff(codes) >= 0):
            counts = np.bincount(codes, minlength=n_levels)
            if np.all(counts > 0):
                starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            else:
                counts = None
        Z = np.asfortranarray(Z, dtype=float)  # columns contiguous (see .rowops)
        ones = tuple(bool(np.all(Z[:, r] == 1.0)) for r in range(Z.shape[1]))
        return TermZ(codes, Z, n_levels, offset, starts, counts, ones)

    @property
    def ones(self) -> tuple[bool, ...]:
        """Which columns are the intercept (all 1: no product needed)."""
        if self.intercepts is not None:
            return self.intercepts
        return tuple(bool(np.all(self.Z[:, r] == 1.0)) for r in range(self.q))

    def sum_rows(self, values: np.ndarray) -> np.ndarray:
        """Σ over the rows of each level of a per-row vector -> (levels,)."""
        if self.starts is not None:
            return np.add.reduceat(values, self.starts)
        return np.bincount(self.codes, weights=values, minlength=self.n_levels)

    def expand(self, per_level: np.ndarray) -> np.ndarray:
        """Per-level values (levels, ...) -> per-row values (n, ...)."""
        if self.counts is not None:
            return np.repeat(per_level, self.counts, axis=0)
        return per_level[self.codes]


# S = B L11⁻ᵀ is kept dense when its product S S' costs little (m_r² n1 flops below this):
# scipy.sparse's per-call overhead then exceeds the arithmetic (nested models with a few
# outer levels).  Sparse otherwise (observation-level first terms: S has 1 entry per term
# and column).
DENSE_COUPLING_MAX = 2_000_000


class _Pairs:
    """Rows grouped by their pair of levels (j_a(i), j_b(i)) for two terms a, b."""

    def __init__(self, a: TermZ, b: TermZ):
        key = a.codes.astype(np.int64) * b.n_levels + b.codes
        uniq, inv = np.unique(key, return_inverse=True)
        self.ja = (uniq // b.n_levels).astype(np.int64)
        self.jb = (uniq % b.n_levels).astype(np.int64)
        self.inv = inv.ravel()
        self.count = int(uniq.size)
        self.products = [[a.Z[:, r] * b.Z[:, c] for c in range(b.q)] for r in range(a.q)]

    def sums(self, w: np.ndarray) -> np.ndarray:
        """(pairs, q_a, q_b) sums of w_i z_a,i z_b,i'."""
        qa, qb = len(self.products), len(self.products[0])
        out = np.empty((self.count, qa, qb))
        for r in range(qa):
            for c in range(qb):
                out[:, r, c] = np.bincount(self.inv, weights=w * self.products[r][c],
                                           minlength=self.count)
        return out


def level_sums(term: TermZ, values: np.ndarray) -> np.ndarray:
    """Σ_{i in level j} values_i z_i: (levels, q) for a vector, (levels, q, k) for (n, k)."""
    ones = term.ones
    if values.ndim == 1:
        out = np.empty((term.n_levels, term.q))
        for r in range(term.q):
            out[:, r] = term.sum_rows(values if ones[r] else values * term.Z[:, r])
        return out
    out = np.empty((term.n_levels, term.q, values.shape[1]))
    for r in range(term.q):
        zr = term.Z[:, r]
        for k in range(values.shape[1]):
            out[:, r, k] = term.sum_rows(values[:, k] if ones[r] else values[:, k] * zr)
    return out


@dataclass(frozen=True)
class SystemFactor:
    """Blocked Cholesky factor of A at one (θ, W)."""

    T: tuple[np.ndarray, ...]
    L11: np.ndarray  # (l1, q1, q1)
    L11inv: np.ndarray  # (l1, q1, q1)
    S: Coupling | np.ndarray | None  # (m_r, l1*q1), dense when small
    L22: np.ndarray | None  # (m_r, m_r) lower

    @property
    def logdet(self) -> float:
        """log|A| = log|L11|² + log|L22|²."""
        d = 2.0 * float(np.log(np.diagonal(self.L11, axis1=1, axis2=2)).sum())
        if self.L22 is not None:
            d += 2.0 * float(np.log(np.diag(self.L22)).sum())
        return d


class RandomEffectsSystem:
    """Z laid out for repeated weighted factorisations of Λ'Z'WZΛ + I.

    Parameters
    ----------
    terms : sequence of TermZ
        In lme4's order: the first term has the most levels.
    """

    def __init__(self, terms: list[TermZ]):
        self.terms = tuple(terms)
        first = self.terms[0]
        self.n1 = first.size
        self.m_rest = sum(t.size for t in self.terms[1:])
        self.m = self.n1 + self.m_rest
        self.n_theta = sum(t.n_theta for t in self.terms)
        ones = first.ones
        self._first_products = [
            [None if ones[r] and ones[c] else first.Z[:, r] * first.Z[:, c]
             for c in range(r + 1)] for r in range(first.q)
        ]
        self._ones = [term.ones for term in self.terms]
        rest = self.terms[1:]
        # Pairs (rest term, first term) and (rest term a, rest term b) for a <= b.
        self._coupling = [_Pairs(t, first) for t in rest]
        self._rest_pairs = {(a, b): _Pairs(rest[a], rest[b])
                            for a in range(len(rest)) for b in range(a, len(rest))}
        if rest:
            rows, cols = [], []
            for t, pr in zip(rest, self._coupling, strict=True):
                r_idx = (t.offset - self.n1 + pr.ja[:, None, None] * t.q
                         + np.arange(t.q)[None, :, None])
                c_idx = pr.jb[:, None, None] * first.q + np.arange(first.q)[None, None, :]
                r_b, c_b = np.broadcast_arrays(r_idx, c_idx)
                rows.append(r_b.ravel())
                cols.append(c_b.ravel())
            rows_a, cols_a = np.concatenate(rows), np.concatenate(cols)
            order = np.lexsort((cols_a, rows_a))
            self._s_order = order
            self._s_rows = rows_a[order]
            self._s_cols = cols_a[order]
            self._dense_s = self.m_rest**2 * self.n1 <= DENSE_COUPLING_MAX
            self._kt_pattern = None
            if not self._dense_s:
                self._s_pattern = Coupling(self._s_rows, self._s_cols, (self.m_rest, self.n1))
                self._kt_pattern = TransposedPattern(self._s_rows, self._s_cols,
                                                     (self.m_rest, self.n1))
            self._rest_index = [
                (t.offset - self.n1 + np.arange(t.size).reshape(t.n_levels, t.q)) for t in rest
            ]

    # -- factorisation ---------------------------------------------------------------
    def split_theta(self, theta: np.ndarray) -> tuple[np.ndarray, ...]:
        """θ -> lower-triangular T_k per term (lme4's column-major order)."""
        return tuple(unpack_theta(theta, self))

    def first_gram(self, w: np.ndarray) -> np.ndarray:
        """(l1, q1, q1) per-level Σ w z z' of the first term."""
        first = self.terms[0]
        q = first.q
        G = np.empty((first.n_levels, q, q))
        for r in range(q):
            for c in range(r + 1):
                prod = self._first_products[r][c]
                G[:, r, c] = first.sum_rows(w if prod is None else w * prod)
                G[:, c, r] = G[:, r, c]
        return G

    def factor(self, T: tuple[np.ndarray, ...], w: np.ndarray) -> SystemFactor | None:
        """Factor A = Λ'Z'WZΛ + I; None when it is not positive definite."""
        T1 = T[0]
        q1 = T1.shape[0]
        G = self.first_gram(w)
        M = T1.T @ G @ T1 if q1 > 1 else G * (T1[0, 0] ** 2)
        M[:, np.arange(q1), np.arange(q1)] += 1.0
        L11 = smallblocks.cholesky(M)
        if not np.all(np.isfinite(L11)):
            return None
        L11inv = smallblocks.lower_inverse(L11)
        if not self.m_rest:
            return SystemFactor(T, L11, L11inv, None, None)
        blocks = []
        for k, pr in enumerate(self._coupling):
            B = pr.sums(w)  # (pairs, q_t, q1)
            Tk = T[k + 1]
            B = Tk.T @ B @ T1  # Λ_t' B Λ_1
            blocks.append(B @ L11inv[pr.jb].transpose(0, 2, 1))  # times L11_j⁻ᵀ
        data = np.concatenate([b.ravel() for b in blocks])[self._s_order]
        if self._dense_s:
            S = np.zeros((self.m_rest, self.n1))
            S[self._s_rows, self._s_cols] = data
        else:
            S = self._s_pattern.with_data(data)
        C = np.zeros((self.m_rest, self.m_rest))
        for (a, b), pr in self._rest_pairs.items():
            blk = T[a + 1].T @ pr.sums(w) @ T[b + 1]  # (pairs, q_a, q_b)
            ia = self._rest_index[a][pr.ja]  # (pairs, q_a)
            ib = self._rest_index[b][pr.jb]
            C[ia[:, :, None], ib[:, None, :]] = blk
            if a != b:
                C[ib[:, :, None], ia[:, None, :]] = blk.transpose(0, 2, 1)
        C -= S @ S.T if self._dense_s else S.gram()
        C.flat[:: self.m_rest + 1] += 1.0
        # LAPACK directly: numpy's wrapper costs more than a 200 x 200 factorisation
        L22, info = sla.lapack.dpotrf(C, lower=1, clean=1, overwrite_a=1)
        if info != 0 or not np.all(np.isfinite(L22)):
            return None
        return SystemFactor(T, L11, L11inv, S, L22)

    # -- products with Z and Λ ----------------------------------------------------------
    def lambda_t_z_t(self, T: tuple[np.ndarray, ...], values: np.ndarray) -> np.ndarray:
        """Λ'Z' values (stacked, level-major), for a vector or an (n, k) matrix."""
        parts = []
        for term, Tk in zip(self.terms, T, strict=True):
            s = level_sums(term, values)
            s = np.einsum("ba,lb...->la...", Tk, s)
            parts.append(s.reshape(term.size, *values.shape[1:]))
        return np.concatenate(parts, axis=0)

    def z_lambda(self, T: tuple[np.ndarray, ...], u: np.ndarray) -> np.ndarray:
        """ZΛu (n,) for a stacked u."""
        out = None
        for k, (term, Tk) in enumerate(zip(self.terms, T, strict=True)):
            b = u[term.offset : term.offset + term.size].reshape(term.n_levels, term.q) @ Tk.T
            for r, one in enumerate(self._ones[k]):
                col = term.expand(b[:, r])
                contrib = col if one else term.Z[:, r] * col
                out = contrib if out is None else out + contrib
        assert out is not None  # a system has at least one term
        return out

    # -- solves ----------------------------------------------------------------------
    def solve(self, f: SystemFactor, rhs: np.ndarray) -> np.ndarray:
        """A⁻¹ rhs for a stacked vector or an (m, k) matrix."""
        first = self.terms[0]
        l1, q1 = first.n_levels, first.q
        vec = rhs.ndim == 1
        R = rhs[:, None] if vec else rhs
        k = R.shape[1]
        r1 = R[: self.n1].reshape(l1, q1, k)
        y1 = f.L11inv @ r1  # L11⁻¹ r1
        if f.S is None:
            x1 = f.L11inv.transpose(0, 2, 1) @ y1
            out = x1.reshape(self.n1, k)
        else:
            y1f = y1.reshape(self.n1, k)
            y2 = sla.solve_triangular(f.L22, R[self.n1 :] - s_times(f.S, y1f), lower=True,
                                      check_finite=False)
            x2 = sla.solve_triangular(f.L22, y2, lower=True, trans="T", check_finite=False)
            t1 = (y1f - st_times(f.S, x2)).reshape(l1, q1, k)
            x1 = f.L11inv.transpose(0, 2, 1) @ t1
            out = np.vstack([x1.reshape(self.n1, k), x2])
        return out[:, 0] if vec else out

    # -- blocks of A⁻¹ along the rows ------------------------------------------------------
    def row_inverse_products(
        self, f: SystemFactor, T: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Per row i: h_i = r_i'A⁻¹r_i and g_i = (A⁻¹ r_i) on row i's own blocks.

        r_i is row i of ZΛ.  Returns h (n,), g per term (n, q_t), and the first term's
        diagonal blocks of A⁻¹ (l1, q1, q1) in a one-element list (conditional variances).
        """
        first = self.terms[0]
        V1 = f.L11inv.transpose(0, 2, 1) @ f.L11inv  # M⁻¹
        lam_z = [small_product(term.Z, Tk) for term, Tk in zip(self.terms, T, strict=True)]
        if f.S is None:
            g1 = _row_products(first, V1, lam_z[0])
            return _row_dots(lam_z[0], g1), [g1], [V1]
        assert f.L22 is not None  # a coupling block S comes with its rest factor
        P, KtP, V1 = inverse_blocks(first, f, self._kt_pattern)
        idx1 = first.codes[:, None] * first.q + np.arange(first.q)[None, :]  # (n, q1)
        gs = [_row_products(first, V1, lam_z[0])]
        rest_idx = []
        for k, term in enumerate(self.terms[1:]):
            rest_idx.append(self._rest_index[k][term.codes])  # (n, q_t) into the rest block
            gs.append(np.zeros((term.codes.size, term.q), order="F"))
        for k in range(len(self.terms) - 1):
            cross = -KtP[idx1[:, :, None], rest_idx[k][:, None, :]]  # (n, q1, q_t)
            gs[0] += np.einsum("nab,nb->na", cross, lam_z[k + 1])
            gs[k + 1] += np.einsum("nab,na->nb", cross, lam_z[0])
            for k2 in range(len(self.terms) - 1):
                blk = P[rest_idx[k][:, :, None], rest_idx[k2][:, None, :]]
                gs[k + 1] += np.einsum("nab,nb->na", blk, lam_z[k2 + 1])
        h = _row_dots(lam_z[0], gs[0])
        for lz, g in zip(lam_z[1:], gs[1:], strict=True):
            h += _row_dots(lz, g)
        return h, gs, [V1]

    def conditional_covariances(
        self, f: SystemFactor, T: tuple[np.ndarray, ...]
    ) -> list[np.ndarray]:
        """Per term (levels, q, q): diagonal blocks of Λ A⁻¹ Λ' (lme4's condVar, σ = 1)."""
        first = self.terms[0]
        V1 = f.L11inv.transpose(0, 2, 1) @ f.L11inv
        out = []
        if f.S is not None and f.L22 is not None:
            P, _, V1 = inverse_blocks(first, f, self._kt_pattern)
            out.append(V1)
            for k, _term in enumerate(self.terms[1:]):
                idx = self._rest_index[k]
                out.append(P[idx[:, :, None], idx[:, None, :]])
        else:
            out.append(V1)
        return [Tk @ V @ Tk.T for Tk, V in zip(T, out, strict=True)]


def _row_products(term: TermZ, blocks: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Row i: blocks[j(i)] @ vectors[i] for per-level (levels, q, q) blocks, no (n, q, q) copy."""
    q = term.q
    out = np.zeros((vectors.shape[0], q), order="F")
    for a in range(q):
        col = out[:, a]
        for b in range(q):
            col += term.expand(blocks[:, a, b]) * vectors[:, b]
    return out


def _row_dots(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Row-wise a_i'b_i for column-major (n, q) arrays."""
    out = A[:, 0] * B[:, 0]
    for c in range(1, A.shape[1]):
        out += A[:, c] * B[:, c]
    return out

"""lme4's profiled REML criterion / ML deviance as a function of θ.

For a fixed θ, with relative covariance factor Λθ (block diagonal, one lower-triangular
T_k per term, repeated over the term's levels), the blocked Cholesky factor

    L L' = [ Λ'Z'ZΛ + I   Λ'Z'X   Λ'Z'y ]
           [ X'ZΛ          X'X     X'y   ]
           [ y'ZΛ          y'X     y'y   ]

gives everything: log|Λ'Z'ZΛ + I| from the Z rows, log|RX|² from the X rows and the
penalised residual sum of squares r² from the last diagonal element.  Then (Bates et al.
2015, eqs. 34 and 41)

    ML:    d(θ)   = log|L_Z|² + n (1 + log(2π r² / n))
    REML:  d_R(θ) = log|L_Z|² + log|RX|² + (n - p)(1 + log(2π r² / (n - p)))

The first term's block is factored level by level with one batched Cholesky; the other
terms, X and y share one dense Cholesky (MixedModels.jl's blocked scheme).  Nothing here
touches the N rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from . import smallblocks
from .blocks import CrossProducts
from .linalg import cholesky_in_place, inverse_from_cholesky, tri_inv  # noqa: F401 (API)
from .theta import lower_tri_index, unpack_theta

LOG_2PI = float(np.log(2.0 * np.pi))


def theta_lower_bounds(cp: CrossProducts) -> np.ndarray:
    """0 for diagonal elements of each T_k, -inf for off-diagonal ones (lme4's lower)."""
    bounds = []
    for term in cp.terms:
        rows, cols = lower_tri_index(term.q)
        bounds.append(np.where(rows == cols, 0.0, -np.inf))
    return np.concatenate(bounds)


def canonical_theta(cp: CrossProducts, theta: np.ndarray) -> np.ndarray:
    """θ with each column of every T_k sign-flipped so that its diagonal is ≥ 0.

    The criterion depends on T_k only through T_k T_k' (Λ enters as ΛΛ'), so flipping a
    column changes nothing but the sign convention; lme4 reports T with a non-negative
    diagonal.
    """
    out = np.array(theta, dtype=float)
    start = 0
    for term in cp.terms:
        rows, cols = lower_tri_index(term.q)
        seg = out[start : start + term.n_theta]
        for c in range(term.q):
            if seg[(rows == c) & (cols == c)][0] < 0:
                seg[cols == c] *= -1.0
        start += term.n_theta
    return out


def theta_start(cp: CrossProducts) -> np.ndarray:
    """lme4's default start: identity T_k (1 on diagonals, 0 elsewhere)."""
    return np.where(np.isfinite(theta_lower_bounds(cp)), 1.0, 0.0)


def split_theta(cp: CrossProducts, theta: np.ndarray) -> list[np.ndarray]:
    """θ -> list of lower-triangular T_k matrices."""
    return unpack_theta(theta, cp)


@dataclass(frozen=True)
class Factor:
    """Blocked Cholesky factor at one θ."""

    theta: np.ndarray
    T: list[np.ndarray]
    L11: np.ndarray  # (l1, q1, q1) lower
    S: sp.csr_matrix | np.ndarray  # rest rows of L21 (m_r, l1*q1); dense for crossed designs
    D: np.ndarray  # X,y rows of L21 (p+1, l1, q1)
    L22: np.ndarray  # (m, m) lower

    @property
    def S_sparse(self) -> sp.csr_matrix:
        """The rest rows of L21 as a sparse matrix, whichever way they are held."""
        return self.S if sp.issparse(self.S) else sp.csr_matrix(self.S)

    def logdet_Z(self, m_rest: int) -> float:
        d11 = np.diagonal(self.L11, axis1=1, axis2=2)
        return 2.0 * float(np.log(d11).sum() + np.log(np.diag(self.L22)[:m_rest]).sum())

    def diag22(self) -> np.ndarray:
        """Diagonal of L22 (a component factor computes it without a dense L22)."""
        return np.diag(self.L22)

    def back_substitute(self) -> np.ndarray:
        """w = [u_rest; β] solving L22[:-1, :-1]' w = L22[-1, :-1]."""
        L22 = self.L22
        return sla.solve_triangular(L22[:-1, :-1], L22[-1, :-1], lower=True, trans="T",
                                    check_finite=False)

    def x_block(self, m_rest: int, p: int) -> np.ndarray:
        """The X rows' diagonal block of L22 (RX')."""
        return self.L22[m_rest : m_rest + p, m_rest : m_rest + p]


@dataclass(frozen=True)
class GradientParts:
    """The criterion's θ-dependent pieces at one θ, with their exact θ-gradients.

    ``value = logdet + dof (1 + log 2π + log(r2 / dof))`` with ``logdet`` = log|A_Z|
    (ML) or log|A_Z| + log|RX|² (REML) and ``r2`` the penalised RSS; ``vcov_unscaled``
    is (RX'RX)⁻¹ = vcov(β̂)/σ².  Satterthwaite's df difference these gradients.
    """

    value: float
    logdet: float
    r2: float
    dof: int
    grad_logdet: np.ndarray
    grad_r2: np.ndarray
    vcov_unscaled: np.ndarray

    @property
    def gradient(self) -> np.ndarray:
        """∂d/∂θ = ∂logdet/∂θ + dof ∂r²/∂θ / r²."""
        return self.grad_logdet + self.dof * self.grad_r2 / self.r2


class ProfiledDeviance:
    """Callable objective θ -> REML criterion or ML deviance, for one set of cross-products."""

    def __init__(self, cp: CrossProducts, reml: bool = True, kernel: str | None = None):
        """``kernel`` forces one evaluation path ("blocked": the coupling plan, "crossed":
        dense coupling, "dense": one dense matrix, "components": the rest block per
        connected component) where the default chooses by size and density; tests use it
        to check that every path gives the same numbers."""
        self.cp = cp
        self.kernel = kernel
        self.reml = reml
        self.lower = theta_lower_bounds(cp)
        self.n_evals = 0
        #: Called with the criterion after every evaluation (the progress display), or None.
        self.observer: Callable[[float], None] | None = None
        first = cp.terms[0]
        l1, q1 = first.n_levels, first.q
        # Sparsity patterns filled with new numbers at each θ (structure never changes).
        j, a, b = np.meshgrid(np.arange(l1), np.arange(q1), np.arange(q1), indexing="ij")
        self._bd_indices = (j * q1 + b).ravel()
        self._bd_indptr = np.arange(0, l1 * q1 * q1 + 1, q1)
        self._has_rest = cp.m_rest > 0
        if self._has_rest:
            idx, ptr, pos = [], [0], 0
            for term in cp.terms[1:]:
                jj, aa, bb = np.meshgrid(
                    np.arange(term.n_levels), np.arange(term.q), np.arange(term.q), indexing="ij"
                )
                idx.append(term.offset + (jj * term.q + bb).ravel())
                ptr.extend(pos + term.q * np.arange(1, term.n_levels * term.q + 1))
                pos += term.n_levels * term.q * term.q
            n_w = cp.p + 1
            idx.append(cp.m_rest + np.arange(n_w))
            ptr.extend(pos + np.arange(1, n_w + 1))
            self._lam_indices = np.concatenate(idx)
            self._lam_indptr = np.asarray(ptr)
            # All terms scalar (random intercepts): Λ' and F are diagonal, so S's nonzeros
            # are cp.S's scaled in place, with no sparse products per evaluation.
            self._scalar = q1 == 1 and all(t.q == 1 for t in cp.terms[1:])
            if self._scalar:
                Sc = sp.csr_matrix(cp.S)
                Sc.sort_indices()
                self._S_csr = Sc
                self._S_rows = np.repeat(np.arange(cp.m_rest), np.diff(Sc.indptr))
                self._rest_term = np.repeat(
                    np.arange(len(cp.terms) - 1), [t.n_levels for t in cp.terms[1:]]
                )
        from .crossed import prefers_dense_coupling

        # Fully crossed designs: Z_rest'Z1 held dense (see :mod:`.crossed`).
        crossed = prefers_dense_coupling(cp) if kernel is None else kernel == "crossed"
        self._dense_coupling = bool(self._has_rest and crossed)
        self._S_dense_rest = cp.S.toarray() if self._dense_coupling else None
        self._coupling_cache: dict[bool, np.ndarray] = {}
        self._eye_rest = np.zeros(cp.A22.shape[0])
        self._eye_rest[: cp.m_rest] = 1.0
        # Small models: one dense Cholesky beats the blocked scheme's call overhead.
        from .dense import DenseKernel, prefers_dense

        dense = prefers_dense(cp) if kernel is None else kernel == "dense"
        self._dense = DenseKernel.build(cp) if dense else None
        self._last_gradient: tuple[np.ndarray, float, np.ndarray] | None = None

    # -- factorisation ---------------------------------------------------------------
    def _lambda_t_rest(self, T: list[np.ndarray]) -> sp.csr_matrix:
        """Λ' for the rest terms plus identity for X and y, as a sparse block diagonal."""
        pairs = zip(T[1:], self.cp.terms[1:], strict=True)
        data = [np.tile(Tk.T.ravel(), term.n_levels) for Tk, term in pairs]
        data.append(np.ones(self.cp.p + 1))
        m = self.cp.A22.shape[0]
        values = np.concatenate(data)
        return sp.csr_matrix((values, self._lam_indices, self._lam_indptr), shape=(m, m))

    def _lt_rows(self, T: list[np.ndarray], A: np.ndarray) -> np.ndarray:
        """Λ' A for the rest terms (identity on the X, y rows), as a new dense array."""
        out = A.copy()
        for Tk, term in zip(T[1:], self.cp.terms[1:], strict=True):
            o, q, n_lev = term.offset, term.q, term.n_levels
            if q == 1:
                out[o : o + n_lev] *= Tk[0, 0]
            else:
                blk = A[o : o + n_lev * q].reshape(n_lev, q, -1)
                out[o : o + n_lev * q] = np.matmul(Tk.T, blk).reshape(n_lev * q, -1)
        return out

    def largest_dense_block(self) -> int:
        """Rows of the largest block factored densely (what multi-threaded BLAS would see)."""
        plan = self._component_plan() if self._has_rest and self._dense is None else None
        if plan is not None:
            return max(g.shape[1] for g in plan.groups) + self.cp.p + 1
        return int(self.cp.A22.shape[0])

    def _component_plan(self):
        """The rest block's :class:`.components.ComponentPlan` (None: dense), built once."""
        from .components import component_plan_for

        return component_plan_for(self)

    def _schur_plan(self):
        """The model's :class:`.schur.SchurPlan` (None: too large), built on first use."""
        if "_schur" not in self.__dict__:
            from .schur import SchurPlan

            self._schur = SchurPlan.build(self.cp)
        return self._schur

    def _coupling_dense(self, reml: bool) -> np.ndarray:
        """[Z_rest'Z1; X'Z1 (REML)] dense, built once (fully crossed designs only)."""
        if reml not in self._coupling_cache:
            from .crossed import coupling_dense

            self._coupling_cache[reml] = coupling_dense(self.cp, reml)
        return self._coupling_cache[reml]

    def _congruence(self, T: list[np.ndarray], A: np.ndarray) -> None:
        """A <- Λ̃'AΛ̃ in place (Λ̃ = diag(Λ_rest, I)); scalar terms scale rows and columns."""
        if all(t.q == 1 for t in self.cp.terms[1:]):
            lam = np.ones(A.shape[0])
            for Tk, term in zip(T[1:], self.cp.terms[1:], strict=True):
                lam[term.offset : term.offset + term.n_levels] = Tk[0, 0]
            A *= lam[:, None]
            A *= lam[None, :]
        else:
            A[...] = self._lt_rows(T, self._lt_rows(T, A).T).T

    def factor(self, theta: np.ndarray) -> Factor | None:
        """Blocked Cholesky at θ, or None when a block is not positive definite."""
        cp = self.cp
        T = split_theta(cp, np.asarray(theta, dtype=float))
        T1 = T[0]
        q1 = T1.shape[0]
        M = T1.T @ cp.A11 @ T1
        M[:, np.arange(q1), np.arange(q1)] += 1.0
        L11 = smallblocks.cholesky(M)
        if q1 == 1:
            F = T1[0, 0] / L11
        else:
            # F_j = T1 L11_j^{-T}: right factor that maps Z1 columns into L21's columns.
            F = T1 @ smallblocks.lower_inverse(L11).transpose(0, 2, 1)
        # D_j = [X y]'Z_j F_j for every level: one batched matmul (einsum here was 6x slower).
        D = (cp.D.transpose(1, 0, 2) @ F).transpose(1, 0, 2) if q1 > 1 else cp.D * F[None, :, :, 0]
        W = D.reshape(D.shape[0], -1)
        m_r = cp.m_rest
        if self._dense_coupling:
            from .crossed import scaled_coupling

            S = scaled_coupling(self, T, F)
            omega = self._lt_rows(T, self._lt_rows(T, cp.A22).T).T
            omega[:m_r, :m_r] -= S @ S.T
            SW = S @ W.T
            omega[:m_r, m_r:] -= SW
            omega[m_r:, :m_r] -= SW.T
        elif self._has_rest:
            if self._scalar:
                Sc = self._S_csr
                lam_r = np.array([Tk[0, 0] for Tk in T[1:]])[self._rest_term]
                data = Sc.data * lam_r[self._S_rows] * F.ravel()[Sc.indices]
                S = sp.csr_matrix((data, Sc.indices, Sc.indptr), shape=Sc.shape)
            else:
                lam_t = self._lambda_t_rest(T)
                size = F.size // q1
                bd = sp.csr_matrix(
                    (F.ravel(), self._bd_indices, self._bd_indptr), shape=(size, size)
                )
                S = (lam_t[:m_r, :m_r] @ cp.S @ bd).tocsr()
            blocks = self._component_plan()
            if blocks is not None:
                return blocks.factor(self, theta, T, L11, S, D, W, F)
            # Λ'A22Λ by scaling row blocks (A22 is symmetric): O(m² q), no sparse products.
            schur = self._schur_plan()
            if schur is not None:
                omega = cp.A22.copy()
                schur.subtract_from(omega, F * F if q1 == 1 else F @ F.transpose(0, 2, 1))
                self._congruence(T, omega)
            else:
                omega = self._lt_rows(T, self._lt_rows(T, cp.A22).T).T
                omega[:m_r, :m_r] -= (S @ S.T).toarray()
            SW = np.asarray(S @ W.T)
            omega[:m_r, m_r:] -= SW
            omega[m_r:, :m_r] -= SW.T
        else:
            S = cp.S
            omega = cp.A22.copy()
        omega[m_r:, m_r:] -= W @ W.T
        omega.flat[:: omega.shape[0] + 1] += self._eye_rest
        L22 = cholesky_in_place(omega)
        if L22 is None or not np.all(np.isfinite(np.diagonal(L22))):
            return None
        return Factor(np.asarray(theta, dtype=float), T, L11, S, D, L22)

    # -- objective -------------------------------------------------------------------
    def from_factor(self, f: Factor) -> float:
        cp = self.cp
        m_r, p, n = cp.m_rest, cp.p, cp.n
        d22 = f.diag22()
        r2 = d22[-1] ** 2
        logdet = f.logdet_Z(m_r)
        if self.reml:
            logdet += 2.0 * float(np.log(d22[m_r : m_r + p]).sum())
            dof = n - p
        else:
            dof = n
        if r2 <= 0 or dof <= 0:
            return np.inf
        return float(logdet + dof * (1.0 + LOG_2PI + np.log(r2 / dof)))

    def __call__(self, theta: np.ndarray) -> float:
        self.n_evals += 1
        if self._dense is not None:
            value = self._dense.value(np.asarray(theta, dtype=float), self.reml, self.cp.n)
        else:
            f = self.factor(theta)
            value = np.inf if f is None else self.from_factor(f)
        if self.observer is not None:
            self.observer(value)
        return value

    # -- analytic gradient ---------------------------------------------------------------
    @property
    def has_gradient(self) -> bool:
        """True when :meth:`value_and_gradient` is available (exact, not differenced).

        Always, except for several random terms whose coupling pattern is too dense
        for :class:`.coupling.CouplingPlan` (then derivative-free BOBYQA is used).
        """
        if self._dense is not None or not self._has_rest or self._dense_coupling:
            return True
        if self._component_plan() is not None:
            return False  # the blocked inverse for components is not written: BOBYQA
        from .coupling import plan_for

        return plan_for(self) is not None

    def value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Criterion and its exact gradient at θ.

        Small models use the dense kernel (:mod:`.dense`), several random terms the
        blocked inverse of :mod:`.gradient`, one random term the batched formula below.
        """
        theta = np.asarray(theta, dtype=float)
        # The optimiser's last point is where the polish starts: remember one result.
        last = self._last_gradient
        if last is not None and np.array_equal(last[0], theta):
            return last[1], last[2].copy()
        value, grad = self._value_and_gradient(theta)
        self._last_gradient = (theta.copy(), value, grad.copy())
        return value, grad

    def _value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        parts = self.gradient_parts(theta)
        if parts is None:
            return np.inf, np.zeros_like(theta)
        return parts.value, parts.gradient

    def gradient_parts(self, theta: np.ndarray) -> GradientParts | None:
        """log|A|, r², (RX'RX)⁻¹ and the exact gradients at θ (None: not positive definite).

        Small models use the dense kernel (:mod:`.dense`), several random terms the
        blocked plan of :mod:`.gradient`, one random term the batched formula of
        :meth:`_single_term_parts`.  Counts as one evaluation.
        """
        theta = np.asarray(theta, dtype=float)
        self.n_evals += 1
        if self._dense is not None:
            parts = self._dense.parts(theta, self.reml, self.cp.n)
        elif self._has_rest:
            from .gradient import criterion_parts

            parts = criterion_parts(self, theta)
        else:
            parts = self._single_term_parts(theta)
        if self.observer is not None:
            self.observer(np.inf if parts is None else parts.value)
        return parts

    def _single_term_parts(self, theta: np.ndarray) -> GradientParts | None:
        """:class:`GradientParts` for a single random term (batched level blocks).

        With A = Λ̃'ΩΛ̃ + diag(I, 0) for Ω = [Z X]'[Z X] and r² the penalised RSS,

            ML:    d = log|A_Z| + n log r² + c,      REML: d = log|A| + (n-p) log r² + c.

        For θ_i the (r, c) entry of T (dΛ = E_rc in every level's block),
        ∂ log|A_s| / ∂θ_i = 2 Σ_j [A_s⁻¹ Λ̃'Ω]_{(j,c),(j,r)} and, by the envelope
        theorem, ∂r²/∂θ_i = -2 Σ_j (Z_j' ρ)_r u_{jc} with ρ = y - Xβ - ZΛu.  With
        M_j = T'Z_j'Z_jT + I, C_j = T'Z_j'X, G_j = M_j⁻¹C_j and V = (RX'RX)⁻¹ the REML
        term is H_j + G_j V (C_j'H_j - X'Z_j) with H_j = M_j⁻¹T'Z_j'Z_j (ML: H_j alone).
        One factorisation plus O(levels·q²·p²) work: the cost of one evaluation.
        """
        f = self.factor(theta)
        if f is None:
            return None
        value = self.from_factor(f)
        cp = self.cp
        p, n = cp.p, cp.n
        T = f.T[0]
        L22 = f.L22
        Lxx = L22[:p, :p]
        Lx_inv = tri_inv(Lxx)
        beta = Lx_inv.T @ L22[-1, :p]
        rhs = f.D[-1] - np.einsum("mja,m->ja", f.D[:-1], beta)
        Linv = smallblocks.lower_inverse(f.L11)  # (l, q, q)
        u = np.einsum("jba,jb->ja", Linv, rhs)  # L_j' u_j = rhs_j
        ZX = cp.D[:p]  # (p, l, q): X'Z_j
        Zy = cp.D[-1]  # (l, q)
        A11 = cp.A11
        TA = T.T @ A11  # T'A11_j
        Ztr = Zy - np.einsum("mja,m->ja", ZX, beta) - ((A11 @ T) @ u[:, :, None])[:, :, 0]
        r2 = float(L22[-1, -1] ** 2)
        dr2 = -2.0 * np.einsum("jr,jc->rc", Ztr, u)
        Minv = Linv.transpose(0, 2, 1) @ Linv
        H = Minv @ TA  # (l, q, q)
        if self.reml and p:
            C = T.T @ ZX.transpose(1, 2, 0)  # (l, q, p): T'Z_j'X
            G = Minv @ C
            V = Lx_inv.T @ Lx_inv
            E = C.transpose(0, 2, 1) @ H - ZX.transpose(1, 0, 2)  # (l, p, q)
            H = H + G @ V @ E
            dof = n - p
        else:
            dof = n if not self.reml else n - p
        Hsum = H.sum(axis=0)
        rows, cols = lower_tri_index(T.shape[0])
        logdet = f.logdet_Z(0) + (2.0 * float(np.log(np.diag(Lxx)).sum()) if self.reml else 0.0)
        return GradientParts(
            value, logdet, r2, dof, 2.0 * Hsum[cols, rows], dr2[rows, cols],
            Lx_inv.T @ Lx_inv,
        )


#: Names that moved to :mod:`.solution`, still importable from here.
_MOVED = ("Solution", "solve", "solve_factor", "unscaled_vcov", "conditional_variances")


def __getattr__(name: str):
    if name in _MOVED:
        from . import solution

        return getattr(solution, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

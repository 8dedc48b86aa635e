"""The criterion and its exact gradient with dense matrices, for small models.

When all random effects, X and y together are only a few dozen columns (sleepstudy:
36 + 2 + 1), a dense Cholesky of the whole (q + p + 1)-square system costs a few
microseconds, and the blocked sparse machinery of :mod:`.objective` is mostly Python
and call overhead.  Here one evaluation is about a dozen NumPy calls:

    G = Λ̃'Ω,  A = G Λ̃ + diag(I_q, 0),  L = chol(A),

with the criterion read off L exactly as in :mod:`.objective`, and the gradient

    ∂d/∂θ_i = 2 Σ_j [A_s⁻¹ G_s]_{(kjc),(kjr)} - 2 (ν / r²) Σ_j (Z'ρ)_{kjr} u_{kjc}

(see :mod:`.gradient`), gathered for every θ_i at once with precomputed index pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from .blocks import CrossProducts
from .linalg import tri_inv
from .objective import LOG_2PI, GradientParts
from .theta import lower_tri_index

# q + p + 1 up to which the dense kernel beats the blocked one (one / several terms)
DENSE_MAX_ONE = 60
DENSE_MAX_SEVERAL = 130


def dense_omega(cp: CrossProducts) -> np.ndarray:
    """Ω = [Z X y]'[Z X y] as one dense matrix, Z columns term by term, level-major."""
    first = cp.terms[0]
    l1, q1 = first.n_levels, first.q
    n1 = l1 * q1
    m = n1 + cp.A22.shape[0]
    omega = np.zeros((m, m))
    idx = np.arange(n1).reshape(l1, q1)
    omega[idx[:, :, None], idx[:, None, :]] = cp.A11
    m_r = cp.m_rest
    coupling = np.vstack(
        [cp.S.toarray() if m_r else np.zeros((0, n1)), cp.D.reshape(cp.p + 1, n1)]
    )
    omega[n1:, :n1] = coupling
    omega[:n1, n1:] = coupling.T
    omega[n1:, n1:] = cp.A22
    return omega


@dataclass(frozen=True)
class DenseKernel:
    """Precomputed Ω and index maps θ -> Λ̃ and θ -> gradient contributions."""

    omega: np.ndarray
    q: int
    p: int
    lam_flat: np.ndarray  # flat positions in Λ̃ filled by θ
    lam_theta: np.ndarray  # which θ goes there
    fixed_ones: np.ndarray  # flat positions of the X, y identity in Λ̃
    pair_r: np.ndarray  # (kjr) row of each gradient pair
    pair_c: np.ndarray  # (kjc) column of each gradient pair
    pair_theta: np.ndarray  # θ index of each pair
    n_theta: int

    @classmethod
    def build(cls, cp: CrossProducts) -> DenseKernel:
        omega = dense_omega(cp)
        m = omega.shape[0]
        q = m - cp.p - 1
        lam_flat, lam_theta, pr, pc, pt = [], [], [], [], []
        col0, theta0 = 0, 0
        for term in cp.terms:
            rows, cols = lower_tri_index(term.q)
            base = col0 + term.q * np.arange(term.n_levels)[:, None]  # (levels, 1)
            r_idx = (base + rows[None, :]).ravel()
            c_idx = (base + cols[None, :]).ravel()
            t_idx = np.tile(theta0 + np.arange(rows.size), term.n_levels)
            # Λ[r, c] = T[r, c]: row r, column c of the level block.
            lam_flat.append(r_idx * m + c_idx)
            lam_theta.append(t_idx)
            pr.append(r_idx)
            pc.append(c_idx)
            pt.append(t_idx)
            col0 += term.size
            theta0 += rows.size
        fixed = np.arange(q, m)
        return cls(
            omega=omega, q=q, p=cp.p,
            lam_flat=np.concatenate(lam_flat), lam_theta=np.concatenate(lam_theta),
            fixed_ones=fixed * m + fixed,
            pair_r=np.concatenate(pr), pair_c=np.concatenate(pc), pair_theta=np.concatenate(pt),
            n_theta=theta0,
        )

    def lam(self, theta: np.ndarray) -> np.ndarray:
        """Λ̃ = diag(Λθ, I) as a dense matrix (a new array)."""
        m = self.omega.shape[0]
        out = np.zeros(m * m)
        out[self.lam_flat] = theta[self.lam_theta]
        out[self.fixed_ones] = 1.0
        return out.reshape(m, m)

    def _factor(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(Λ̃, G = Λ̃'Ω, L) at θ, or None when A is not positive definite."""
        q = self.q
        lam = self.lam(theta)
        G = lam.T @ self.omega
        A = G @ lam
        A.flat[: q * (A.shape[0] + 1) : A.shape[0] + 1] += 1.0
        # LAPACK directly: numpy.linalg.cholesky's checks and error machinery cost more
        # than the factorisation of these few-dozen-column matrices.
        L, info = sla.lapack.dpotrf(A, lower=1, clean=1, overwrite_a=1)
        if info != 0 or not L[-1, -1] > 0:
            return None
        return lam, G, L

    def value(self, theta: np.ndarray, reml: bool, n: int) -> float:
        """The criterion at θ (inf where A is not positive definite)."""
        fac = self._factor(theta)
        if fac is None:
            return np.inf
        return self._value(np.diag(fac[2]), reml, n)[0]

    def _value(self, d: np.ndarray, reml: bool, n: int) -> tuple[float, float, float, int]:
        s = self.q + self.p if reml else self.q
        dof = n - self.p if reml else n
        r2 = float(d[-1] ** 2)
        logdet = float(2.0 * np.log(d[:s]).sum())
        if dof <= 0:
            return np.inf, logdet, r2, dof
        return float(logdet + dof * (1.0 + LOG_2PI + np.log(r2 / dof))), logdet, r2, dof

    def parts(self, theta: np.ndarray, reml: bool, n: int) -> GradientParts | None:
        """Criterion pieces and exact gradients at θ (None where A is not PD)."""
        fac = self._factor(theta)
        if fac is None:
            return None
        lam, G, L = fac
        q, p = self.q, self.p
        value, logdet, r2, dof = self._value(np.diag(L), reml, n)
        Linv = tri_inv(L[: q + p, : q + p])
        # u and β: L[:-1,:-1]' w = L[-1, :-1]  (w = [u; β]).
        w = Linv.T @ L[-1, :-1]
        u, beta = w[:q], w[q:]
        om = self.omega
        zr = om[:q, -1] - om[:q, q : q + p] @ beta - om[:q, :q] @ (lam[:q, :q] @ u)
        s = q + p if reml else q
        Ainv = Linv[:s, :s].T @ Linv[:s, :s]
        R = Ainv @ G[:s, :s]
        pr, pc, pt = self.pair_r, self.pair_c, self.pair_theta
        g_logdet = 2.0 * np.bincount(pt, weights=R[pc, pr], minlength=self.n_theta)
        g_r2 = -2.0 * np.bincount(pt, weights=zr[pr] * u[pc], minlength=self.n_theta)
        Lx_inv = Linv[q:, q:]  # inverse of RX' (the X block of L)
        return GradientParts(value, logdet, r2, dof, g_logdet, g_r2, Lx_inv.T @ Lx_inv)


def prefers_dense(cp: CrossProducts) -> bool:
    """True when the dense kernel is the cheaper way to evaluate this model.

    Measured per value+gradient: with one random term the batched blocks win from about
    60 columns on; with several, the blocked gradient's sparse bookkeeping costs ~1 ms, so
    the dense kernel wins up to ~130 columns.
    """
    m = cp.A11.shape[0] * cp.A11.shape[1] + cp.A22.shape[0]
    return m <= (DENSE_MAX_SEVERAL if cp.m_rest else DENSE_MAX_ONE)


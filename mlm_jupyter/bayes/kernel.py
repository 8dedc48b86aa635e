"""The marginal likelihood of (Λ, σ) with the random effects and β integrated out.

For y = Xβ + Zb + e, e ~ N(0, σ²I), b = Λu, u ~ N(0, σ²I) and a Gaussian prior
β ~ N(m₀, P₀⁻¹) (P₀ may be singular: flat directions), the random effects and β integrate
out analytically.  With W = [X y] and, per block j of Z's columns (one block per level of a
single grouping factor, or one block holding all of Z),

    M_j = Λ'Z_j'Z_jΛ + I,        K_j = Λ'Z_j'W,        C = W'W - Σ_j K_j' M_j⁻¹ K_j,

C is [X y]'V⁻¹[X y] for V = I + ZΛΛ'Z' (Woodbury, block by block).  With τ = 1/σ²,
H = τ C_XX + P₀ and h = τ C_Xy + P₀m₀, the log density of y is, up to a constant,

    f = (n/2) log τ - ½ Σ_j log|M_j| - ½ (τ C_yy + m₀'P₀m₀ - h'H⁻¹h) - ½ log|H| + ½ log|P₀|₊

and the conditional posterior of β is N(μ = H⁻¹h, H⁻¹).  Writing w = [μ; -1] and
F = ∂f/∂C = -(τ/2) (w w' + diag(H⁻¹, 0)), the exact gradients are

    ∂f/∂Λ = Σ_j [ -2 (Z_j'W - Z_j'Z_jΛQ_j) F Q_j' - Z_j'Z_jΛM_j⁻¹ ],    Q_j = M_j⁻¹K_j
    ∂f/∂τ = n/(2τ) - ½ w'Cw - ½ tr(H⁻¹C_XX)
    ∂f/∂π_k = -½ ((Eμ + c - m̃)_k² + (E H⁻¹E')_kk) + ½/π_k

the last for a prior of independent components β̃ = c + Eβ with precisions π_k
(P₀ = E'ΠE), which is how priors on the centred intercept and Student-t priors (as scale
mixtures of normals) enter.  Λ is any q x q matrix (not necessarily triangular).  Only the
cross-products Z_j'Z_j, Z_j'W and W'W are used: never the N rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fast_kernel import single_factor


@dataclass(frozen=True)
class Blocks:
    """Cross-products of one sampling problem (in the engine's units).

    Attributes
    ----------
    A : ndarray (nl, q, q)
        Z_j'Z_j per block.
    G : ndarray (nl, q, p + 1)
        Z_j'[X y] per block.
    WW : ndarray (p + 1, p + 1)
        [X y]'[X y].
    n : int
        Observations.
    """

    A: np.ndarray
    G: np.ndarray
    WW: np.ndarray
    n: int

    @property
    def p(self) -> int:
        return int(self.WW.shape[0] - 1)

    @property
    def q(self) -> int:
        return int(self.A.shape[1])


@dataclass(frozen=True)
class GaussianPrior:
    """Independent priors on β̃ = c + Eβ: N(mean_k, 1/prec_k), flat where prec_k = 0."""

    E: np.ndarray  # (p, p)
    c: np.ndarray  # (p,)
    mean: np.ndarray  # (p,)
    prec: np.ndarray  # (p,)

    def with_precision(self, prec: np.ndarray) -> GaussianPrior:
        return GaussianPrior(self.E, self.c, self.mean, prec)


@dataclass(frozen=True)
class Marginal:
    """The marginal log density and its gradients at one (Λ, τ, π)."""

    value: float
    grad_lam: np.ndarray  # (q, q)
    grad_tau: float
    grad_prec: np.ndarray  # (p,)


@dataclass(frozen=True)
class Conditional:
    """What the exact conditional draws of β and u need at one (Λ, τ, π)."""

    mu: np.ndarray  # (p,) mean of β
    chol_H: np.ndarray  # (p, p) lower, H = chol_H chol_H'
    chol_M: np.ndarray  # (nl, q, q) lower
    Q: np.ndarray  # (nl, q, p + 1) M_j⁻¹ K_j


def _prior_terms(prior: GaussianPrior) -> tuple[np.ndarray, np.ndarray, float, float]:
    """P₀ = E'ΠE, P₀m₀ = E'Π(m̃ - c), m₀'P₀m₀ and ½ log|Π|₊."""
    pi = prior.prec
    d = prior.mean - prior.c
    EP = prior.E.T * pi
    proper = pi > 0
    half_logdet = 0.5 * float(np.log(pi[proper]).sum())
    return EP @ prior.E, EP @ d, float(d @ (pi * d)), half_logdet


def _bmm(S: np.ndarray, X: np.ndarray) -> np.ndarray:
    """S_j X_j for (nl, q, q) @ (nl, q, r); elementwise for q ≤ 2 (NumPy's batched matmul of
    tiny matrices costs ~10x more than the arithmetic)."""
    q = S.shape[1]
    if q == 1:
        return S[:, :, :1] * X
    if q == 2:
        top = S[:, 0, 0, None] * X[:, 0] + S[:, 0, 1, None] * X[:, 1]
        bottom = S[:, 1, 0, None] * X[:, 0] + S[:, 1, 1, None] * X[:, 1]
        return np.stack([top, bottom], axis=1)
    return S @ X


def _binv(M: np.ndarray) -> tuple[np.ndarray, float]:
    """Inverses of symmetric positive definite (nl, q, q) blocks and Σ_j log|M_j|."""
    q = M.shape[1]
    if q == 1:
        d = M[:, 0, 0]
        if not np.all(d > 0):
            raise np.linalg.LinAlgError("not positive definite")
        return (1.0 / d)[:, None, None], float(np.log(d).sum())
    if q == 2:
        a, b, c = M[:, 0, 0], M[:, 0, 1], M[:, 1, 1]
        det = a * c - b * b
        if not (np.all(det > 0) and np.all(a > 0)):
            raise np.linalg.LinAlgError("not positive definite")
        inv = np.empty_like(M)
        inv[:, 0, 0], inv[:, 1, 1] = c / det, a / det
        inv[:, 0, 1] = inv[:, 1, 0] = -b / det
        return inv, float(np.log(det).sum())
    chol = np.linalg.cholesky(M)
    logdet = 2.0 * float(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum())
    return np.linalg.inv(M), logdet


def _factor(blocks: Blocks, lam: np.ndarray) -> tuple[np.ndarray, ...]:
    """Λ'Z_j'Z_jΛ through two GEMMs, M_j⁻¹, K_j, Q_j, Z_j'Z_jΛ, C and Σ log|M_j|."""
    nl, q = blocks.A.shape[:2]
    r = blocks.WW.shape[0]
    AL = (blocks.A.reshape(nl * q, q) @ lam).reshape(nl, q, q)  # Z_j'Z_jΛ
    # Λ'(Z_j'Z_jΛ) = ((Z_j'Z_jΛ)'Λ)': one more GEMM on the transposed blocks
    M = (AL.transpose(0, 2, 1).reshape(nl * q, q) @ lam).reshape(nl, q, q).transpose(0, 2, 1)
    M = M + np.eye(q)
    M_inv, logdet_M = _binv(M)
    K = (blocks.G.transpose(0, 2, 1).reshape(nl * r, q) @ lam).reshape(nl, r, q)
    K = K.transpose(0, 2, 1)
    Q = _bmm(M_inv, K)
    C = blocks.WW - K.reshape(nl * q, r).T @ Q.reshape(nl * q, r)
    return M, M_inv, Q, AL, C, logdet_M


def marginal(blocks: Blocks, lam: np.ndarray, tau: float, prior: GaussianPrior,
             prior_terms: tuple | None = None, prec_gradient: bool = True) -> Marginal:
    """f and its exact gradients (module docstring); raises LinAlgError if not PD.

    One block per level of a grouping factor goes to the compiled kernel of
    :mod:`.fast_kernel` when numba is installed; :func:`marginal_numpy` is the reference.
    ``prior_terms`` (:func:`prior_terms` of ``prior``) saves recomputing them when the
    prior's precisions are fixed; without ``prec_gradient`` ``grad_prec`` is left empty
    (the sampler needs it only for Student-t priors on β).
    """
    if blocks.A.shape[0] > 1 and single_factor is not None:
        p = blocks.p
        if prior_terms is not None:
            P0, h0, k0, half = prior_terms
        elif p:
            P0, h0, k0, half = _prior_terms(prior)
        else:
            P0, h0, k0, half = np.zeros((0, 0)), np.zeros(0), 0.0, 0.0
        value, grad_lam, grad_tau, mu, H_inv, ok = single_factor(
            blocks.A, blocks.G, blocks.WW, float(blocks.n), np.ascontiguousarray(lam),
            float(tau), P0, h0, float(k0), float(half))
        if not ok:
            raise np.linalg.LinAlgError("not positive definite")
        grad_prec = _grad_prec(prior, mu, H_inv) if prec_gradient else np.zeros(0)
        return Marginal(float(value), grad_lam, float(grad_tau), grad_prec)
    return marginal_numpy(blocks, lam, tau, prior)


def prior_terms(prior: GaussianPrior, p: int) -> tuple:
    """What :func:`marginal` derives from the prior (P₀, P₀m₀, m₀'P₀m₀, ½ log|Π|₊)."""
    if p:
        return _prior_terms(prior)
    return np.zeros((0, 0)), np.zeros(0), 0.0, 0.0


def _grad_prec(prior: GaussianPrior, mu: np.ndarray, H_inv: np.ndarray) -> np.ndarray:
    """∂f/∂π_k = -½ ((Eμ + c - m̃)_k² + (EH⁻¹E')_kk) + ½/π_k (0 where flat)."""
    if not mu.size:
        return np.zeros(0)
    resid = prior.E @ mu + prior.c - prior.mean
    post = np.sum((prior.E @ H_inv) * prior.E, axis=1)
    proper = prior.prec > 0
    inv_prec = np.zeros(mu.size)
    inv_prec[proper] = 0.5 / prior.prec[proper]
    return -0.5 * (resid**2 + post) + inv_prec


def marginal_numpy(blocks: Blocks, lam: np.ndarray, tau: float,
                   prior: GaussianPrior) -> Marginal:
    """:func:`marginal` with NumPy only (any block layout; the reference implementation)."""
    p, n = blocks.p, blocks.n
    nl, q = blocks.A.shape[:2]
    _, M_inv, Q, AL, C, logdet_M = _factor(blocks, lam)
    if p:
        P0, h0, k0, half_logdet_pi = _prior_terms(prior)
        H = tau * C[:p, :p] + P0
        chol_H = np.linalg.cholesky(H)
        H_inv = np.linalg.inv(H)
        h = tau * C[:p, p] + h0
        mu = H_inv @ h
        quad = tau * C[p, p] + k0 - float(mu @ h)
        logdet_H = 2.0 * float(np.log(np.diag(chol_H)).sum())
        w = np.append(mu, -1.0)
    else:
        quad, logdet_H, half_logdet_pi = tau * C[0, 0], 0.0, 0.0
        w = np.array([-1.0])
    value = 0.5 * n * np.log(tau) - 0.5 * logdet_M - 0.5 * quad - 0.5 * logdet_H + half_logdet_pi

    R = blocks.G - _bmm(AL, Q)  # Z_j'W - Z_j'Z_jΛQ_j
    r = p + 1
    Rw = (R.reshape(nl * q, r) @ w).reshape(nl, q)
    Qw = (Q.reshape(nl * q, r) @ w).reshape(nl, q)
    outer = Rw.T @ Qw  # Σ_j (R_j w)(Q_j w)'
    wCw = float(w @ C @ w)
    if p:
        RH = (R[:, :, :p].reshape(nl * q, p) @ H_inv).reshape(nl, q, p)
        outer = outer + RH.transpose(1, 0, 2).reshape(q, nl * p) @ \
            Q[:, :, :p].transpose(1, 0, 2).reshape(q, nl * p).T
        grad_tau = 0.5 * n / tau - 0.5 * wCw - 0.5 * float(np.sum(H_inv * C[:p, :p]))
        grad_prec = _grad_prec(prior, mu, H_inv)
    else:
        grad_tau = 0.5 * n / tau - 0.5 * wCw
        grad_prec = np.zeros(0)
    trace_term = AL.transpose(1, 0, 2).reshape(q, nl * q) @ M_inv.reshape(nl * q, q)
    grad_lam = tau * outer - trace_term
    return Marginal(float(value), grad_lam, float(grad_tau), grad_prec)


def conditional(blocks: Blocks, lam: np.ndarray, tau: float, prior: GaussianPrior) -> Conditional:
    """Mean and factors of β | (Λ, τ, π) and u | (β, Λ, τ) (for exact draws)."""
    p = blocks.p
    M, _, Q, _, C, _ = _factor(blocks, lam)
    chol_M = np.linalg.cholesky(M)
    if p:
        P0, h0, _, _ = _prior_terms(prior)
        H = tau * C[:p, :p] + P0
        chol_H = np.linalg.cholesky(H)
        mu = np.linalg.solve(H, tau * C[:p, p] + h0)
    else:
        chol_H, mu = np.zeros((0, 0)), np.zeros(0)
    return Conditional(mu, chol_H, chol_M, Q)


def draw_beta(cond: Conditional, z: np.ndarray) -> np.ndarray:
    """β = μ + chol_H⁻ᵀ z (z standard normal, shape (p,))."""
    if not cond.mu.size:
        return cond.mu.copy()
    return cond.mu + np.linalg.solve(cond.chol_H.T, z)


def draw_u(cond: Conditional, beta: np.ndarray, sigma: float, z: np.ndarray) -> np.ndarray:
    """u_j = M_j⁻¹Λ'Z_j'(y - Xβ) + σ chol_M_j⁻ᵀ z_j, shape (nl, q) (z: (nl, q) standard normal)."""
    w = np.append(-beta, 1.0)
    mean = cond.Q @ w
    noise = np.linalg.solve(cond.chol_M.transpose(0, 2, 1), z[:, :, None])[:, :, 0]
    return mean + sigma * noise

"""Adaptive Gauss-Hermite quadrature (glmer's nAGQ > 1) for one random-effects term.

With one grouping factor the marginal likelihood factorises over its levels j:

    L_j = ∫ f(y_j | u) φ_q(u) du,    u ∈ R^q the level's spherical random effects.

Centred at the conditional mode û_j and scaled by the Cholesky factor L_j of
A_j = T'Z_j'W Z_j T + I (Fisher weights at û, as glmer), u = û_j + L_j⁻ᵀ z:

    log L_j = ℓ_j(û_j) - û_j'û_j/2 - log|L_j|
              + log Σ_k w_k exp(Δ_jk + z_k'z_k/2),
    Δ_jk = [ℓ_j(u_jk) - u_jk'u_jk/2] - [ℓ_j(û_j) - û_j'û_j/2],

with (z_k, w_k) the product Gauss-Hermite rule for the standard normal density (nagq
points per dimension; for q = 1 exactly glmer's rule, for q > 1 its tensor product).  One
node is the Laplace approximation.  glmer's nAGQ > 1 deviance is built from deviance
residuals, so its log-likelihood leaves out the saturated log-likelihood Σ log f(y | y)
(see :meth:`AGQCriterion.lme4_offset`); the criterion here is the full -2 log L.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import product

import numpy as np

from .laplace import LaplaceCriterion
from .rowops import small_product

MAX_NODES = 20_000
BLOCK_CELLS = 1_000_000  # rows x nodes evaluated at once (memory: 8 MB per array)


@lru_cache(maxsize=32)
def gauss_hermite(nagq: int, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Product rule for the q-variate standard normal: nodes (K, q), log weights (K,)."""
    x, w = np.polynomial.hermite_e.hermegauss(nagq)
    w = w / np.sqrt(2.0 * np.pi)
    nodes = np.array(list(product(x, repeat=q)), dtype=float).reshape(-1, q)
    logw = np.array([np.log(w[list(i)]).sum() for i in product(range(nagq), repeat=q)])
    nodes.flags.writeable = False
    logw.flags.writeable = False
    return nodes, logw


class AGQCriterion:
    """Callable parameters -> -2 log L by adaptive quadrature (full constants).

    Parameters
    ----------
    laplace : LaplaceCriterion
        Its PIRLS gives the modes and factors the nodes are placed by; its system must
        have a single term.
    nagq : int
        Points per dimension.
    """

    def __init__(self, laplace: LaplaceCriterion, nagq: int):
        if len(laplace.system.terms) != 1:
            raise ValueError("adaptive quadrature needs a single random-effects term")
        self.laplace = laplace
        self.nagq = int(nagq)
        self.term = laplace.system.terms[0]
        self.nodes, self.logw = gauss_hermite(self.nagq, self.term.q)
        self.lower = laplace.lower
        self.n_theta = laplace.n_theta
        self.n_params = laplace.n_params
        self.n_evals = 0

    def lme4_offset(self, params: np.ndarray) -> float:
        """2 Σ log f(y | μ = y): add to this criterion to get glmer's nAGQ > 1 deviance."""
        _, _, family = self.laplace.split(params)
        return 2.0 * family.saturated_loglik()

    def __call__(self, params: np.ndarray) -> float:
        self.n_evals += 1
        mode = self.laplace.mode(params)
        if mode is None or not np.isfinite(mode.laplace):
            return np.inf
        return self.from_mode(params, mode)

    def from_mode(self, params: np.ndarray, mode) -> float:
        """The quadrature criterion given the conditional modes at ``params``."""
        term = self.term
        _, _, family = self.laplace.split(params)
        f = mode.factor
        T = f.T[0]
        n_lev, q = term.n_levels, term.q
        u_hat = mode.u.reshape(n_lev, q)
        Linv_t = f.L11inv.transpose(0, 2, 1)  # L_j⁻ᵀ
        # Row i's change of η per unit node coordinate: (L_j⁻¹ T' z_i)'.
        lz = np.einsum("nab,nb->na", term.expand(f.L11inv), small_product(term.Z, T))
        base_rows = family.loglik_rows(mode.eta)
        base = term.sum_rows(base_rows)
        base -= 0.5 * np.einsum("la,la->l", u_hat, u_hat)
        half_sq = 0.5 * np.einsum("ka,ka->k", self.nodes, self.nodes)
        n, K = lz.shape[0], self.nodes.shape[0]
        chunk = max(1, BLOCK_CELLS // max(n, 1))  # nodes per block of n x chunk values
        acc = np.full(n_lev, -np.inf)
        for start in range(0, K, chunk):
            nodes = self.nodes[start : start + chunk]  # (c, q)
            u_k = u_hat[:, None, :] + np.einsum("lab,cb->lca", Linv_t, nodes)  # (l, c, q)
            rows = family.loglik_rows(mode.eta[:, None] + lz @ nodes.T)  # (n, c)
            val = np.stack([term.sum_rows(rows[:, c]) for c in range(rows.shape[1])], axis=1)
            val -= 0.5 * np.einsum("lca,lca->lc", u_k, u_k)
            terms = (self.logw[start : start + chunk] + half_sq[start : start + chunk])[None, :]
            terms = terms + val - base[:, None]
            acc = np.logaddexp(acc, np.logaddexp.reduce(terms, axis=1))
        return float(mode.penalised + f.logdet - 2.0 * acc.sum())


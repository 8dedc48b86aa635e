"""Adaptive Gauss-Hermite quadrature (glmer's nAGQ > 1) for one random-effects term.

With one grouping factor the marginal likelihood factorises over its levels j:

    L_j = ∫ f(y_j | u) φ_q(u) du,    u ∈ R^q the level's spherical random effects.

Centred at the conditional mode û_j and scaled by the Cholesky factor L_j of
A_j = T'Z_j'W Z_j T + I (Fisher weights at û, as glmer), u = û_j + L_j⁻ᵀ z:

    log L_j = -log|L_j| + log Σ_k w_k exp(z_k'z_k/2 + h_j(u_jk)),
    h_j(u) = ℓ_j(u) - u'u/2,    u_jk = û_j + L_j⁻ᵀ z_k,

with (z_k, w_k) the product Gauss-Hermite rule for the standard normal density (nagq
points per dimension; for q = 1 exactly glmer's rule, for q > 1 its tensor product).  One
node is the Laplace approximation.  glmer's nAGQ > 1 deviance is built from deviance
residuals, so its log-likelihood leaves out the saturated log-likelihood Σ log f(y | y)
(see :meth:`AGQCriterion.lme4_offset`); the criterion here is the full -2 log L.

The criterion has an exact gradient (:mod:`.agq_gradient`): the quadrature depends on the
parameters directly and through the node placement (û_j and L_j), whose derivatives follow
from implicit differentiation of the mode equations; so the quadrature fit is optimised
like the Laplace one (L-BFGS-B, Newton polish on a Hessian differenced from the gradient).
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class NodeState:
    """The quadrature at one mode: what the value and the gradient are built from."""

    value: float  # -2 log L
    pi: np.ndarray  # (levels, K) posterior weights of the nodes
    u_nodes: np.ndarray  # (levels, K, q) the nodes in u
    scores: list[np.ndarray]  # per block of nodes: (n, c) scores at the nodes (may be empty)
    starts: list[int]  # first node of each block


def sum_rows_2d(term, values: np.ndarray) -> np.ndarray:
    """Σ over the rows of each level for an (n, k) array -> (levels, k)."""
    if term.starts is not None:
        return np.add.reduceat(values, term.starts, axis=0)
    out = np.empty((term.n_levels, values.shape[1]))
    for c in range(values.shape[1]):
        out[:, c] = np.bincount(term.codes, weights=values[:, c], minlength=term.n_levels)
    return out


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
        self.system = laplace.system
        self.nagq = int(nagq)
        self.term = laplace.system.terms[0]
        self.nodes, self.logw = gauss_hermite(self.nagq, self.term.q)
        self.half_sq = 0.5 * np.einsum("ka,ka->k", self.nodes, self.nodes)
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
        value = self.from_mode(params, mode)
        return value if np.isfinite(value) else np.inf

    def value_and_gradient(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """The criterion and its exact gradient (:func:`.agq_gradient.gradient`)."""
        from .agq_gradient import gradient

        self.n_evals += 1
        mode = self.laplace.mode(params)
        if mode is None or not np.isfinite(mode.laplace):
            return np.inf, np.zeros(self.n_params)
        state = self.nodes_at(params, mode, keep_scores=True)
        if not np.isfinite(state.value):
            return np.inf, np.zeros(self.n_params)
        return state.value, gradient(self, params, mode, state)

    def from_mode(self, params: np.ndarray, mode) -> float:
        """The quadrature criterion given the conditional modes at ``params``."""
        return self.nodes_at(params, mode).value

    def row_directions(self, mode) -> np.ndarray:
        """(n, q): row i's change of η per unit node coordinate, (L_j⁻¹ T' z_i)'."""
        f = mode.factor
        return np.einsum("nab,nb->na", self.term.expand(f.L11inv),
                         small_product(self.term.Z, f.T[0]))

    def nodes_at(self, params: np.ndarray, mode, keep_scores: bool = False) -> NodeState:
        """Evaluate the quadrature at the mode (blocks of nodes bound the memory)."""
        term = self.term
        _, _, family = self.laplace.split(params)
        f = mode.factor
        n_lev, q = term.n_levels, term.q
        u_hat = mode.u.reshape(n_lev, q)
        Linv_t = f.L11inv.transpose(0, 2, 1)  # L_j⁻ᵀ
        lz = self.row_directions(mode)
        n, K = lz.shape[0], self.nodes.shape[0]
        u_nodes = u_hat[:, None, :] + np.einsum("lab,kb->lka", Linv_t, self.nodes)  # (l, K, q)
        h = -0.5 * np.einsum("lka,lka->lk", u_nodes, u_nodes)
        chunk = max(1, BLOCK_CELLS // max(n, 1))
        scores, starts = [], []
        for start in range(0, K, chunk):
            nodes = self.nodes[start : start + chunk]
            eta = mode.eta[:, None] + lz @ nodes.T  # (n, c)
            if keep_scores:
                ll, s = family.loglik_and_score_rows(eta)
                scores.append(s)
                starts.append(start)
            else:
                ll = family.loglik_rows(eta)
            h[:, start : start + chunk] += sum_rows_2d(term, ll)
        # log L_j = -log|L_j| + logsumexp_k(log w_k + z_k'z_k/2 + h_jk); the constants of ℓ
        # (left out of the node terms) come back through the mode's penalised value
        base = term.sum_rows(family.loglik_rows(mode.eta)) - 0.5 * np.einsum(
            "la,la->l", u_hat, u_hat)
        a = h + (self.logw + self.half_sq)[None, :] - base[:, None]
        top = a.max(axis=1)
        ea = np.exp(a - top[:, None])
        total = ea.sum(axis=1)
        acc = top + np.log(total)
        value = float(mode.penalised + f.logdet - 2.0 * acc.sum())
        return NodeState(value, ea / total[:, None], u_nodes, scores, starts)

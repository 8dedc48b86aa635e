"""From sampler draws of ζ to every parameter in the user's units, with exact β and u draws.

For each draw of the covariance parameters, β is drawn from its conditional normal and
the random effects from theirs given β (:func:`.kernel.conditional`), then mapped to the
user's units (:class:`.engine_link.EngineLink`).  These are exact draws from the joint
posterior: p(β, u, ψ | y) = p(ψ | y) p(β | ψ, y) p(u | β, ψ, y).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..results import MixedModelResult
from .kernel import conditional, draw_beta, draw_u
from .posterior import LogPosterior

#: keep every draw of the random effects up to this many numbers, else thin them
MAX_RANEF_NUMBERS = 8_000_000


@dataclass(frozen=True)
class Draws:
    """Posterior draws, each array with leading axes (chains, draws).

    Attributes
    ----------
    beta : ndarray (C, D, p)
    sd : ndarray (C, D, n_sd)
        In ``names.sds`` order.
    cor : ndarray (C, D, n_cor)
        In ``names.cors`` order.
    sigma : ndarray (C, D)
    ranef : tuple of ndarray
        Per term (C, D_r, levels, q) in the user's units; D_r ≤ D when thinned.
    ranef_thin : int
        Every ``ranef_thin``-th draw is kept for the random effects.
    """

    beta: np.ndarray
    sd: np.ndarray
    cor: np.ndarray
    sigma: np.ndarray
    ranef: tuple[np.ndarray, ...]
    ranef_thin: int


def initial_point(logp: LogPosterior, res: MixedModelResult) -> np.ndarray:
    """ζ at the REML estimates (SDs floored at 0.1 σ̂, correlations inside ±0.9)."""
    from ..engine.theta import unpack_theta

    zeta = np.zeros(logp.dim)
    sigma = max(res.sigma, 1e-8 * max(1.0, float(np.std(res.design.y))))
    sds, cors = [], {}
    for k, Tk in enumerate(unpack_theta(res.theta, res.engine.cp)):
        cov = res.sigma**2 * Tk @ Tk.T
        sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
        sds.append(np.maximum(sd, 0.1 * sigma))
        if k in logp.priors.cor:
            floor = np.maximum(sd, 1e-12)
            cors[k] = np.clip(cov / np.outer(floor, floor), -0.9, 0.9)
    zeta[: logp.n_sd] = np.log(np.concatenate(sds))
    for c in logp.cor_terms:
        zeta[c.z] = _partial_correlations(cors[c.term])
    zeta[logp.i_sigma] = np.log(sigma)
    return zeta


def _partial_correlations(R: np.ndarray) -> np.ndarray:
    """z (atanh of the canonical partial correlations) of a correlation matrix."""
    q = R.shape[0]
    R = R.copy()
    R[np.diag_indices(q)] = 1.0
    w, V = np.linalg.eigh(R)
    R = (V * np.maximum(w, 1e-3)) @ V.T
    d = np.sqrt(np.diag(R))
    L = np.linalg.cholesky(R / np.outer(d, d))
    out = []
    for i in range(1, q):
        remain = 1.0
        for k in range(i):
            y = L[i, k] / np.sqrt(remain)
            y = float(np.clip(y, -0.95, 0.95))
            out.append(np.arctanh(y))
            remain *= 1.0 - y**2
    return np.array(out)


def exact_draws(logp: LogPosterior, zeta: np.ndarray, seed: int | None) -> Draws:
    """Every parameter's draws from the ζ draws (shape (C, D, dim))."""
    C, D, _ = zeta.shape
    nat = logp.natural(zeta)
    link, names = logp.link, logp.names
    rng = np.random.default_rng(None if seed is None else [int(seed), 7919])
    p = link.A.shape[0]
    size = sum(t.n_levels * t.q for t in link.terms)
    thin = max(1, int(np.ceil(C * D * size / MAX_RANEF_NUMBERS)))
    beta = np.zeros((C, D, p))
    ranef = [np.zeros((C, len(range(0, D, thin)), t.n_levels, t.q)) for t in link.terms]
    nl, q = link.blocks.A.shape[:2]
    for c in range(C):
        for d in range(D):
            sd = nat["sd"][c, d]
            L = {k: v[c, d] for k, v in nat["L"].items()}
            sigma = float(nat["sigma"][c, d])
            T = logp.term_factors(sd, L, sigma)
            tau = (link.scale / sigma) ** 2
            prior = logp.prior.with_precision(logp.precisions(nat["lam"][c, d]))
            cond = conditional(link.blocks, logp.assemble(T), tau, prior)
            b_eng = draw_beta(cond, rng.standard_normal(p))
            beta[c, d] = link.beta(b_eng)
            if d % thin:
                continue
            u = draw_u(cond, b_eng, sigma / link.scale, rng.standard_normal((nl, q)))
            for k, term in enumerate(link.terms):
                if link.single_factor:
                    uk = u[:, term.cols]
                else:
                    uk = u[0, term.dense_offset : term.dense_offset + term.n_levels * term.q]
                    uk = uk.reshape(term.n_levels, term.q)
                ranef[k][c, d // thin] = link.random_effects(k, uk @ T[k].T)
    cor = np.zeros((C, D, len(names.cors)))
    for i, cn in enumerate(names.cors):
        Lk = nat["L"][cn.term]
        cor[:, :, i] = np.einsum("cdk,cdk->cd", Lk[:, :, cn.i, :], Lk[:, :, cn.j, :])
    return Draws(beta, nat["sd"], cor, nat["sigma"], tuple(ranef), thin)

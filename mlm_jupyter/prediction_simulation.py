"""Simulation intervals for predictions that carry the uncertainty of every parameter.

merTools' ``predictInterval`` draws fixed and random effects around their estimates but keeps
the variance parameters fixed.  Here each of ``nsim`` draws

1. takes variance parameters (θ*, σ*) from their asymptotic normal distribution
   N((θ̂, σ̂), A), A = 2 H⁻¹ the covariance lmerTest's Satterthwaite df use (H the Hessian of
   the deviance in (θ, σ); a negative σ* is reflected, and the sign of a column of Λ does not
   change Λ Λ');
2. given (θ*, σ*), draws the fixed and random effects jointly from their conditional
   distribution given the data (a flat prior on γ, u = Λ v with v ~ N(0, I)):

       (v, γ) | y, θ, σ  ~  N(M⁻¹ b, σ² M⁻¹),
       M = [Λ'Z'ZΛ + I   Λ'Z'X]      b = [Λ'Z'y]
           [X'ZΛ         X'X  ],         [X'y ],

   so the covariance of γ with u and the shrinkage at θ* are both accounted for;
3. forms the prediction: x'γ* + z'u*_j for a seen cluster (``include_re``), x'γ* otherwise;
   a prediction interval adds a new cluster's effect z'u, u ~ N(0, T*), where no cluster
   effect was drawn, and a new residual σ* ε.

The interval is the (1 - level)/2 and (1 + level)/2 quantiles of the draws and
``std_error`` their SD; ``fit`` stays the point prediction.  M is factored blockwise: the
first (largest) term's block is block-diagonal over its levels (batched q x q Cholesky), the
other terms and X form one dense Schur complement, so a draw costs O(levels·q³ + (m₂ + p)³).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as la
import scipy.sparse as sp

from .engine.blocks import term_sparse
from .engine.theta import lower_tri_index

_MAX_CROSS = 30_000_000  # entries of the first term's cross-product with [Z_rest X]


def _gram_per_level(codes: np.ndarray, left: np.ndarray, right: np.ndarray, n: int) -> np.ndarray:
    out = np.empty((n, left.shape[1], right.shape[1]))
    for a in range(left.shape[1]):
        for b in range(right.shape[1]):
            out[:, a, b] = np.bincount(codes, weights=left[:, a] * right[:, b], minlength=n)
    return out


class PosteriorSampler:
    """Joint draws of (γ, u) given (θ, σ) for one fit's design (cross-products made once)."""

    def __init__(self, design: Any):
        terms = design.terms
        first = terms[0]
        self.terms = terms
        self.q1, self.l1 = first.q, first.n_levels
        y = design.y
        self.G11 = _gram_per_level(first.codes, first.Z, first.Z, self.l1)
        self.r1 = _gram_per_level(first.codes, first.Z, y[:, None], self.l1)[:, :, 0]
        rest = [term_sparse(t) for t in terms[1:]]
        self.m2 = sum(t.q * t.n_levels for t in terms[1:])
        self.p = design.X.shape[1]
        width = self.m2 + self.p
        if self.l1 * self.q1 * width > _MAX_CROSS:
            raise ValueError(
                f"simulation intervals would need a {self.l1 * self.q1:,} x {width:,} dense "
                "cross-product for this design; use method='analytic'."
            )
        W = sp.hstack([*rest, sp.csr_matrix(design.X)], format="csr")
        self.E = np.asarray((W.T @ W).todense())
        self.r2 = np.asarray(W.T @ y).ravel()
        self.B0 = np.asarray((term_sparse(first).T @ W).todense()).reshape(self.l1, self.q1, width)
        self.n_theta = [t.q * (t.q + 1) // 2 for t in terms]

    def factors(self, theta: np.ndarray) -> list[np.ndarray]:
        """θ -> the lower-triangular relative factor Λ_k of every term (lme4's order)."""
        out, start = [], 0
        for term, k in zip(self.terms, self.n_theta, strict=True):
            lam = np.zeros((term.q, term.q))
            rows, cols = lower_tri_index(term.q)
            lam[rows, cols] = theta[start : start + k]
            out.append(lam)
            start += k
        return out

    def draw(
        self, theta: np.ndarray, sigma: float, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """γ and per-term u (levels, q) drawn given (θ, σ); the conditional mean if rng is None."""
        lams = self.factors(theta)
        lam1 = lams[0]
        blocks = [np.kron(np.eye(t.n_levels), lam) for t, lam in zip(self.terms[1:], lams[1:],
                                                                       strict=True)]
        lam_w = la.block_diag(*blocks, np.eye(self.p))
        D = np.einsum("ba,lbc,cd->lad", lam1, self.G11, lam1) + np.eye(self.q1)
        chol_d = np.linalg.cholesky(D)
        Bt = np.einsum("ba,lbc->lac", lam1, self.B0) @ lam_w
        d_bt = np.linalg.solve(D, Bt)
        c1 = np.einsum("ba,lb->la", lam1, self.r1)
        d_c1 = np.linalg.solve(D, c1[..., None])[..., 0]
        S = lam_w.T @ self.E @ lam_w - np.einsum("lai,laj->ij", Bt, d_bt)
        S[np.arange(self.m2), np.arange(self.m2)] += 1.0
        rhs = lam_w.T @ self.r2 - np.einsum("lai,la->i", Bt, d_c1)
        chol_s = la.cholesky((S + S.T) / 2, lower=True)
        w = la.cho_solve((chol_s, True), rhs)
        if rng is not None:
            w = w + sigma * la.solve_triangular(chol_s.T, rng.standard_normal(len(w)))
        v1 = d_c1 - np.einsum("lai,i->la", d_bt, w)
        if rng is not None:
            noise = rng.standard_normal((self.l1, self.q1, 1))
            v1 = v1 + sigma * np.linalg.solve(np.swapaxes(chol_d, 1, 2), noise)[..., 0]
        u = [v1 @ lam1.T]
        start = 0
        for term, lam in zip(self.terms[1:], lams[1:], strict=True):
            size = term.q * term.n_levels
            u.append(w[start : start + size].reshape(term.n_levels, term.q) @ lam.T)
            start += size
        return w[self.m2 :], u


def variance_parameter_draws(
    res: Any, nsim: int, rng: np.random.Generator, vary: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(θ*, σ*) draws from N((θ̂, σ̂), A) (rows), or ``nsim`` copies of the estimates.

    In the engine's units (θ°, σ°; :mod:`.engine.conditioning`), where A is computed.
    """
    theta = np.asarray(res.engine_theta, dtype=float)
    center = np.append(theta, float(res.engine_sigma))
    if not vary:
        draws = np.tile(center, (nsim, 1))
    else:
        from .inference import satterthwaite_parts

        _, A = satterthwaite_parts(res)
        evals, evecs = np.linalg.eigh((A + A.T) / 2)
        root = evecs * np.sqrt(np.clip(evals, 0.0, None))
        draws = center + rng.standard_normal((nsim, len(center))) @ root.T
    return draws[:, :-1], np.abs(draws[:, -1])


def simulated_predictions(
    res: Any,
    rows: Any,
    fit: np.ndarray,
    include_re: bool,
    interval: str,
    level: float,
    nsim: int = 1000,
    seed: int | None = None,
    vary_variance: bool = True,
) -> pd.DataFrame:
    """``fit, std_error, lower, upper`` from ``nsim`` joint draws (see the module docstring).

    ``rows`` is a :class:`mlm_jupyter.prediction_intervals.NewRows`; ``vary_variance=False``
    keeps (θ, σ) at their estimates (merTools' setting, used to check the sampler).
    """
    nsim = int(nsim)
    if nsim < 10:
        raise ValueError(f"nsim must be at least 10 for simulation quantiles, got {nsim}.")
    rng = np.random.default_rng(seed)
    # Draws in the engine's units (well-conditioned cross-products), mapped back per draw.
    cond = res.conditioning
    sampler = PosteriorSampler(res.engine_design)
    thetas, sigmas_e = variance_parameter_draws(res, nsim, rng, vary=vary_variance)
    sigmas = cond.scale * sigmas_e
    n = rows.X.shape[0]
    out = np.empty((nsim, n))
    for s in range(nsim):
        beta_e, u_e = sampler.draw(thetas[s], sigmas_e[s], rng)
        beta, u = cond.beta(beta_e), cond.random_effects(u_e)
        value = rows.X @ beta + rows.offset
        if interval == "prediction":
            lams = cond.T(sampler.factors(thetas[s]))
        for k, (Z, idx) in enumerate(zip(rows.Z, rows.cluster, strict=True)):
            seen = (idx >= 0) if include_re else np.zeros(n, dtype=bool)
            if seen.any():
                value[seen] += np.einsum("nq,nq->n", Z[seen], u[k][idx[seen]])
            if interval == "prediction" and not seen.all():
                new = sigmas[s] * rng.standard_normal((int((~seen).sum()), Z.shape[1]))
                value[~seen] += np.einsum("nq,nq->n", Z[~seen], new @ lams[k].T)
        if interval == "prediction":
            value += sigmas[s] * rng.standard_normal(n)
        out[s] = value
    alpha = 1.0 - float(level)
    lower, upper = np.quantile(out, [alpha / 2, 1 - alpha / 2], axis=0)
    return pd.DataFrame(
        {"fit": fit, "std_error": out.std(axis=0, ddof=1), "lower": lower, "upper": upper},
        index=rows.index,
    )

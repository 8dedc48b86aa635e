"""The log posterior the sampler sees, on unconstrained coordinates, with its exact gradient.

Coordinates ζ (in this order): log sd for every group-level SD (brms' order), the
canonical partial correlations z of every correlated term (:mod:`.correlation`), log σ,
and log λ_k for every fixed effect with a Student-t or Cauchy prior, written as a scale
mixture β̃_k | λ_k ~ N(m_k, s_k² λ_k), λ_k ~ InvGamma(ν/2, ν/2), so that β (and the random
effects) still integrate out exactly (:mod:`.kernel`).  The density is

    log p(y | sd, Ω, σ, λ) + Σ log p(sd) + Σ log LKJ(Ω) + log p(σ) + Σ log p(λ) + log|∂(·)/∂ζ|

with the Jacobians of the log and partial-correlation transforms.  ``natural`` maps draws
of ζ back to (sd, correlation factors, σ, λ).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .correlation import cholesky_corr, log_density_and_vjp
from .engine_link import EngineLink
from .kernel import GaussianPrior, marginal, prior_terms
from .names import ParameterNames
from .priors import PriorSet


@dataclass(frozen=True)
class CorTerm:
    term: int
    q: int
    eta: float
    z: slice


@dataclass(frozen=True)
class MixtureTerm:
    index: int  # position in β̃
    nu: float
    scale: float
    zeta: int  # its log λ coordinate


def _gaussian_prior(link: EngineLink, priors: PriorSet) -> tuple[GaussianPrior, list[MixtureTerm]]:
    """β̃ = c + Eβ° (β̃: β with α = β₀ + x̄'β in place of β₀ when centring)."""
    p = link.A.shape[0]
    K_inv = np.eye(p)
    if priors.center:
        K_inv[0, 1:] = link.X_mean[1:]
    E = link.scale * (K_inv @ link.A)
    c = K_inv @ link.gamma
    mean, prec, mix = np.zeros(p), np.zeros(p), []
    for k, dist in enumerate(priors.beta):
        if dist.family == "normal":
            mean[k], prec[k] = dist.args[0], 1.0 / dist.args[1] ** 2
        elif dist.family in ("student_t", "cauchy"):
            nu, mu, s = (1.0, *dist.args) if dist.family == "cauchy" else dist.args
            mean[k], prec[k] = mu, 1.0 / s**2
            mix.append(MixtureTerm(k, nu, s, -1))
    return GaussianPrior(E, c, mean, prec), mix


class LogPosterior:
    """Callable ζ -> (log posterior, gradient) for one model and prior set."""

    def __init__(self, link: EngineLink, names: ParameterNames, priors: PriorSet):
        self.link, self.names, self.priors = link, names, priors
        self.n_sd = len(names.sds)
        pos = self.n_sd
        self.cor_terms: list[CorTerm] = []
        for k, eta in priors.cor.items():
            q = link.terms[k].q
            m = q * (q - 1) // 2
            self.cor_terms.append(CorTerm(k, q, eta, slice(pos, pos + m)))
            pos += m
        self.i_sigma = pos
        pos += 1
        self.prior, mix = _gaussian_prior(link, priors)
        self.mix = [MixtureTerm(t.index, t.nu, t.scale, pos + i) for i, t in enumerate(mix)]
        self.dim = pos + len(self.mix)
        # each SD's (term, column) and where the term's SDs start in the sd vector
        self._sd_slices = []
        start = 0
        for term in link.terms:
            self._sd_slices.append(slice(start, start + term.q))
            start += term.q
        self._cor_of = {c.term: c for c in self.cor_terms}
        groups: dict[str, list[int]] = {}
        for i, dist in enumerate(priors.sd):
            groups.setdefault(str(dist), []).append(i)
        self._sd_groups = [(priors.sd[idx[0]], np.array(idx)) for idx in groups.values()]
        self._mix_zeta = np.array([t.zeta for t in self.mix], dtype=int)
        self._prior_terms = prior_terms(self.prior, link.blocks.p)
        if not link.single_factor:
            self._dense_index = [self._dense_positions(t) for t in link.terms]
        q_lam = link.blocks.q
        self._lam_shape = (q_lam, q_lam)

    # -- Λ in the engine's units --------------------------------------------------------------
    @staticmethod
    def _dense_positions(term) -> tuple[np.ndarray, np.ndarray]:
        base = term.dense_offset + term.q * np.arange(term.n_levels)
        a, b = np.meshgrid(np.arange(term.q), np.arange(term.q), indexing="ij")
        rows = (base[:, None] + a.ravel()[None, :]).ravel()
        cols = (base[:, None] + b.ravel()[None, :]).ravel()
        return rows, cols

    def term_factors(self, sd: np.ndarray, L: dict[int, np.ndarray], sigma: float) -> list:
        """T°_k = B_k⁻¹ D_k L_k / σ for every term."""
        out = []
        for k, term in enumerate(self.link.terms):
            DL = sd[self._sd_slices[k], None] * (L[k] if k in L else np.eye(term.q))
            out.append(term.B_inv @ DL / sigma)
        return out

    def assemble(self, T: list[np.ndarray]) -> np.ndarray:
        lam = np.zeros(self._lam_shape)
        for k, term in enumerate(self.link.terms):
            if self.link.single_factor:
                lam[term.cols, term.cols] = T[k]
            else:
                rows, cols = self._dense_index[k]
                lam[rows, cols] = np.tile(T[k].ravel(), term.n_levels)
        return lam

    def _term_gradients(self, grad_lam: np.ndarray) -> list[np.ndarray]:
        out = []
        for k, term in enumerate(self.link.terms):
            if self.link.single_factor:
                out.append(grad_lam[term.cols, term.cols])
            else:
                rows, cols = self._dense_index[k]
                g = grad_lam[rows, cols].reshape(term.n_levels, term.q * term.q).sum(axis=0)
                out.append(g.reshape(term.q, term.q))
        return out

    # -- the density ------------------------------------------------------------------------
    def precisions(self, lam_mix: np.ndarray) -> np.ndarray:
        prec = self.prior.prec.copy()
        for t, lam in zip(self.mix, lam_mix, strict=True):
            prec[t.index] = 1.0 / (t.scale**2 * lam)
        return prec

    def __call__(self, zeta: np.ndarray) -> tuple[float, np.ndarray]:
        zeta = np.asarray(zeta, dtype=float)
        grad = np.zeros(self.dim)
        log_sd = zeta[: self.n_sd]
        sd = np.exp(log_sd)
        log_sigma = zeta[self.i_sigma]
        sigma = float(np.exp(log_sigma))
        L = {c.term: cholesky_corr(zeta[c.z], c.q) for c in self.cor_terms}
        T = self.term_factors(sd, L, sigma)
        s = self.link.scale
        tau = (s / sigma) ** 2
        lam_mix = np.exp(np.clip(zeta[self._mix_zeta], -700.0, 700.0))
        prec = self.precisions(lam_mix)
        try:
            if self.mix:
                m = marginal(self.link.blocks, self.assemble(T), tau,
                             self.prior.with_precision(prec))
            else:  # fixed prior precisions: their terms once, no gradient with respect to them
                m = marginal(self.link.blocks, self.assemble(T), tau, self.prior,
                             self._prior_terms, prec_gradient=False)
        except np.linalg.LinAlgError:
            return -np.inf, grad
        value = m.value
        G = self._term_gradients(m.grad_lam)
        # log σ: through τ = s²/σ² and T° ∝ 1/σ
        g_sigma = -2.0 * tau * m.grad_tau
        for g, t in zip(G, T, strict=True):
            g_sigma -= float(np.vdot(g, t))
        lp, dlp = self.priors.sigma.logpdf(np.array(sigma))
        value += float(lp) + log_sigma
        grad[self.i_sigma] = g_sigma + float(dlp) * sigma + 1.0
        # log sd and correlations: T° = B⁻¹ D L / σ
        for k, term in enumerate(self.link.terms):
            BtG = term.B_inv.T @ G[k] / sigma
            sl = self._sd_slices[k]
            Lk = L.get(k, np.eye(term.q))
            grad[sl] += np.sum(BtG * Lk, axis=1) * sd[sl]
            if k in self._cor_of:
                c = self._cor_of[k]
                lj, gz = log_density_and_vjp(zeta[c.z], c.q, c.eta, sd[sl, None] * BtG, Lk)
                value += lj
                grad[c.z] += gz
        for dist, idx in self._sd_groups:
            lp, dlp = dist.logpdf(sd[idx])
            value += float(lp.sum() + log_sd[idx].sum())
            grad[idx] += dlp * sd[idx] + 1.0
        # scale mixtures: log λ with λ ~ InvGamma(ν/2, ν/2)
        for t, lam in zip(self.mix, lam_mix, strict=True):
            a = 0.5 * t.nu
            ell = np.log(lam)
            value += -a * ell - a / lam
            grad[t.zeta] = m.grad_prec[t.index] * (-prec[t.index]) - a + a / lam
        return float(value), grad

    # -- draws ----------------------------------------------------------------------------------
    def natural(self, zeta: np.ndarray) -> dict[str, object]:
        """sd (..., n_sd), L {term: (..., q, q)}, sigma (...), lam (..., n_mix) from ζ draws."""
        zeta = np.asarray(zeta, dtype=float)
        return {
            "sd": np.exp(zeta[..., : self.n_sd]),
            "L": {c.term: cholesky_corr(zeta[..., c.z], c.q) for c in self.cor_terms},
            "sigma": np.exp(zeta[..., self.i_sigma]),
            "lam": np.exp(zeta[..., [t.zeta for t in self.mix]]) if self.mix else
            np.zeros(zeta.shape[:-1] + (0,)),
        }

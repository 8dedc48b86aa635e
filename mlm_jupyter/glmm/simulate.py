"""Simulated responses from a fitted GLMM (lme4's ``simulate(m, use.u = FALSE)``).

New random effects b ~ N(0, Σ̂) for every level of every term, η = offset + Xβ̂ + Zb,
μ = g⁻¹(η), then y ~ the family: Bernoulli / binomial with the fit's trials (returned as
the proportion, as glmer's response), Poisson, or negative binomial with shape θ̂
(a gamma-Poisson mixture).  With ``use_u=True`` the conditional modes replace new draws
(simulation conditional on the clusters, DHARMa's ``re.form = NULL``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..engine.families import inverse_link
from ..result_common import relative_factors

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult


def trials_of(res: GLMMResult) -> np.ndarray:
    """Number of trials per row for the binomial (1 for 0/1 rows)."""
    design = res.design
    if design.trials is not None:
        return design.trials
    w = res.fit_state.family.weights
    return np.maximum(np.round(w), 1.0)


def simulate_linear_predictors(res: GLMMResult, nsim: int, rng: np.random.Generator,
                               use_u: bool = False) -> np.ndarray:
    """(nsim, n) linear predictors with new random effects (or the modes, ``use_u``)."""
    design = res.design
    fixed = design.X @ res.fixef.to_numpy()
    if design.offset is not None:
        fixed = fixed + design.offset
    eta = np.tile(fixed, (nsim, 1))
    Ts = relative_factors(design, res.theta)
    for term, T, b_hat in zip(design.terms, Ts, res.random_effects, strict=True):
        if use_u:
            b = np.broadcast_to(b_hat, (nsim, *b_hat.shape))
        else:
            b = rng.standard_normal((nsim, term.n_levels, term.q)) @ T.T
        eta += np.einsum("nq,snq->sn", term.Z, b[:, term.codes, :])
    return eta


def draw_responses(res: GLMMResult, eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Responses (nsim, n) on glmer's scale (binomial: proportions) at linear predictors η."""
    mu = inverse_link(res.link, eta)
    if res.family == "binomial":
        m = trials_of(res)
        return rng.binomial(m.astype(np.int64), np.clip(mu, 0.0, 1.0)) / m
    if res.family == "poisson":
        return rng.poisson(mu).astype(float)
    theta = res.dispersion
    return rng.poisson(rng.gamma(theta, mu / theta)).astype(float)


def simulate(res: GLMMResult, nsim: int = 1, seed=None, use_u: bool = False) -> np.ndarray:
    """(nsim, n) simulated responses of the rows used in the fit."""
    rng = np.random.default_rng(seed) if not isinstance(seed, np.random.Generator) else seed
    return draw_responses(res, simulate_linear_predictors(res, nsim, rng, use_u), rng)

"""A GLMM fit from a design and a family: scaling, starting values, optimisation, estimates.

Steps (glmer's, with exact conditional modes and an exact gradient):

1. X is centred and scaled internally (X̃ = (X - 1c')S⁻¹ for the non-intercept columns),
   so β = A β̃ with A = S⁻¹ - e₀ (c/s)'; the criterion is unchanged, the optimiser sees
   O(1) parameters, and the Hessian (hence the SEs) is differenced on a sensible scale.
2. Start: θ = 1 on the diagonals (lme4's), β from the GLM without random effects, and for
   the negative binomial log θ_nb from ``theta.ml`` at the GLM's means.
3. Laplace (:mod:`.laplace`) by L-BFGS-B with the exact gradient, Newton polish
   (:mod:`.glmm_optimize`); for nAGQ > 1 the quadrature criterion (:mod:`.agq`) from there.
4. Estimates in the user's units, the Hessian-based and R_X-based covariances of β, the
   conditional modes b = Λû and their conditional covariances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..design import Design
from .agq import AGQCriterion
from .families import Family, make_family
from .glm import glm_start, theta_ml
from .glmm_optimize import GLMMOptimization, optimize_derivative_free, optimize_laplace
from .laplace import LaplaceCriterion
from .pirls import Mode
from .resystem import RandomEffectsSystem, TermZ
from .threads import single_blas_thread

THREAD_LIMIT_MAX = 4000  # rest-block size up to which one BLAS thread is faster


@dataclass(frozen=True)
class ColumnScaling:
    """X̃ = X A⁻¹ ... precisely X̃β̃ = Xβ with β = A β̃ (centring and scaling of X)."""

    A: np.ndarray  # (p, p)
    center: np.ndarray
    scale: np.ndarray
    intercept: int | None

    def to_user(self, beta_s: np.ndarray) -> np.ndarray:
        return self.A @ beta_s

    def to_internal(self, beta: np.ndarray) -> np.ndarray:
        return np.linalg.solve(self.A, beta)

    def cov_to_user(self, V: np.ndarray) -> np.ndarray:
        return self.A @ V @ self.A.T


def column_scaling(X: np.ndarray) -> tuple[np.ndarray, ColumnScaling]:
    """Centre (when there is an intercept) and scale the columns of X."""
    p = X.shape[1]
    ones = np.flatnonzero(np.all(X == 1.0, axis=0)) if X.shape[0] else np.array([], int)
    intercept = int(ones[0]) if ones.size else None
    center = X.mean(axis=0) if intercept is not None else np.zeros(p)
    scale = X.std(axis=0) if intercept is not None else np.sqrt((X * X).mean(axis=0))
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    if intercept is not None:
        center[intercept], scale[intercept] = 0.0, 1.0
    Xs = (X - center) / scale
    A = np.diag(1.0 / scale)
    if intercept is not None:
        A[intercept] -= center / scale
        A[intercept, intercept] = 1.0
    return Xs, ColumnScaling(A, center, scale, intercept)


def system_of(design: Design) -> RandomEffectsSystem:
    """The random-effects system of a design's terms (lme4's order)."""
    terms, offset = [], 0
    for block in design.terms:
        terms.append(TermZ(block.codes, np.ascontiguousarray(block.Z, dtype=float),
                           block.n_levels, offset))
        offset += block.n_levels * block.q
    return RandomEffectsSystem(terms)


@dataclass(frozen=True)
class GLMMFit:
    """Everything the result is built from (internal parametrisation kept for inference)."""

    criterion: LaplaceCriterion
    quadrature: AGQCriterion | None
    scaling: ColumnScaling
    record: GLMMOptimization
    mode: Mode
    theta: np.ndarray
    beta: np.ndarray
    nb_theta: float
    family: Family
    loglik_full: float  # with every constant (for nAGQ > 1 also the saturated part)
    loglik: float  # glmer's logLik (nAGQ > 1: without the saturated log-likelihood)

    @property
    def system(self) -> RandomEffectsSystem:
        return self.criterion.system


def start_params(crit: LaplaceCriterion, family: Family, Xs: np.ndarray,
                 offset: np.ndarray, theta0: np.ndarray | None = None) -> np.ndarray:
    """θ = 1 on diagonals, β̃ from the GLM, log θ_nb from theta.ml at the GLM's means."""
    lower = crit.lower[: crit.n_theta]
    theta = np.where(np.isfinite(lower), 1.0, 0.0) if theta0 is None else theta0
    fam = family
    if family.name == "negative_binomial":  # glmer.nb starts from the Poisson fit
        fam = make_family("poisson", "log", family.y, family.weights)
    beta, eta = glm_start(fam, Xs, offset)
    parts = [theta, beta]
    if crit.estimate_nb:
        mu = np.exp(eta)
        parts.append([np.log(theta_ml(family.y, mu, family.weights))])
    return np.concatenate([np.asarray(p, dtype=float) for p in parts])


def fit_glmm_design(design: Design, family: Family, nagq: int = 1,
                    start: np.ndarray | None = None) -> GLMMFit:
    """Fit a validated design (see the module docstring for the steps).

    Parameters
    ----------
    design : Design
    family : Family
        Response, prior weights and link (negative binomial: θ is estimated).
    nagq : int
        1 for Laplace, > 1 for adaptive Gauss-Hermite quadrature (one term only).
    start : ndarray, optional
        Internal starting parameters (warm start for refits).
    """
    Xs, scaling = column_scaling(design.X)
    offset = np.zeros(design.n) if design.offset is None else design.offset
    system = system_of(design)
    nb = family.name == "negative_binomial"
    crit = LaplaceCriterion(system, Xs, offset, family, estimate_nb=nb)
    with _threads(system):
        x0 = start_params(crit, family, Xs, offset) if start is None else start
        record = optimize_laplace(crit, x0, system.terms)
        quadrature = None
        if nagq > 1:
            quadrature = AGQCriterion(crit, nagq)
            laplace_record = record
            record = optimize_derivative_free(quadrature, laplace_record.params)
            record = _with_evals(record, laplace_record.n_evals)
        params = record.params
        mode = crit.mode(params)
        if mode is None:  # pragma: no cover - the optimum was evaluated
            raise FloatingPointError("the fitted model could not be re-evaluated")
        theta, beta_s, fam = crit.split(params)
        if quadrature is None:
            full = -0.5 * mode.laplace
            loglik = full
        else:
            full = -0.5 * quadrature.from_mode(params, mode)
            loglik = full - fam.saturated_loglik()
    return GLMMFit(crit, quadrature, scaling, record, mode, theta.copy(),
                   scaling.to_user(beta_s), fam.theta if nb else float("nan"), fam,
                   float(full), float(loglik))


def _with_evals(record: GLMMOptimization, extra: int) -> GLMMOptimization:
    from dataclasses import replace

    return replace(record, n_evals=record.n_evals + extra,
                   optimizer=f"Laplace start; {record.optimizer}")


def _threads(system: RandomEffectsSystem):
    from contextlib import nullcontext

    return single_blas_thread() if system.m_rest <= THREAD_LIMIT_MAX else nullcontext()

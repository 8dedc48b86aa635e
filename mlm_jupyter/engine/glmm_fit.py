"""A GLMM fit from a design and a family: scaling, starting values, optimisation, estimates.

Steps (glmer's, with exact conditional modes and an exact gradient):

1. X is centred and scaled internally (X̃ = (X - 1c')S⁻¹ for the non-intercept columns),
   so β = A β̃ with A = S⁻¹ - e₀ (c/s)'; the criterion is unchanged, the optimiser sees
   O(1) parameters, and the Hessian (hence the SEs) is differenced on a sensible scale.
2. Start: θ = 1 on the diagonals (lme4's), β from the GLM without random effects, and for
   the negative binomial log θ_nb from ``theta.ml`` at the GLM's means.
3. Laplace (:mod:`.laplace`) by L-BFGS-B with the exact gradient, Newton polish
   (:mod:`.glmm_optimize`); for nAGQ > 1 the quadrature criterion (:mod:`.agq`, also with
   an exact gradient) the same way from the Laplace optimum.
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
from .glmm_optimize import GLMMOptimization, optimize_laplace, optimize_quadrature
from .laplace import LaplaceCriterion
from .pirls import Mode
from .resystem import RandomEffectsSystem, TermZ
from .threads import blas_threads, threads_for


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


@dataclass(frozen=True)
class ThetaScaling:
    """Z̃ = Z S⁻¹ per term (non-intercept columns divided by their root mean square).

    Then b̃ = S b and T̃ = S T, so θ̃ = s_row θ element by element (S is diagonal and keeps
    T lower triangular): θ̃ is O(1) whatever the units of a random slope's variable.
    """

    row_scale: np.ndarray  # s of the row of every θ entry (lme4's θ order)
    term_scales: tuple[np.ndarray, ...]

    def to_user(self, theta_s: np.ndarray) -> np.ndarray:
        return np.asarray(theta_s, dtype=float) / self.row_scale

    def to_internal(self, theta: np.ndarray) -> np.ndarray:
        return np.asarray(theta, dtype=float) * self.row_scale

    def cov_to_user(self, k: int, C: np.ndarray) -> np.ndarray:
        """Covariances of b̃ of term k (..., q, q) -> of b."""
        inv = 1.0 / self.term_scales[k]
        return C * inv[:, None] * inv[None, :]


def row_order(design: Design) -> np.ndarray | None:
    """Rows sorted by the first term's level (None when they already are)."""
    codes = design.terms[0].codes
    if np.all(np.diff(codes) >= 0):
        return None
    return np.argsort(codes, kind="stable")


def system_of(design: Design, order: np.ndarray | None = None,
              like: ThetaScaling | None = None) -> tuple[RandomEffectsSystem, ThetaScaling]:
    """The random-effects system of a design's terms (lme4's order), Z scaled internally.

    ``order`` permutes the rows (the engine works with rows sorted by the first term);
    ``like`` reuses another fit's scales (deletion refits share the parametrisation).
    """
    from .theta import lower_tri_index

    terms: list[TermZ] = []
    scales: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    offset = 0
    for block in design.terms:
        Z = np.asarray(block.Z, dtype=float)
        codes = block.codes
        if order is not None:
            Z, codes = Z[order], codes[order]
        if like is not None:
            s = like.term_scales[len(scales)]
        else:
            s = np.sqrt(np.mean(Z * Z, axis=0)) if Z.shape[0] else np.ones(Z.shape[1])
            s = np.where(np.isfinite(s) & (s > 0), s, 1.0)
            s[np.all(Z == 1.0, axis=0)] = 1.0
        terms.append(TermZ.build(codes, np.ascontiguousarray(Z / s), block.n_levels, offset))
        offset += block.n_levels * block.q
        scales.append(s)
        rows.append(s[lower_tri_index(block.q)[0]])
    return RandomEffectsSystem(terms), ThetaScaling(np.concatenate(rows), tuple(scales))


@dataclass(frozen=True)
class GLMMFit:
    """Everything the result is built from (internal parametrisation kept for inference)."""

    criterion: LaplaceCriterion
    quadrature: AGQCriterion | None
    scaling: ColumnScaling
    theta_scaling: ThetaScaling
    record: GLMMOptimization
    mode: Mode
    theta: np.ndarray  # user's θ (lme4's)
    beta: np.ndarray  # user's β
    nb_theta: float
    family: Family  # in the user's row order, with the fitted θ_nb
    loglik_full: float  # with every constant (for nAGQ > 1 also the saturated part)
    loglik: float  # glmer's logLik (nAGQ > 1: without the saturated log-likelihood)
    order: np.ndarray | None  # the engine's row order (None: the user's)

    def user_rows(self, values: np.ndarray) -> np.ndarray:
        """A per-row array of the engine (sorted rows) in the user's row order."""
        if self.order is None:
            return values
        out = np.empty_like(values)
        out[self.order] = values
        return out

    @property
    def eta(self) -> np.ndarray:
        """Linear predictor at the conditional modes (offset included), user's rows."""
        return self.user_rows(self.mode.eta)

    @property
    def mu(self) -> np.ndarray:
        """Conditional means at the modes, user's rows (glmer's ``fitted()``)."""
        return self.user_rows(self.mode.rows.mu)

    @property
    def system(self) -> RandomEffectsSystem:
        return self.criterion.system

    def internal_params(self, theta: np.ndarray, beta: np.ndarray,
                        nb_theta: float | None = None) -> np.ndarray:
        """User-scale (θ, β[, θ_nb]) -> the criterion's parameter vector."""
        parts = [self.theta_scaling.to_internal(theta), self.scaling.to_internal(beta)]
        if self.criterion.estimate_nb:
            parts.append(np.array([np.log(self.nb_theta if nb_theta is None else nb_theta)]))
        return np.concatenate([np.asarray(p, dtype=float) for p in parts])

    def random_effects(self) -> list[np.ndarray]:
        """b = Λû per term in the user's units (levels, q)."""
        out = []
        for k, (term, T) in enumerate(zip(self.system.terms, self.mode.factor.T, strict=True)):
            u = self.mode.u[term.offset : term.offset + term.size].reshape(term.n_levels, term.q)
            out.append((u @ T.T) / self.theta_scaling.term_scales[k])
        return out

    def conditional_covariances(self) -> list[np.ndarray]:
        """Per term (levels, q, q) conditional covariances of b (lme4's condVar)."""
        f = self.mode.factor
        cov = self.system.conditional_covariances(f, f.T)
        return [self.theta_scaling.cov_to_user(k, C) for k, C in enumerate(cov)]


def glm_fit(design: Design, family: Family) -> tuple[np.ndarray, np.ndarray]:
    """The GLM without random effects on the scaled X: (β̃, η), user's row order.

    The negative binomial starts, as glmer.nb, from the Poisson fit.
    """
    Xs, _ = column_scaling(design.X)
    offset = np.zeros(design.n) if design.offset is None else design.offset
    fam = family
    if family.name == "negative_binomial":
        fam = make_family("poisson", "log", family.y, family.weights)
    return glm_start(fam, Xs, offset)


def start_params(crit: LaplaceCriterion, family: Family, beta: np.ndarray, eta: np.ndarray,
                 theta0: np.ndarray | None = None) -> np.ndarray:
    """θ = 1 on diagonals, β̃ from the GLM, log θ_nb from theta.ml at the GLM's means."""
    lower = crit.lower[: crit.n_theta]
    theta = np.where(np.isfinite(lower), 1.0, 0.0) if theta0 is None else theta0
    parts: list[np.ndarray] = [np.asarray(theta, dtype=float), np.asarray(beta, dtype=float)]
    if crit.estimate_nb:
        mu = np.exp(eta)
        parts.append(np.array([np.log(theta_ml(family.y, mu, family.weights))]))
    return np.concatenate([np.asarray(p, dtype=float) for p in parts])


@dataclass(frozen=True)
class Prepared:
    """A design and family laid out for the engine (scaled, rows sorted)."""

    criterion: LaplaceCriterion
    scaling: ColumnScaling
    theta_scaling: ThetaScaling
    order: np.ndarray | None


def prepare(design: Design, family: Family, estimate_nb: bool = True,
            like: GLMMFit | None = None) -> Prepared:
    """The Laplace criterion of a design: X centred and scaled, Z scaled, rows sorted by
    the first term (see the module docstring).  ``like``: use another fit's scalings, so
    that its internal parameters mean the same here (deletion refits)."""
    if like is None:
        Xs, scaling = column_scaling(design.X)
    else:
        scaling = like.scaling
        Xs = (design.X - scaling.center) / scaling.scale
    offset = np.zeros(design.n) if design.offset is None else design.offset
    order = row_order(design)
    system, theta_scaling = system_of(design, order,
                                      None if like is None else like.theta_scaling)
    engine_family = family
    if order is not None:
        Xs, offset = np.ascontiguousarray(Xs[order]), offset[order]
        engine_family = Family(family.name, family.link, family.y[order],
                               family.weights[order], family.constant, family.theta)
    nb = family.name == "negative_binomial" and estimate_nb
    crit = LaplaceCriterion(system, Xs, offset, engine_family, estimate_nb=nb)
    return Prepared(crit, scaling, theta_scaling, order)


def fit_glmm_design(design: Design, family: Family, nagq: int = 1,
                    start: np.ndarray | None = None,
                    glm: tuple[np.ndarray, np.ndarray] | None = None,
                    estimate_nb: bool = True, polish: bool = True,
                    like: GLMMFit | None = None) -> GLMMFit:
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
    glm : (ndarray, ndarray), optional
        :func:`glm_fit` of this design when the caller has it already.
    estimate_nb : bool
        Estimate the negative binomial θ (False: held at ``family.theta``).
    polish : bool
        Newton polish and the Hessian (False for deletion and bootstrap refits: the
        record then has no Hessian, so only R_X covariances are available).
    like : GLMMFit, optional
        Reuse this fit's internal scalings (``start`` is then in its parametrisation).
    """
    prep = prepare(design, family, estimate_nb, like)
    crit, scaling, theta_scaling, order = (prep.criterion, prep.scaling, prep.theta_scaling,
                                           prep.order)
    system = crit.system
    with _threads(system):
        if start is None:
            beta0, eta0 = glm_fit(design, family) if glm is None else glm
            x0 = start_params(crit, family, beta0, eta0)
        else:
            x0 = start
        # with quadrature to follow, the Laplace optimum is only its starting point
        record = optimize_laplace(crit, x0, system.terms, polish=polish and nagq == 1)
        quadrature = None
        if nagq > 1:
            quadrature = AGQCriterion(crit, nagq)
            laplace_record = record
            record = optimize_quadrature(quadrature, laplace_record.params, system.terms,
                                         polish=polish)
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
    return GLMMFit(crit, quadrature, scaling, theta_scaling, record, mode,
                   theta_scaling.to_user(theta),
                   scaling.to_user(beta_s),
                   fam.theta if family.name == "negative_binomial" else float("nan"),
                   family.with_theta(fam.theta), float(full), float(loglik), order)


def _with_evals(record: GLMMOptimization, extra: int) -> GLMMOptimization:
    from dataclasses import replace

    return replace(record, n_evals=record.n_evals + extra,
                   optimizer=f"Laplace start; {record.optimizer}")


def _threads(system: RandomEffectsSystem):
    return blas_threads(threads_for(system.m_rest))


def refit_response(state: GLMMFit, y: np.ndarray, trials: np.ndarray | None = None,
                   nagq: int = 1) -> tuple[np.ndarray, float, bool]:
    """Quick refit of the same model to a new response (user's row order).

    Warm-started at the fit's optimum, on the same random-effects system; no Hessian
    (bootstrap replicates).  Returns the internal parameters, -2 log L (the criterion the
    fit maximised) and whether the optimiser converged.
    """
    fam = state.family
    new = make_family(fam.name, fam.link, y, fam.weights, trials=trials, theta=fam.theta)
    crit = state.criterion
    if state.order is not None:
        new = Family(new.name, new.link, new.y[state.order], new.weights[state.order],
                     new.constant, new.theta)
    laplace = LaplaceCriterion(crit.system, crit.X, crit.offset, new,
                               estimate_nb=crit.estimate_nb)
    with _threads(crit.system):
        record = optimize_laplace(laplace, state.record.params, crit.system.terms,
                                  polish=False)
        if nagq > 1:
            quad = AGQCriterion(laplace, nagq)
            record = optimize_quadrature(quad, record.params, crit.system.terms, polish=False)
    return record.params, record.objective, record.converged

"""``fit``: formula + data -> MixedModelResult (parse, design, optimise, assemble)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .design import Design, build_design, used_frame
from .engine.blocks import CrossProducts, cross_products
from .engine.fit import SINGULAR_TOL, OptimizationRecord, optimize
from .engine.objective import ProfiledDeviance, solve
from .engine.threads import blas_limit
from .formula import parse
from .results import MixedModelResult
from .spec import ModelSpec
from .varcorr import group_levels


class MixedModelWarning(UserWarning):
    """Dropped rows, singular fits and convergence problems (also listed in ``res.messages``)."""


def fit(
    formula: str | ModelSpec,
    data: pd.DataFrame,
    reml: bool = True,
    *,
    start: np.ndarray | None = None,
    warn: bool = True,
    family: str = "gaussian",
    link: str | None = None,
    weights: Any = None,
    nagq: int = 1,
) -> Any:
    """Fit a linear mixed model written in lme4 syntax.

    The model, in Raudenbush-Bryk form for one grouping factor j,

        y_ij = β0j + β1j x_ij + e_ij,   e_ij ~ N(0, σ²)
        β0j = γ00 + γ01 w_j + u0j,      β1j = γ10 + γ11 w_j + u1j,   (u0j, u1j)' ~ N(0, T)

    is written ``y ~ x * w + (1 + x | g)`` and estimated by lme4's profiled REML (default)
    or ML criterion, so every estimate equals ``lme4::lmer``'s.

    Parameters
    ----------
    formula : str or ModelSpec
        lme4 formula, e.g. ``"mathach ~ cses * catholic + meanses + (1 + cses | school)"``;
        ``(x || g)`` for uncorrelated terms, ``(1 | a/b)`` for nesting.
    data : pandas.DataFrame
        Never modified.  Rows with missing values in the used columns are dropped and
        counted in ``res.n_dropped``.
    reml : bool, default True
        REML (lme4's default) or maximum likelihood (needed to compare fixed effects).
    start : ndarray, optional
        Starting θ (warm start for refits).
    warn : bool, default True
        Emit ``MixedModelWarning`` for dropped rows, singular fits and convergence issues.
    family, link, weights, nagq
        A generalised linear mixed model (glmer) for ``family`` ``"binomial"``,
        ``"poisson"`` or ``"negative_binomial"``: see :func:`mlm_jupyter.glmm.fit_glmm`.

    Returns
    -------
    MixedModelResult, or GLMMResult for a non-Gaussian family
    """
    if _is_glmm(family):
        from .glmm.fitting import fit_glmm

        return fit_glmm(formula, data, family, link=link, weights=weights, nagq=nagq,
                        start=start, warn=warn)
    _check_gaussian_options(link, weights, nagq)
    spec = parse(formula) if isinstance(formula, str) else formula
    design = build_design(spec, data)
    if design.n - design.p <= 0:
        raise ValueError(
            f"{design.n} observations cannot estimate {design.p} fixed effects; "
            "simplify the fixed part."
        )
    _check_gaussian_design(design)
    used = used_frame(data, design)
    result = fit_design(design, reml=reml, start=start, data=used)
    if warn:
        for message in result.messages:
            warnings.warn(message, MixedModelWarning, stacklevel=2)
    return result


def _is_glmm(family: Any) -> bool:
    return not (isinstance(family, str) and family.strip().lower() in ("gaussian", "normal"))


def _check_gaussian_options(link: str | None, weights: Any, nagq: int) -> None:
    """The LMM takes no GLMM options (an identity link is the LMM itself)."""
    if link not in (None, "identity"):
        raise ValueError(
            f"link='{link}' needs a non-Gaussian family (e.g. family='binomial'); the linear "
            "mixed model uses the identity link."
        )
    if weights is not None:
        raise ValueError(
            "weights are supported for GLMMs (family='binomial', 'poisson', "
            "'negative_binomial'); a weighted linear mixed model is not available."
        )
    if nagq != 1:
        raise ValueError("nagq applies to GLMMs only (family='binomial', 'poisson', ...).")


def _check_gaussian_design(design: Design) -> None:
    if design.trials is not None:
        raise ValueError(
            "cbind(successes, failures) is a binomial response: add family='binomial'."
        )
    if design.offset is not None:
        raise ValueError(
            "offset() terms are supported for GLMMs (e.g. family='poisson'); for a linear "
            "mixed model subtract the offset from the response instead."
        )


def fit_design(
    design: Design,
    reml: bool = True,
    start: np.ndarray | None = None,
    cp: CrossProducts | None = None,
    data: pd.DataFrame | None = None,
) -> MixedModelResult:
    """Optimise and assemble a result for an already validated design."""
    cp = cross_products(design) if cp is None else cp
    objective = ProfiledDeviance(cp, reml=reml)
    record = optimize(objective, start)
    with blas_limit(objective):
        return assemble(design, objective, record, data)


def assemble(
    design: Design,
    objective: ProfiledDeviance,
    record: OptimizationRecord,
    data: pd.DataFrame | None = None,
) -> MixedModelResult:
    """Everything users read, at the optimum θ of ``record``.

    The pandas tables (vcov, VarCorr, conditional modes and variances) are built on
    first access from the factor kept on the result.
    """
    cp = objective.cp
    sol = solve(objective, record.theta)
    sigma = sol.sigma
    fixef = pd.Series(sol.beta, index=list(design.fixed_names), name="estimate")

    bounded = objective.lower == 0
    is_singular = bool(np.any(record.theta[bounded] < SINGULAR_TOL))
    messages = list(design.messages)
    if is_singular:
        messages.append("boundary (singular) fit: see help('isSingular')")
    if record.message:
        messages.append(record.message)

    n_par = cp.p + record.theta.size + 1
    dev = record.objective
    return MixedModelResult(
        spec=design.spec,
        design=design,
        data_used=data,
        reml=objective.reml,
        fixef=fixef,
        sigma=float(sigma),
        theta=record.theta.copy(),
        objective=float(dev),
        loglik=float(-dev / 2.0),
        npar=int(n_par),
        aic=float(dev + 2 * n_par),
        bic=float(dev + n_par * np.log(cp.n)),
        nobs=cp.n,
        ngroups=group_levels(design),
        n_dropped=design.n_dropped,
        is_singular=is_singular,
        converged=record.converged,
        messages=tuple(messages),
        optimization=record,
        random_effects=tuple(sol.b),
        engine=objective,
        factor=sol.factor,
    )

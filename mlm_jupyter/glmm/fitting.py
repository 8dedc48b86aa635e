"""``fit(..., family=...)``: formula + data -> GLMMResult (validate, fit, assemble)."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..design import Design, build_design, used_frame
from ..engine.families import Family, make_family
from ..engine.glmm_fit import GLMMFit, fit_glmm_design, glm_fit
from ..engine.glmm_vcov import hessian_vcov, rx_vcov
from ..engine.verify import SINGULAR_TOL
from ..formula import as_spec
from ..intake import as_pandas
from ..spec import ModelSpec
from ..varcorr import group_levels
from .response import binary_column, check_family, response_family
from .results import GLMMResult
from .separation import separated_columns, shows_symptoms

MAX_QUADRATURE_NODES = 20_000


def fit_glmm(
    formula: str | ModelSpec,
    data: pd.DataFrame,
    family: str,
    link: str | None = None,
    weights: Any = None,
    nagq: int = 1,
    *,
    start: np.ndarray | None = None,
    warn: bool = True,
) -> GLMMResult:
    """Fit a generalised linear mixed model written in lme4 syntax (glmer / glmer.nb).

    For a binary outcome with one grouping factor j, in Raudenbush-Bryk form,

        logit P(y_ij = 1) = β0j + β1j x_ij,   β0j = γ00 + γ01 w_j + u0j,
        β1j = γ10 + u1j,   (u0j, u1j)' ~ N(0, T),

    written ``y ~ x + w + (1 + x | g)`` with ``family="binomial"``.  Estimates maximise the
    Laplace approximation of the marginal likelihood (``nagq=1``) or its adaptive
    Gauss-Hermite quadrature (``nagq > 1``; one random-effects term), as glmer.

    Parameters
    ----------
    formula : str or ModelSpec
        lme4 formula; ``cbind(successes, failures) ~ ...`` for binomial counts and
        ``offset(log(exposure))`` among the fixed terms.
    data : pandas.DataFrame
        Never modified; rows with missing values are dropped and counted.
    family : str
        ``"binomial"``, ``"poisson"`` or ``"negative_binomial"`` (θ estimated, as glmer.nb).
    link : str, optional
        ``"logit"`` (default), ``"probit"``, ``"cloglog"`` for the binomial; ``"log"``.
    weights : array-like or str, optional
        Prior weights, one per row of ``data`` (or a column name): the trials of a
        proportion response.
    nagq : int, default 1
        glmer's nAGQ: 1 = Laplace; > 1 adaptive quadrature with nagq points per
        dimension, for a model with a single random-effects term (a vector-valued term
        is integrated on the product rule, nagq**q points).
    start : ndarray, optional
        Internal starting parameters (from another fit of the same model).
    warn : bool, default True
        Emit ``MixedModelWarning`` for dropped rows, singular fits and convergence issues.
    """
    from ..fitting import MixedModelWarning

    family, link = check_family(family, link)
    spec = as_spec(formula)
    data = as_pandas(data)
    if isinstance(weights, str):
        if weights not in data.columns:
            raise ValueError(f"weights='{weights}' is not a column of the data.")
        weights = data[weights].to_numpy(dtype=float)
    nagq = _check_nagq(nagq)
    frame = binary_column(as_pandas(data), spec.response, family)
    design = build_design(spec, frame, glmm=True, weights=weights)
    _check_structure(design, nagq)
    fam = response_family(design, family, link)
    glm = _check_separation(design, fam) if start is None else None
    result = fit_family_design(design, fam, nagq, start=start,
                               data=used_frame(data, design), glm=glm)
    if warn:
        for message in result.messages:
            warnings.warn(message, MixedModelWarning, stacklevel=2)
    return result


def _check_nagq(nagq: Any) -> int:
    try:
        value = int(nagq)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"nagq must be a positive integer, not {nagq!r}.") from exc
    if value != nagq or value < 1:
        raise ValueError(f"nagq must be a positive integer, not {nagq!r}.")
    return value


def _check_structure(design: Design, nagq: int) -> None:
    if design.n - design.p <= 0:
        raise ValueError(
            f"{design.n} observations cannot estimate {design.p} fixed effects; "
            "simplify the fixed part."
        )
    if nagq > 1:
        if len(design.terms) != 1:
            raise ValueError(
                f"nagq > 1 (adaptive quadrature) needs a single random-effects term; this "
                f"model has {len(design.terms)} ({', '.join(t.group for t in design.terms)}). "
                "Use nagq=1 (Laplace), or write correlated terms of one factor as (1 + x | g)."
            )
        q = design.terms[0].q
        if nagq**q > MAX_QUADRATURE_NODES:
            raise ValueError(
                f"nagq={nagq} for a term with {q} random effects needs {nagq**q} quadrature "
                f"points per cluster (more than {MAX_QUADRATURE_NODES}); use fewer points, "
                f"e.g. nagq={int(MAX_QUADRATURE_NODES ** (1 / q))}."
            )


def _check_separation(design: Design, fam: Family) -> tuple[np.ndarray, np.ndarray]:
    """Refuse fixed effects that the data separate (their estimates would be infinite).

    Returns the GLM fit it looked at (the engine's starting values).
    """
    glm = glm_fit(design, fam)
    if fam.name == "negative_binomial" or not shows_symptoms(fam, glm[1]):
        return glm
    columns = separated_columns(fam, design.X, design.fixed_names)
    if not columns:
        return glm
    what = "0/1 outcome" if fam.name == "binomial" else "count"
    named = ", ".join(repr(c) for c in columns)
    raise ValueError(
        f"Complete or quasi-complete separation: the {what} '{design.spec.response}' is "
        f"perfectly predicted along the fixed effect(s) {named} (some category "
        "or range of them has only 0s or only 1s), so their estimates would be infinite. "
        "Remove or merge those categories, or use a penalised or Bayesian fit "
        "(method='bayes')."
    )


def fit_family_design(
    design: Design, fam: Family, nagq: int = 1, start: np.ndarray | None = None,
    data: pd.DataFrame | None = None, glm: tuple[np.ndarray, np.ndarray] | None = None,
) -> GLMMResult:
    """Optimise and assemble a result for an already validated design and family."""
    state = fit_glmm_design(design, fam, nagq=nagq, start=start, glm=glm)
    return assemble(design, state, nagq, data)


def assemble(design: Design, state: GLMMFit, nagq: int,
             data: pd.DataFrame | None = None) -> GLMMResult:
    """Everything users read, at the optimum of ``state``."""
    rec = state.record
    messages = list(design.messages)
    lower = state.criterion.lower[: state.criterion.n_theta]
    is_singular = bool(np.any(state.theta[lower == 0] < SINGULAR_TOL))
    if is_singular:
        messages.append("boundary (singular) fit: see help('isSingular')")
    messages += list(rec.messages)
    V = hessian_vcov(state)
    method = "hessian"
    if V is None:
        V = rx_vcov(state)
        method = "RX"
        if not is_singular:
            messages.append(
                "variance-covariance matrix computed from finite-difference Hessian is not "
                "positive definite: falling back to var-cov estimated from RX"
            )
    fixef = pd.Series(state.beta, index=list(design.fixed_names), name="estimate")
    b = state.random_effects()
    nb = state.family.name == "negative_binomial"
    npar = state.criterion.n_theta + design.p + int(nb)
    dev = -2.0 * state.loglik
    return GLMMResult(
        spec=design.spec, design=design, data_used=data, family=state.family.name,
        link=state.family.link, nagq=nagq, fixef=fixef, theta=state.theta.copy(),
        dispersion=float(state.nb_theta), objective=float(dev), loglik=float(state.loglik),
        loglik_full=float(state.loglik_full), npar=int(npar), aic=float(dev + 2 * npar),
        bic=float(dev + npar * np.log(design.n)), df_resid=int(design.n - npar),
        nobs=design.n, ngroups=group_levels(design), n_dropped=design.n_dropped,
        is_singular=is_singular, converged=rec.converged, messages=tuple(messages),
        vcov_method=method, optimization=rec, random_effects=tuple(b), fit_state=state,
        _vcov=V,
    )


def refit(res: GLMMResult, y: np.ndarray | None = None, **_: Any) -> GLMMResult:
    """The same model refitted (to a new response ``y`` on the same rows, warm-started)."""
    design = res.design
    fam = res.fit_state.family
    if y is not None:
        y = np.asarray(y, dtype=float)
        design = replace(design, y=y)
        fam = make_family(fam.name, fam.link, y, fam.weights, trials=design.trials,
                          theta=fam.theta)
    return fit_family_design(design, fam, res.nagq, start=res.optimization.params,
                             data=res.data_used)

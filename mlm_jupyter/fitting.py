"""``fit``: formula + data -> MixedModelResult (parse, design, optimise, assemble)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

import numpy as np
import pandas as pd

from .design import Design, build_design, used_frame
from .engine.blocks import cross_products
from .engine.conditioning import Conditioning, DegenerateModelError, condition
from .engine.cost import check_memory, estimate
from .engine.fit import SINGULAR_TOL, OptimizationRecord, optimize
from .engine.objective import ProfiledDeviance, solve
from .engine.theta import unpack_theta
from .engine.threads import blas_limit
from .formula import as_spec
from .intake import as_pandas
from .messages import MixedModelWarning, optimisation_messages, singular_fit
from .messages import warn as emit_warning
from .results import MixedModelResult
from .spec import ModelSpec
from .varcorr import group_levels

if TYPE_CHECKING:  # pragma: no cover
    from .pooling import PooledResult

#: σ below this fraction of the fixed-effects residual RMS: the random effects reproduce y.
EXACT_FIT_SIGMA = 1e-6


def _random_exact_fit(design: Design) -> DegenerateModelError:
    """The error for a response the random effects reproduce exactly (σ → 0)."""
    y = design.y
    where = ""
    for term in design.terms:
        n = np.bincount(term.codes, minlength=term.n_levels)
        mean = np.bincount(term.codes, weights=y, minlength=term.n_levels) / np.maximum(n, 1)
        if np.allclose(y, mean[term.codes], rtol=1e-10, atol=1e-12 * max(1.0, np.abs(y).max())):
            where = (f" '{design.spec.response}' is constant within every level of "
                     f"'{term.group}': it is a cluster-level variable, to be modelled with one "
                     "row per cluster or used as a predictor.")
            break
    return DegenerateModelError(
        "The random effects reproduce the response exactly (the residual variance goes to 0), "
        f"so the model has no maximum-likelihood estimate.{where or ' Check the formula.'}"
    )


__all__ = ["MixedModelWarning", "assemble", "fit", "fit_design"]


@overload
def fit(formula: str | ModelSpec, data: list[pd.DataFrame] | tuple[pd.DataFrame, ...],
        reml: bool = ..., *, start: np.ndarray | None = ..., warn: bool = ...) -> PooledResult: ...
@overload
def fit(formula: str | ModelSpec, data: pd.DataFrame, reml: bool = ..., *,
        start: np.ndarray | None = ..., warn: bool = ...,
        progress: bool | None = ...) -> MixedModelResult: ...
def fit(
    formula: str | ModelSpec,
    data: pd.DataFrame | list[pd.DataFrame] | tuple[pd.DataFrame, ...] | Any,
    reml: bool = True,
    *,
    start: np.ndarray | None = None,
    warn: bool = True,
    progress: bool | None = None,
    method: str | None = None,
    priors: dict[str, str] | None = None,
    draws: int = 1000,
    chains: int = 4,
    seed: int | None = None,
    family: str = "gaussian",
    link: str | None = None,
    weights: Any = None,
    nagq: int = 1,
    **sampler: Any,
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
    data : pandas.DataFrame or any frame narwhals supports (polars, pyarrow, ...), or a list
        Never modified.  Rows with missing values in the used columns are dropped and
        counted in ``res.n_dropped``.  Numbers are used as float64 whatever their dtype;
        text, categorical and boolean columns are factors (treatment contrasts, as R).  A
        list of m imputed data sets fits each and pools the fits by Rubin's rules
        (:func:`mlm_jupyter.pool`); see :mod:`mlm_jupyter.pooling.imputations` for
        multilevel imputers.
    reml : bool, default True
        REML (lme4's default) or maximum likelihood (needed to compare fixed effects).
    start : ndarray, optional
        Starting θ (warm start for refits).
    warn : bool, default True
        Emit ``MixedModelWarning`` for dropped rows, singular fits and convergence issues.
    method : {None, "reml", "ml", "bayes"}
        ``"bayes"``: the posterior of brms' model with ``priors`` (brms' vocabulary, e.g.
        ``{"b": "normal(0, 10)", "sd": "student_t(3, 0, 10)", "cor": "lkj(1)",
        "sigma": "student_t(3, 0, 10)"}``), sampled by NUTS: ``draws`` per chain,
        ``chains``, ``seed``, and ``warmup=``, ``target_accept=``, ``cores=``, ``center=``
        (see :func:`mlm_jupyter.bayes.fit_bayes`).  Needs ``mlm_jupyter[bayes]``.
        ``"reml"``/``"ml"`` are the same as ``reml=True``/``False``.
    progress : bool or None
        Show evaluations and the criterion while a long fit runs (None, the default: when
        it runs for more than a few seconds in a notebook or terminal; False: never).
        Before a large fit the memory of its factor is estimated (``res.optimization.cost``)
        and a model that cannot fit in the machine's memory is refused with
        ``ModelTooLargeError``.
    family, link, weights, nagq
        A generalised linear mixed model (glmer) for ``family`` ``"binomial"``,
        ``"poisson"`` or ``"negative_binomial"``: see :func:`mlm_jupyter.glmm.fit_glmm`.

    Returns
    -------
    MixedModelResult; PooledResult for a list of data sets; BayesianResult for
    ``method="bayes"``; GLMMResult for a non-Gaussian family
    """
    from .warehouse.sources import is_source

    in_database = is_source(data)
    if in_database and (_is_glmm(family) or method == "bayes"):
        raise ValueError(
            "Fits on data that stay in a database (Parquet/CSV files, DuckDB, Spark) are "
            "linear mixed models by REML or ML; GLMMs and method='bayes' need the data as a "
            "DataFrame."
        )
    if _is_glmm(family):
        from .glmm.fitting import fit_glmm

        if method not in (None, "ml") or priors is not None or sampler:
            raise ValueError(
                "GLMMs are fitted by maximum likelihood as glmer (Laplace or adaptive "
                "quadrature); method='bayes' takes the Gaussian family only."
            )
        return fit_glmm(formula, data, family, link=link, weights=weights, nagq=nagq,
                        start=start, warn=warn)
    _check_gaussian_options(link, weights, nagq)
    if method == "bayes":
        from .bayes import fit_bayes

        return fit_bayes(formula, data, priors, draws, chains, seed, warn=warn, **sampler)
    if method not in (None, "reml", "ml"):
        raise ValueError(f"method must be 'reml', 'ml' or 'bayes', not {method!r}.")
    extra = [name for name, used in (("priors", priors is not None), ("draws", draws != 1000),
                                      ("chains", chains != 4), ("seed", seed is not None))
             if used] + sorted(sampler)
    if extra:
        raise TypeError(f"{', '.join(extra)} only apply to method='bayes'.")
    if method is not None:
        reml = method == "reml"
    if in_database:
        from .warehouse import fit_source

        return fit_source(formula, data, reml=reml, start=start, warn=warn)
    if isinstance(data, (list, tuple)):
        from .pooling import fit_imputed

        return fit_imputed(formula, data, reml=reml, start=start, warn=warn)
    check_flag("reml", reml)
    check_flag("warn", warn)
    spec = as_spec(formula)
    frame = as_pandas(data)
    design = build_design(spec, frame)
    start = check_start(start, design)
    if design.n - design.p <= 0:
        raise ValueError(
            f"{design.n} observations cannot estimate {design.p} fixed effects; "
            "simplify the fixed part."
        )
    used = used_frame(frame, design)
    result = fit_design(design, reml=reml, start=start, data=used, progress=progress)
    if warn:
        for message in result.messages:
            emit_warning(message, stacklevel=2)
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


def check_flag(name: str, value: Any) -> None:
    """Refuse anything but True/False for a switch (``reml=None`` must not mean ML)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, not {value!r}.")


def n_theta(design: Design) -> int:
    """Number of θ parameters: q(q+1)/2 per random term (lme4's lower triangles)."""
    return sum(t.q * (t.q + 1) // 2 for t in design.terms)


def check_start(start: Any, design: Design) -> np.ndarray | None:
    """``start`` as a float vector of the model's θ length, or None; errors name it."""
    if start is None:
        return None
    try:
        values = np.asarray(start, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"start must be a vector of numbers (θ), not {start!r}.") from exc
    want = n_theta(design)
    if values.size != want or not np.isfinite(values).all():
        raise ValueError(
            f"start must hold {want} finite θ value(s) for this model (lme4's getME(m, "
            f"'theta') order), but has {values.size}"
            + ("" if np.isfinite(values).all() else " with non-finite entries") + "."
        )
    return values


def fit_design(
    design: Design,
    reml: bool = True,
    start: np.ndarray | None = None,
    data: pd.DataFrame | None = None,
    progress: bool | None = None,
) -> MixedModelResult:
    """Optimise and assemble a result for an already validated design.

    The optimisation runs in the engine's units (:mod:`.engine.conditioning`); ``start``
    is a θ in the user's units (a previous fit's ``res.theta``).
    """
    from .warehouse.rows import RowsElsewhere

    if isinstance(design.X, RowsElsewhere):  # data in a database: refit its aggregates
        from .warehouse.fit import refit_design

        return refit_design(design, reml=reml, start=start)
    conditioning, engine_design = condition(design)
    cost = estimate(engine_design)
    check_memory(cost)  # before the cross-products: they are the first large allocation
    cp = cross_products(engine_design)
    objective = ProfiledDeviance(cp, reml=reml)
    theta0 = None if start is None else conditioning.theta_to_engine(
        np.asarray(start, dtype=float), cp
    )
    record = optimize(objective, theta0, progress=progress, cost=cost)
    with blas_limit(objective):
        result = assemble(design, objective, record, conditioning, engine_design, data)
    if result.sigma <= EXACT_FIT_SIGMA * conditioning.scale:
        raise _random_exact_fit(design)
    return result


def assemble(
    design: Design,
    objective: ProfiledDeviance,
    record: OptimizationRecord,
    conditioning: Conditioning,
    engine_design: Design,
    data: pd.DataFrame | None = None,
) -> MixedModelResult:
    """Everything users read, at the optimum θ° of ``record``, in the user's units.

    The pandas tables (vcov, VarCorr, conditional modes and variances) are built on
    first access from the factor kept on the result.
    """
    cp = objective.cp
    sol = solve(objective, record.theta)
    sigma = conditioning.scale * sol.sigma
    fixef = pd.Series(conditioning.beta(sol.beta), index=list(design.fixed_names),
                      name="estimate")
    theta = conditioning.theta(record.theta, cp)

    # lme4's rule (a bounded θ below 1e-4), read in the engine's units where θ° is an
    # SD relative to σ per unit-RMS column: a change of units cannot make a fit singular.
    bounded = objective.lower == 0
    is_singular = bool(np.any(record.theta[bounded] < SINGULAR_TOL))
    singular_terms = [
        bool(np.any(np.diag(T) < SINGULAR_TOL)) for T in unpack_theta(record.theta, cp)
    ]
    messages = list(design.messages)
    if is_singular:
        messages.append(singular_fit(design.terms, unpack_theta(theta, cp), singular_terms))
    messages.extend(optimisation_messages(record))

    n_par = cp.p + record.theta.size + 1
    dev = conditioning.criterion(record.objective, objective.reml, cp.n)
    return MixedModelResult(
        spec=design.spec,
        design=design,
        data_used=data,
        reml=objective.reml,
        fixef=fixef,
        sigma=float(sigma),
        theta=theta,
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
        random_effects=tuple(conditioning.random_effects(sol.b)),
        engine=objective,
        factor=sol.factor,
        conditioning=conditioning,
        engine_design=engine_design,
    )

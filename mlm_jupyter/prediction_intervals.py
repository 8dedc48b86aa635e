"""Predictions with confidence and prediction intervals (``res.predict(..., interval=...)``).

For a new row with fixed-effects row x and, per random term k, design row z_k in cluster j:

=====================  ====================================  ===================================
quantity               seen cluster, ``include_re=True``     ``include_re=False`` or unseen
=====================  ====================================  ===================================
fit                    x'γ̂ + Σ_k z_k'û_kj                    x'γ̂
std_error              √(x'Vx), V = vcov(γ̂)                  √(x'Vx)
random-effect var.     Σ_k z_k' C_kj z_k                     Σ_k z_k' T_k z_k
=====================  ====================================  ===================================

with C_kj the conditional covariance of cluster j's effects given θ̂ and γ̂ (lme4's
``condVar``), T_k the term's covariance matrix and σ² the residual variance.  The
``confidence`` interval is fit ∓ z·√(x'Vx); the ``prediction`` interval is
fit ∓ z·√(x'Vx + random-effect variance + σ²), z the standard normal quantile (not t).  An
unseen cluster (or a missing id) gets the population prediction, as lme4's
``predict(..., allow.new.levels = TRUE)``.  The uncertainty of θ̂ and σ̂, and the covariance
of γ̂ with û_j, are not propagated; ``method="simulation"``
(:mod:`.prediction_simulation`) propagates both.

The newdata model matrices come from the fit's own formula state
(:func:`mlm_jupyter.predict.newdata_matrices`): a factor level of newdata the fit did not
see raises, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .effects.links import check_type, link_of, on_response_scale
from .intake import as_pandas
from .predict import _model_matrix, newdata_matrices

INTERVALS = ("confidence", "prediction")
METHODS = ("analytic", "simulation")


@dataclass(frozen=True)
class NewRows:
    """Design rows of new data.

    Attributes
    ----------
    X : ndarray (n, p)
    Z : tuple of ndarray (n, q_k)
        Per random term, in ``res.design.terms`` order.
    cluster : tuple of ndarray (n,) of int
        Per term, the index of the row's cluster among the term's levels, -1 if unseen.
    index : pandas.Index
    offset : ndarray (n,)
        Known part of the linear predictor (``offset()`` terms; zeros without).
    """

    X: np.ndarray
    Z: tuple[np.ndarray, ...]
    cluster: tuple[np.ndarray, ...]
    index: pd.Index
    offset: np.ndarray

    def seen(self, k: int) -> np.ndarray:
        return self.cluster[k] >= 0


def new_rows(res: Any, newdata: Any, include_re: bool = True,
             allow_new_levels: bool = True) -> NewRows:
    """X, each term's Z and cluster index for ``newdata`` (default: the fitted rows).

    Built by :func:`mlm_jupyter.predict.newdata_matrices` (the fit's own coding: unseen
    fixed-factor levels raise, ids match whatever their dtype, unseen or missing ids get
    -1); Z is built for population predictions too, whose intervals need z'Tz.
    """
    design = res.design
    if newdata is None:
        offset = design.offset if design.offset is not None else np.zeros(design.n)
        return NewRows(design.X, tuple(t.Z for t in design.terms),
                       tuple(t.codes for t in design.terms), design.row_index,
                       np.asarray(offset, dtype=float))
    frame = as_pandas(newdata, "newdata")
    if include_re:
        mats = newdata_matrices(res, frame, include_re=True, allow_new_levels=allow_new_levels)
        Z, cluster = mats.Z, mats.codes
    else:
        mats = newdata_matrices(res, frame, include_re=False)
        Z = tuple(_model_matrix(t.model_spec, frame, t.columns) for t in design.terms)
        cluster = tuple(np.full(len(frame), -1, dtype=int) for _ in design.terms)
    return NewRows(mats.X, tuple(Z), tuple(cluster), frame.index, mats.offset)


def term_covariance(res: Any, k: int) -> np.ndarray:
    """T_k: covariance matrix of random term k (its block of ``res.tau(group)``)."""
    term = res.design.terms[k]
    tau = res.tau(term.group).to_numpy()
    start = sum(t.q for t in res.design.terms[:k] if t.group == term.group)
    return tau[start : start + term.q, start : start + term.q]


@dataclass(frozen=True)
class Components:
    """Pieces of the analytic intervals, one value per new row."""

    fit_marginal: np.ndarray
    fit_conditional: np.ndarray
    xVx: np.ndarray
    zTz: np.ndarray  # Σ_k z_k'T_k z_k
    re_var: np.ndarray  # Σ_k (z_k'C_kj z_k if seen else z_k'T_k z_k)
    sigma2: float
    n_unseen: int


def components(res: Any, rows: NewRows) -> Components:
    """Fits and variance pieces of :mod:`this module's <.prediction_intervals>` table."""
    V = res.vcov.to_numpy()
    eta = rows.X @ res.fixef.to_numpy() + rows.offset
    fit_c = eta.copy()
    zTz = np.zeros(len(eta))
    re_var = np.zeros(len(eta))
    unseen = np.zeros(len(eta), dtype=bool)
    conditional = res.conditional_covariances
    for k, (Z, idx) in enumerate(zip(rows.Z, rows.cluster, strict=True)):
        T = term_covariance(res, k)
        ztz = np.einsum("ni,ij,nj->n", Z, T, Z)
        seen = idx >= 0
        zcz = ztz.copy()
        if seen.any():
            C = conditional[k][idx[seen]]
            zcz[seen] = np.einsum("ni,nij,nj->n", Z[seen], C, Z[seen])
            fit_c[seen] += np.einsum("nq,nq->n", Z[seen], res.random_effects[k][idx[seen]])
        unseen |= ~seen
        zTz += ztz
        re_var += zcz
    xvx = np.einsum("ni,ij,nj->n", rows.X, V, rows.X)
    return Components(eta, fit_c, xvx, zTz, re_var, float(res.sigma) ** 2, int(unseen.sum()))


def predict_interval(
    res: Any,
    newdata: pd.DataFrame | None = None,
    include_re: bool = True,
    type: str = "response",
    interval: str | None = "confidence",
    level: float = 0.95,
    method: str = "analytic",
    nsim: int = 1000,
    seed: int | None = None,
    allow_new_levels: bool = True,
) -> pd.DataFrame:
    """Predictions with confidence or prediction intervals.

    Parameters
    ----------
    res : MixedModelResult
    newdata : DataFrame, optional
        Rows to predict (default: the fitted rows).  Factor levels must be levels of the fit;
        clusters the fit did not see (or missing ids) get the population prediction.
    include_re : bool
        Conditional predictions for seen clusters (x'γ̂ + z'û_j) or population ones (x'γ̂).
    type : {"response", "link"}
        Scale of the predictions (the same for a linear mixed model).
    interval : {"confidence", "prediction"}
        ``confidence``: for the mean, from Var(γ̂); ``prediction``: for a new observation,
        adding the random-effect variance (C_j for a seen cluster, T otherwise) and σ².
    level : float
    method : {"analytic", "simulation"}
        ``analytic``: the formulas of the module docstring (z quantiles).  ``simulation``:
        quantiles of ``nsim`` draws that also carry the uncertainty of the variance
        parameters (see :func:`mlm_jupyter.prediction_simulation.simulated_predictions`).
    nsim, seed : int
        Draws and random seed of ``method="simulation"``.
    allow_new_levels : bool, default True
        As lme4's ``allow.new.levels``: unseen or missing cluster ids get the population
        prediction; False raises naming them.

    Returns
    -------
    DataFrame
        ``fit, std_error, lower, upper`` indexed like ``newdata``; ``std_error`` is √(x'Vx)
        (analytic) or the SD of the draws (simulation); ``attrs["notes"]``.
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval must be 'confidence' or 'prediction', not {interval!r}.")
    if method not in METHODS:
        raise ValueError(f"method must be 'analytic' or 'simulation', not {method!r}.")
    if not 0 < float(level) < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    kind = check_type(type)
    link = link_of(res)
    if interval == "prediction" and link.name != "identity" and kind == "response":
        raise ValueError(
            "prediction intervals for a new observation are defined here for linear mixed "
            "models; for a generalised model use interval='confidence' (or type='link')."
        )
    rows = new_rows(res, newdata, include_re, allow_new_levels)
    comp = components(res, rows)
    fit = comp.fit_conditional if include_re else comp.fit_marginal
    notes = []
    if include_re and comp.n_unseen:
        notes.append(f"{comp.n_unseen} row(s) in clusters the fit did not see (or with a missing "
                     "id) get the population prediction x'γ and, in prediction intervals, T.")
    if method == "simulation":
        from .prediction_simulation import simulated_predictions

        table = simulated_predictions(res, rows, fit, include_re, interval, level, nsim, seed)
        notes.append(f"Simulation interval: {nsim} draws of (θ, σ), then (γ, u) given them.")
    else:
        se = np.sqrt(comp.xVx)
        sd = se if interval == "confidence" else np.sqrt(
            comp.xVx + (comp.re_var if include_re else comp.zTz) + comp.sigma2)
        z = stats.norm.ppf(0.5 + float(level) / 2)
        table = pd.DataFrame({"fit": fit, "std_error": se, "lower": fit - z * sd,
                              "upper": fit + z * sd}, index=rows.index)
    if kind == "response":
        table = on_response_scale(table, link, estimate="fit")
    table.attrs["notes"] = notes
    return table

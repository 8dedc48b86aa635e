"""GLMM predictions on the link and response scales (glmer's ``predict`` / ``fitted``).

On new data the fixed part, the offset (evaluated from newdata, as lme4) and the random
effects of the clusters seen in the fit are added; an unseen level contributes 0
(``allow.new.levels = TRUE``).  Intervals are for the linear predictor η = x'β (+ z'b)
with Var = x'Vx (+ z'C_j z, the level's conditional covariance), mapped through the
inverse link; ``"prediction"`` intervals are for a new cluster: Var = x'Vx + z'Σz.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from ..engine.families import inverse_link, inverse_link_derivative
from ..predict import NewdataMatrices, newdata_matrices

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult

TYPES = ("link", "response")


def _check_type(type: str) -> str:
    if type not in TYPES:
        raise ValueError(f"type must be 'link' or 'response', not {type!r}.")
    return type


def fitted_values(res: GLMMResult, include_re: bool = True, type: str = "response") -> pd.Series:
    """Linear predictor or mean at the fitted rows (offset included)."""
    _check_type(type)
    design = res.design
    if include_re:
        eta = res.fit_state.eta
    else:
        eta = design.X @ res.fixef.to_numpy()
        if design.offset is not None:
            eta = eta + design.offset
    values = eta if type == "link" else inverse_link(res.link, eta)
    return pd.Series(values, index=design.row_index, name="fitted")


def matrices(res: GLMMResult, newdata: Any, include_re: bool = True) -> NewdataMatrices:
    """X, per-term Z, cluster codes (-1: new) and offset of new rows (the package's one
    new-data builder, :func:`mlm_jupyter.predict.newdata_matrices`)."""
    return newdata_matrices(res, newdata, include_re=include_re)  # type: ignore[arg-type]


def linear_predictor(res: GLMMResult, newdata: Any, include_re: bool = True):
    """η on newdata (offset included), its X, and the new-data matrices."""
    m = matrices(res, newdata, include_re=include_re)
    eta = m.X @ res.fixef.to_numpy() + m.offset
    for Z, codes, b in zip(m.Z, m.codes, res.random_effects, strict=False):
        seen = codes >= 0
        contrib = np.zeros(len(eta))
        contrib[seen] = np.einsum("nq,nq->n", Z[seen], b[codes[seen]])
        eta = eta + contrib
    return eta, m.X, m


def response_variables(res: GLMMResult) -> list[str]:
    """Columns read only by the response (not needed in new data)."""
    from ..predict import predictor_columns

    needed = set(predictor_columns(res, include_re=True))  # type: ignore[arg-type]
    return [v for v in res.design.variables if v not in needed]


def population_average(res: GLMMResult, newdata: pd.DataFrame | None = None,
                       nodes: int = 40) -> np.ndarray:
    """Population-averaged means E_b[g⁻¹(x'β + z'b)], b ~ N(0, Σ̂) (all terms).

    z'b is normal with variance s² = Σ_k z_k'Σ_k z_k per row; the expectation is a
    Gauss-Hermite sum (exp(η + s²/2) exactly for the log link).
    """
    from ..result_common import relative_factors

    data = res.data if newdata is None else newdata
    eta, _, m = linear_predictor(res, data, include_re=False)
    Zs = matrices(res, data, include_re=True).Z
    var = np.zeros(len(eta))
    for Z, T in zip(Zs, relative_factors(res.design, res.theta), strict=True):
        var += np.einsum("ni,ij,nj->n", Z, T @ T.T, Z)
    if res.link == "log":
        return np.exp(eta + 0.5 * var)
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    sd = np.sqrt(var)
    return inverse_link(res.link, eta[:, None] + sd[:, None] * x[None, :]) @ w


def predict(
    res: GLMMResult,
    newdata: pd.DataFrame | None = None,
    include_re: bool = True,
    type: str = "response",
    interval: str | None = None,
    level: float = 0.95,
    average_re: bool = False,
):
    """See :meth:`GLMMResult.predict`."""
    _check_type(type)
    if average_re:
        if type != "response" or interval is not None:
            raise ValueError("average_re=True gives population-averaged means: "
                             "type='response' and no interval.")
        return population_average(res, newdata)
    if interval not in (None, "confidence", "prediction"):
        raise ValueError(f"interval must be None, 'confidence' or 'prediction', not {interval!r}.")
    if newdata is None:
        if interval is None:
            return fitted_values(res, include_re, type).to_numpy()
        newdata = res.data
    eta, X, m = linear_predictor(res, newdata, include_re=include_re)
    if interval is None:
        return eta if type == "link" else inverse_link(res.link, eta)
    V = res.vcov.to_numpy()
    var = np.einsum("ni,ij,nj->n", X, V, X)
    if interval == "confidence" and include_re:
        for Z, idx, C in zip(m.Z, m.codes, res.conditional_covariances, strict=False):
            seen = idx >= 0
            var[seen] += np.einsum("ni,nij,nj->n", Z[seen], C[idx[seen]], Z[seen])
    elif interval == "prediction":
        from ..result_common import relative_factors

        Zs = m.Z if include_re else matrices(res, newdata, include_re=True).Z
        for Z, T in zip(Zs, relative_factors(res.design, res.theta), strict=True):
            var += np.einsum("ni,ij,nj->n", Z, T @ T.T, Z)
    se = np.sqrt(np.maximum(var, 0.0))
    z = stats.norm.ppf(0.5 + level / 2)
    lo, hi = eta - z * se, eta + z * se
    if type == "link":
        fit, lower, upper, std = eta, lo, hi, se
    else:
        fit = inverse_link(res.link, eta)
        lower, upper = inverse_link(res.link, lo), inverse_link(res.link, hi)
        std = se * np.abs(inverse_link_derivative(res.link, eta))
    return pd.DataFrame({"fit": fit, "std_error": std, "lower": lower, "upper": upper},
                        index=newdata.index)

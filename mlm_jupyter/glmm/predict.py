"""GLMM predictions on the link and response scales (glmer's ``predict`` / ``fitted``).

On new data the fixed part, the offset (evaluated from newdata, as lme4) and the random
effects of the clusters seen in the fit are added; an unseen level contributes 0
(``allow.new.levels = TRUE``).  Intervals are for the linear predictor η = x'β (+ z'b)
with Var = x'Vx (+ z'C_j z, the level's conditional covariance), mapped through the
inverse link; ``"prediction"`` intervals are for a new cluster: Var = x'Vx + z'Σz.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..design import _grouping_factor
from ..engine.families import inverse_link, inverse_link_derivative

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


def _columns(model_spec, newdata: pd.DataFrame) -> pd.DataFrame:
    from ..design import r_style_names
    from ..transforms import formula_context

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mm = model_spec.get_model_matrix(newdata, context=formula_context(), na_action="ignore")
    names = list(r_style_names(model_spec))
    return pd.DataFrame(np.asarray(mm, dtype=float), columns=names, index=newdata.index)


def _new_terms(res: GLMMResult, newdata: pd.DataFrame):
    """Per term: Z rows of newdata and the index of each row's level in the fit (-1: new)."""
    out = []
    for term in res.design.terms:
        Z = _columns(term.model_spec, newdata)[list(term.columns)].to_numpy()
        codes_new, new_levels = _grouping_factor(newdata, term)
        lookup = {name: i for i, name in enumerate(term.levels)}
        idx = np.array([lookup.get(new_levels[c], -1) for c in codes_new], dtype=np.int64)
        out.append((Z, idx))
    return out


def linear_predictor(res: GLMMResult, newdata: pd.DataFrame, include_re: bool = True):
    """η on newdata, the fixed-effects rows X, and the per-term (Z, level index)."""
    if not isinstance(newdata, pd.DataFrame):
        raise TypeError("newdata must be a pandas DataFrame.")
    design = res.design
    group_columns = {c for t in design.terms for c in t.group_columns}
    response_vars = set(_response_variables(res))
    needed = [v for v in design.variables
              if v not in response_vars and (include_re or v not in group_columns)]
    missing = [v for v in needed if v not in newdata.columns]
    if missing:
        raise ValueError(
            f"newdata lacks the column(s) {missing} that the model uses; it needs {needed}."
        )
    frame = _columns(design.fixed_model_spec, newdata)
    X = frame[list(design.fixed_names)].to_numpy()
    eta = X @ res.fixef.to_numpy()
    offsets = [c for c in frame.columns if c.startswith("offset(")]
    if offsets:
        eta = eta + frame[offsets].to_numpy().sum(axis=1)
    terms = _new_terms(res, newdata) if include_re else []
    for (Z, idx), b in zip(terms, res.random_effects, strict=False):
        seen = idx >= 0
        contrib = np.zeros(len(newdata))
        contrib[seen] = np.einsum("nq,nq->n", Z[seen], b[idx[seen]])
        eta = eta + contrib
    return eta, X, terms


def _response_variables(res: GLMMResult) -> list[str]:
    """Columns read only by the response (not needed in newdata)."""
    import ast

    text = res.spec.response
    try:
        tree = ast.parse(text, mode="eval")
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    except SyntaxError:
        names = {text.strip()}
    fixed_and_random = set()
    for part in [res.spec.fixed, *(t.expr for t in res.spec.random)]:
        fixed_and_random |= {w for w in _words(part)}
    return [n for n in names if n not in fixed_and_random]


def _words(text: str) -> set[str]:
    import re

    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", text))


def population_average(res: GLMMResult, newdata: pd.DataFrame | None = None,
                       nodes: int = 40) -> np.ndarray:
    """Population-averaged means E_b[g⁻¹(x'β + z'b)], b ~ N(0, Σ̂) (all terms).

    z'b is normal with variance s² = Σ_k z_k'Σ_k z_k per row; the expectation is a
    Gauss-Hermite sum (exp(η + s²/2) exactly for the log link).
    """
    from ..result_common import relative_factors

    data = res.data if newdata is None else newdata
    eta, _, _ = linear_predictor(res, data, include_re=False)
    terms = _new_terms(res, data)
    var = np.zeros(len(data))
    for (Z, _), T in zip(terms, relative_factors(res.design, res.theta), strict=True):
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
    eta, X, terms = linear_predictor(res, newdata, include_re=include_re)
    if interval is None:
        return eta if type == "link" else inverse_link(res.link, eta)
    V = res.vcov.to_numpy()
    var = np.einsum("ni,ij,nj->n", X, V, X)
    if interval == "confidence" and include_re:
        for (Z, idx), C in zip(terms, res.conditional_covariances, strict=False):
            seen = idx >= 0
            var[seen] += np.einsum("ni,nij,nj->n", Z[seen], C[idx[seen]], Z[seen])
    elif interval == "prediction":
        terms = terms or _new_terms(res, newdata)
        from ..result_common import relative_factors

        for (Z, _), T in zip(terms, relative_factors(res.design, res.theta), strict=True):
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

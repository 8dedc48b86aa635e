"""Predicted values across a predictor, by a moderator (ggeffects' ``predict_response`` idea).

``predict_response(res, ["cses", "catholic"])`` predicts the outcome on a grid: the first term
on the x axis (50 points over its observed range, or its levels), the second as groups (a
factor's levels, a two-valued variable's values, else mean - SD, mean, mean + SD), every
other predictor held at a typical value (numeric: its mean; a two-valued numeric such as a
0/1 indicator: its lower value; factor: its first, reference level; ``at`` overrides), as
ggeffects' ``ggpredict`` holds them.  Each point has the population-level prediction x'γ̂ with

- a confidence band for the mean, x'γ̂ ∓ z √(x'Vx), and
- a prediction band for a new observation in a new cluster, x'γ̂ ∓ z √(x'Vx + z'Tz + σ²),

exactly the intervals of ``res.predict(..., include_re=False, interval=...)`` (z, not t;
ggeffects' "prediction interval" instead adds σ² only and uses t, so it is narrower).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from .refgrid import factor_levels, fixed_variables

_BRACKET = re.compile(r"^\s*([^\[\]]+?)\s*(?:\[(.*)\])?\s*$")
N_POINTS = 50


def _parse_term(text: str) -> tuple[str, list[str] | None]:
    """``"cses [-1, 0, 1]"`` -> ("cses", ["-1", "0", "1"]); ``"cses"`` -> ("cses", None)."""
    match = _BRACKET.match(str(text))
    if match is None:
        raise ValueError(f"cannot read the term {text!r}; write 'x' or 'x [1, 2, 3]'.")
    name, inside = match.group(1), match.group(2)
    values = [v.strip() for v in inside.split(",") if v.strip()] if inside else None
    return name, values


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _values(res: Any, name: str, given: list[str] | None, role: str) -> tuple[list, bool]:
    """Grid values of one focal term and whether it is numeric."""
    series = res.data[name]
    if not _is_numeric(series):
        levels = list(factor_levels(res, name, series))
        if given is None:
            return levels, False
        by_text = {str(lv): lv for lv in levels}
        unknown = [v for v in given if v not in by_text]
        if unknown:
            raise ValueError(f"'{name}' has no level(s) {unknown}; its levels are {list(by_text)}.")
        return [by_text[v] for v in given], False
    if given is not None:
        try:
            return [float(v) for v in given], True
        except ValueError:
            raise ValueError(f"'{name}' is numeric; its values must be numbers: {given}.") from None
    x = series.to_numpy(dtype=float)
    distinct = np.unique(x)
    if role == "x":
        if len(distinct) <= N_POINTS:
            return list(distinct), True
        return list(np.linspace(x.min(), x.max(), N_POINTS)), True
    if len(distinct) <= 2:
        return list(distinct), True
    m, s = float(x.mean()), float(x.std(ddof=1))
    return [m - s, m, m + s], True


def default_terms(res: Any) -> list[str]:
    """A sensible effect plot: a numeric predictor with a random slope (else the first with
    several values, else a factor) and, when there is one, a variable it interacts with."""
    from ..naming import split_interaction

    names = fixed_variables(res)
    data = res.data
    numeric = [n for n in names if _is_numeric(data[n]) and data[n].nunique() > 2]
    slopes = {c for t in res.design.terms for c in t.columns}
    x = next((n for n in numeric if n in slopes), numeric[0] if numeric else None)
    if x is None:
        return names[:2]
    partners = []
    for col in res.design.fixed_names:
        parts = split_interaction(col)
        if x in parts and len(parts) > 1:
            partners += [n for n in names if n != x and any(n in p for p in parts)]
    if not partners:
        partners = [n for n in names if not _is_numeric(data[n])]
    return [x, *dict.fromkeys(partners)][:2]


def predict_response(
    res: Any,
    terms: Any = None,
    at: dict[str, Any] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Population-level predictions with confidence and prediction bands on a grid.

    Parameters
    ----------
    res : MixedModelResult
    terms : str or list of str, optional
        The x variable, then optionally a grouping variable, each optionally with values in
        brackets (``["cses [-2, 0, 2]", "catholic"]``).  Default: :func:`default_terms`.
    at : dict, optional
        Values for the other predictors (default: numeric at its mean, two-valued numeric at
        its lower value, factor at its first level).
    level : float

    Returns
    -------
    DataFrame
        ``x``, ``group`` (when a second term is given), ``fit``, ``std_error``,
        ``conf_lower``, ``conf_upper``, ``pred_lower``, ``pred_upper``; ``attrs`` holds
        ``terms``, ``held`` (the other predictors' values) and ``response``.
    """
    from ..prediction_intervals import predict_interval

    if res.data_used is None:
        raise ValueError("predict_response needs the rows the model was fitted to.")
    terms = default_terms(res) if terms is None else terms
    terms = [terms] if isinstance(terms, str) else list(terms)
    if not 1 <= len(terms) <= 2:
        raise ValueError("terms takes one or two variables: the x axis, then the groups.")
    parsed = [_parse_term(t) for t in terms]
    names = fixed_variables(res)
    for name, _ in parsed:
        if name not in names:
            raise ValueError(f"'{name}' is not a predictor of the fixed part; use one of {names}.")
    at = dict(at or {})
    unknown = [k for k in at if k not in names]
    if unknown:
        raise ValueError(f"at names {unknown}, which the fixed part does not use ({names}).")
    focal = [n for n, _ in parsed]
    groups_cols = {c for t in res.design.terms for c in t.group_columns}
    # every column the model matrices read (a random slope's variable may not be fixed)
    used = [v for v in res.design.variables if v != res.spec.response and v not in groups_cols]
    held: dict[str, Any] = {}
    for name in dict.fromkeys([*names, *used]):
        if name in focal:
            continue
        series = res.data[name]
        if name in at:
            held[name] = at[name]
        elif _is_numeric(series) and series.nunique() <= 2:
            held[name] = float(series.min())  # a 0/1 indicator at 0, as ggeffects holds it
        elif _is_numeric(series):
            held[name] = float(series.mean())
        else:
            held[name] = factor_levels(res, name, series)[0]
    xs, x_numeric = _values(res, *parsed[0], role="x")
    groups, _ = _values(res, *parsed[1], role="group") if len(parsed) > 1 else ([None], True)
    rows = []
    for g in groups:
        for x in xs:
            row = {**held, focal[0]: x}
            if len(focal) > 1:
                row[focal[1]] = g
            rows.append(row)
    grid = pd.DataFrame(rows)
    for name in grid.columns:
        if isinstance(res.data[name].dtype, pd.CategoricalDtype):
            grid[name] = pd.Categorical(grid[name], categories=res.data[name].cat.categories)
    conf = predict_interval(res, grid, include_re=False, interval="confidence", level=level)
    pred = predict_interval(res, grid, include_re=False, interval="prediction", level=level)
    out = pd.DataFrame({"x": grid[focal[0]].to_numpy()})
    if len(focal) > 1:
        out["group"] = [str(v) if not isinstance(v, float) else f"{v:.4g}" for v in grid[focal[1]]]
    out["fit"] = conf["fit"].to_numpy()
    out["std_error"] = conf["std_error"].to_numpy()
    out["conf_lower"], out["conf_upper"] = conf["lower"].to_numpy(), conf["upper"].to_numpy()
    out["pred_lower"], out["pred_upper"] = pred["lower"].to_numpy(), pred["upper"].to_numpy()
    out.attrs.update(terms=focal, held=held, response=str(res.spec.response), level=level,
                     x_numeric=x_numeric)
    return out

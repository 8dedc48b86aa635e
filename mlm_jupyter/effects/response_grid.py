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
ggeffects' "prediction interval" instead adds σ² only and uses t, so it is narrower).  The
grid rows go through the fit's own model-matrix recipe, as any new data does
(:func:`mlm_jupyter.predict.newdata_matrices`), so an ``offset()`` is evaluated at the held
values of its variables.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from .grid_variables import GridVariable, fixed_variables, grid_variable, level_labels

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


def _values(variable: GridVariable, given: list[str] | None, role: str) -> list:
    """Grid values of one focal term: level labels of a factor, else numbers."""
    name = variable.name
    if not variable.numeric:
        if given is None:
            return list(variable.levels)
        labels, unknown = level_labels(variable, given)
        if unknown:
            raise ValueError(f"'{name}' has no level(s) {unknown}; its levels are "
                             f"{list(variable.levels)}.")
        return labels
    if given is not None:
        try:
            return [float(v) for v in given]
        except ValueError:
            raise ValueError(f"'{name}' is numeric; its values must be numbers: {given}.") from None
    x = variable.values
    distinct = np.unique(x)
    if role == "x":
        if len(distinct) <= N_POINTS:
            return list(distinct)
        return list(np.linspace(x.min(), x.max(), N_POINTS))
    if len(distinct) <= 2:
        return list(distinct)
    m, s = float(x.mean()), float(x.std(ddof=1))
    return [m - s, m, m + s]


def _held_value(variable: GridVariable, given: Any = None) -> Any:
    """A non-focal predictor's value: ``at``, else numeric: its mean (a two-valued numeric
    such as a 0/1 indicator: its lower value, as ggeffects holds it); factor: its first,
    reference level."""
    if given is not None:
        if variable.numeric:
            return given
        labels, unknown = level_labels(variable, given)
        if unknown or len(labels) != 1:
            raise ValueError(f"at[{variable.name!r}] must be one level of '{variable.name}'; "
                             f"its levels are {list(variable.levels)}.")
        return labels[0]
    if not variable.numeric:
        return variable.levels[0]
    x = variable.values
    return float(x.min()) if len(np.unique(x)) <= 2 else float(x.mean())


def default_terms(res: Any) -> list[str]:
    """A sensible effect plot: a numeric predictor with a random slope (else the first with
    several values, else a factor) and, when there is one, a variable it interacts with."""
    from ..warehouse.rows import origin_of

    names = fixed_variables(res)
    if origin_of(res) is not None:  # rows in a database: kinds and distinct counts from there
        from ..warehouse.effects import column_kinds

        kinds = column_kinds(res, names)
        is_numeric = {n: kinds[n][0] for n in names}
        numeric = [n for n in names if kinds[n][0] and kinds[n][1] > 2]
    else:
        variables = {n: grid_variable(res, n) for n in names}
        is_numeric = {n: variables[n].numeric for n in names}
        numeric = [n for n in names if variables[n].numeric
                   and len(np.unique(variables[n].values)) > 2]
    slope_columns = {name for t in res.design.terms for node in t.model_spec.terms.nodes
                     for name in node.names()}
    x = next((n for n in numeric if n in slope_columns), numeric[0] if numeric else None)
    if x is None:
        return names[:2]
    spec = res.design.fixed_model_spec
    reads = [set(node.names()) for node in spec.terms.nodes]  # data columns of each variable
    partners = []
    for term in spec.terms.terms:
        columns = [reads[v] for v in term]
        if len(term) > 1 and any(x in c for c in columns):
            partners += [n for n in names if n != x and any(n in c for c in columns)]
    if not partners:
        partners = [n for n in names if not is_numeric[n]]
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
        ``terms``, ``held`` (the other predictors' values: numbers, or a factor's level
        label), ``response`` and ``notes``.  A factor's ``x`` is its level labels (a
        numeric column used as ``factor(x)``: its values).
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
    variables = {n: grid_variable(res, n) for n in dict.fromkeys([*names, *used])}
    held: dict[str, Any] = {name: _held_value(variable, at.get(name))
                            for name, variable in variables.items() if name not in focal}
    xs = _values(variables[focal[0]], parsed[0][1], role="x")
    groups = (_values(variables[focal[1]], parsed[1][1], role="group") if len(parsed) > 1
              else [None])
    rows = []
    for g in groups:
        for x in xs:
            row = {**held, focal[0]: x}
            if len(focal) > 1:
                row[focal[1]] = g
            rows.append(row)
    labels = pd.DataFrame(rows)
    grid = pd.DataFrame(index=labels.index)
    for name in labels.columns:  # factor columns as fitted rows: coded as the fit coded them
        variable = variables[name]
        grid[name] = (labels[name].astype(float) if variable.numeric
                      else variable.column(res, list(labels[name])))
    conf = predict_interval(res, grid, include_re=False, interval="confidence", level=level)
    pred = predict_interval(res, grid, include_re=False, interval="prediction", level=level)
    x_variable = variables[focal[0]]
    x_values = labels[focal[0]]
    out = pd.DataFrame({"x": x_values.to_numpy(dtype=float) if x_variable.numeric
                        else x_values.map(x_variable.level_value).to_numpy()})
    if len(focal) > 1:
        out["group"] = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in labels[focal[1]]]
    out["fit"] = conf["fit"].to_numpy()
    out["std_error"] = conf["std_error"].to_numpy()
    out["conf_lower"], out["conf_upper"] = conf["lower"].to_numpy(), conf["upper"].to_numpy()
    out["pred_lower"], out["pred_upper"] = pred["lower"].to_numpy(), pred["upper"].to_numpy()
    notes = [f"Population-level predictions; {level:g} confidence bands for the mean and "
             "prediction bands for a new observation in a new cluster."]
    if held:
        shown = [f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                 for k, v in held.items()]
        notes.append("Other predictors held at " + ", ".join(shown) + ".")
    out.attrs.update(terms=focal, held=held, response=str(res.spec.response), level=level,
                     x_numeric=x_variable.numeric, notes=notes)
    return out

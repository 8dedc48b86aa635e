"""emmeans' reference grid: the predictor values marginal means are averaged over.

For a model with fixed part x'γ, the reference grid holds every combination of

- each factor's levels (all of them, or those named in ``at``; a numeric column used as
  ``factor(x)`` is a factor whose levels are its values, as emmeans' coerced factors),
- each numeric predictor's mean over the rows used, except numeric predictors with at most
  two distinct values (0/1 indicators such as ``sex``), which keep both values as if they
  were levels (emmeans' ``cov.keep = "2"``), and except values given in ``at``.

The model-matrix row of each grid point is the fit's own ``model.matrix`` recipe
(:class:`mlm_jupyter.model_matrix.MatrixSpec`: factor coding, learnt centring means and
``poly`` bases, transforms such as ``I(x^2)`` evaluated at the grid value, as emmeans does),
and a marginal mean for a combination of ``specs`` and ``by`` values is the equally weighted
average of the rows with those values: the coefficient vector l of l'γ (emmeans' ``linfct``).
An ``offset()`` is held at its mean over the fitted rows, whatever the grid values of its
variables (emmeans 1.8 on lmer fits), and added to every mean.
"""

from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .grid_variables import GridVariable, fixed_variables, grid_variable, level_labels

MAX_GRID = 200_000  # rows of the full grid; beyond this ask the user for `at`
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")  # R's as.numeric


@dataclass(frozen=True)
class Predictor:
    """One variable of the fixed part as the reference grid sees it."""

    name: str
    numeric: bool
    values: tuple  # grid values: level labels (factor), or numbers
    averaged: bool  # several values: averaged over when not in specs or by
    variable: GridVariable | None = None  # how the fit read the column


@dataclass(frozen=True)
class LinearFunctions:
    """Rows of a marginal-means table: their level values and the l of each l'γ.

    Attributes
    ----------
    levels : DataFrame
        One row per mean: the ``specs`` columns, then the ``by`` columns.
    L : ndarray (rows, p)
        Coefficients on the fit's fixed effects; a non-estimable row is all NaN.
    specs, by : tuple of str
    predictors : dict of str to Predictor
    notes : tuple of str
        emmeans-style notes (what was averaged over, values outside the data).
    offset : float
        The model's offset held at its mean over the fitted rows (0 without one), added to
        every l'γ.
    """

    levels: pd.DataFrame
    L: np.ndarray
    specs: tuple[str, ...]
    by: tuple[str, ...]
    predictors: dict[str, Predictor]
    notes: tuple[str, ...]
    offset: float = 0.0


def _names(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError(f"{what} must be a variable name or a list of names, not {value!r}.")


def parse_specs(specs: Any, by: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``"a"``, ``["a", "b"]``, ``"a:b"``, ``"a * b"`` or ``"~ a | b"`` -> (specs, by)."""
    by_names = _names(by, "by")
    if isinstance(specs, str) and ("|" in specs or "~" in specs or ":" in specs or "*" in specs):
        text = specs.replace("~", " ").strip()
        left, _, right = text.partition("|")
        parts = [p.strip() for p in left.replace("*", ":").replace("+", ":").split(":")]
        extra = [p.strip() for p in right.replace("*", ":").replace("+", ":").split(":")]
        spec_names = tuple(p for p in parts if p)
        by_names = by_names + tuple(p for p in extra if p and p not in by_names)
    else:
        spec_names = _names(specs, "specs")
    if not spec_names:
        raise ValueError("specs must name at least one factor of the model, e.g. specs='group'.")
    both = set(spec_names) & set(by_names)
    if both:
        raise ValueError(f"{sorted(both)} cannot be both in specs and in by.")
    return spec_names, by_names


def _factor_values(variable: GridVariable, wanted: Any) -> tuple[str, ...]:
    """``at`` values of a factor, matched to its levels by their text (any spelling)."""
    labels, unknown = level_labels(variable, wanted)
    if unknown:
        raise ValueError(
            f"at[{variable.name!r}] has level(s) {unknown} that '{variable.name}' does not "
            f"have in the fit; its levels are {list(variable.levels)}."
        )
    return tuple(labels)


def _numeric_values(name: str, wanted: Any, observed: np.ndarray, notes: list[str]) -> tuple:
    values = [wanted] if np.ndim(wanted) == 0 else list(wanted)
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(
            f"at[{name!r}] must be numbers ('{name}' is numeric), got {values}."
        ) from None
    if not all(np.isfinite(out)):
        raise ValueError(f"at[{name!r}] has a missing or infinite value: {values}.")
    lo, hi = float(np.nanmin(observed)), float(np.nanmax(observed))
    outside = [v for v in out if v < lo or v > hi]
    if outside:
        note = (
            f"at[{name!r}] = {[float(f'{v:.6g}') for v in outside]} lies outside the data "
            f"({lo:.6g} to {hi:.6g}): an extrapolation."
        )
        notes.append(note)
        warnings.warn(note, UserWarning, stacklevel=4)
    return out


def predictors(res: Any, at: dict[str, Any] | None, notes: list[str]) -> dict[str, Predictor]:
    """Every fixed-part variable with its reference-grid values."""
    at = dict(at or {})
    names = fixed_variables(res)
    unknown = [k for k in at if k not in names]
    if unknown:
        raise ValueError(
            f"at names {unknown}, which the fixed part of the model does not use; "
            f"its predictors are {names}."
        )
    out: dict[str, Predictor] = {}
    for name in names:
        variable = grid_variable(res, name)
        if variable.numeric:
            observed = variable.values
            distinct = np.unique(observed)
            if name in at:
                values = _numeric_values(name, at[name], observed, notes)
                out[name] = Predictor(name, True, values, len(values) > 1, variable)
            elif len(distinct) <= 2:
                out[name] = Predictor(name, True, tuple(float(v) for v in distinct), True,
                                      variable)
            else:
                out[name] = Predictor(name, True, (float(observed.mean()),), False, variable)
        else:
            levels = _factor_values(variable, at[name]) if name in at else variable.levels
            out[name] = Predictor(name, False, levels, len(levels) > 1 or name not in at,
                                  variable)
    return out


def _check_names(res: Any, names: tuple[str, ...], preds: dict[str, Predictor], role: str) -> None:
    groups = {c for t in res.design.terms for c in t.group_columns}
    factors = [p.name for p in preds.values() if not p.numeric]
    numeric = [p.name for p in preds.values() if p.numeric]
    for name in names:
        if name in preds:
            continue
        if name in groups:
            raise ValueError(
                f"'{name}' is a grouping factor (its effects are random): marginal means are "
                f"over fixed-effect factors. The model's factors are {factors}."
            )
        raise ValueError(
            f"{role} names '{name}', which is not a factor of the model. The model's factors "
            f"are {factors}" + (f"; numeric predictors {numeric} (give their values in at=)"
                                if numeric else "") + "."
        )


def _grid_frame(res: Any, preds: dict[str, Predictor]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every combination of the predictors' values (the first varies fastest, as R): the
    grid as data for the model matrix, and as the values' labels.

    Factor columns are made of fitted rows (:meth:`GridVariable.column`), so the fit's
    recipe codes them exactly as it coded the data.
    """
    sizes = [len(p.values) for p in preds.values()]
    total = int(np.prod(sizes)) if sizes else 1
    if total > MAX_GRID:
        big = {p.name: len(p.values) for p in preds.values() if len(p.values) > 1}
        raise ValueError(
            f"the reference grid would have {total:,} rows ({big}); fix some predictors with "
            "at={name: value} to make it smaller."
        )
    names = list(preds)
    combos = itertools.product(*(preds[n].values for n in reversed(names)))
    rows = [tuple(reversed(c)) for c in combos]
    labels = pd.DataFrame(rows, columns=names) if names else pd.DataFrame(index=[0])
    frame = pd.DataFrame(index=labels.index)
    for name, p in preds.items():
        if p.numeric:
            frame[name] = labels[name].astype(float)
        else:
            frame[name] = p.variable.column(res, list(labels[name]))  # type: ignore[union-attr]
    return frame, labels


def _estimable(res: Any, L_full: np.ndarray) -> np.ndarray:
    """Rows of L (over every column of the formula) that are estimable in the rank-deficient fit.

    l'γ is estimable when l lies in the row space of the full model matrix: l'N = 0 for a
    basis N of its null space (emmeans' ``nonest`` check, tolerance 1e-8 relative).
    """
    from ..predict import _model_matrix

    spec = res.design.fixed_model_spec
    X = _model_matrix(spec, res.data, tuple(spec.column_names))
    _, s, vt = np.linalg.svd(X, full_matrices=True)
    rank = int(np.sum(s > 1e-7 * s[0]))
    null = vt[rank:].T
    scale = np.maximum(np.abs(L_full).max(axis=1), 1.0)
    return np.abs(L_full @ null).max(axis=1, initial=0.0) <= 1e-8 * scale


def linear_functions(
    res: Any, specs: Any, by: Any = None, at: dict[str, Any] | None = None
) -> LinearFunctions:
    """The l vectors of ``emmeans(m, specs, by = by, at = at)`` (see the module docstring)."""
    from ..predict import _model_matrix

    spec_names, by_names = parse_specs(specs, by)
    if res.data_used is None:
        raise ValueError(
            "marginal means need the rows the model was fitted to (numeric predictors are held "
            "at their means); this result was fitted where the data live and keeps none."
        )
    notes: list[str] = []
    preds = predictors(res, at, notes)
    _check_names(res, spec_names, preds, "specs")
    _check_names(res, by_names, preds, "by")
    frame, labels = _grid_frame(res, preds)
    spec = res.design.fixed_model_spec
    full_names = tuple(spec.column_names)
    X = _model_matrix(spec, frame, full_names)

    keys = list(spec_names + by_names)
    order = _table_order(preds, spec_names, by_names)
    position = {key: i for i, key in enumerate(order)}
    rows = np.array([position[key] for key in labels[keys].itertuples(index=False, name=None)])
    counts = np.bincount(rows, minlength=len(order)).astype(float)
    L_full = np.zeros((len(order), X.shape[1]))
    np.add.at(L_full, rows, X)
    L_full /= counts[:, None]
    L = L_full[:, [full_names.index(n) for n in res.design.fixed_names]]
    if res.design.dropped_columns:
        ok = _estimable(res, L_full)
        if not ok.all():
            L[~ok] = np.nan
            notes.append(f"{int((~ok).sum())} row(s) are not estimable in this rank-deficient "
                         "model (NaN).")
    levels = pd.DataFrame(order, columns=keys)
    for name in keys:
        p = preds[name]
        levels[name] = (levels[name].astype(float) if p.numeric
                        else levels[name].map(p.variable.level_value))  # type: ignore[union-attr]
    averaged = [p.name for p in preds.values() if p.averaged and p.name not in keys
                and len(p.values) > 1]
    if averaged:
        notes.insert(0, f"Results are averaged over the levels of: {', '.join(averaged)}")
    offset = 0.0 if res.design.offset is None else float(np.mean(res.design.offset))
    return LinearFunctions(levels, L, spec_names, by_names, preds, tuple(notes), offset)


def _table_order(
    preds: dict[str, Predictor], specs: tuple[str, ...], by: tuple[str, ...]
) -> list[tuple]:
    """Rows of the table: by-groups outermost, the first spec varying fastest (emmeans)."""
    keys = list(specs + by)
    combos = itertools.product(*(preds[n].values for n in reversed(keys)))
    return [tuple(reversed(c)) for c in combos]


def row_labels(
    table: pd.DataFrame, specs: tuple[str, ...], preds: dict[str, Predictor]
) -> list[str]:
    """emmeans' contrast labels: spec levels joined by spaces; numbers as ``name`` + value.

    A factor whose levels all read as numbers (``"0"``, ``"20"``) is labelled like a numeric
    predictor (``social20``), as emmeans does.  A label containing an operator character
    (``-``, ``+``, ``*``, ``/``) is put in parentheses, as emmeans prints it
    (``(Golden Rain nitro-0.3)``).
    """
    named = {n: preds[n].numeric or all(_NUMBER.match(str(v)) for v in preds[n].values)
             for n in specs}
    as_number = {n: preds[n].numeric or bool(getattr(preds[n].variable, "coerced", False))
                 for n in specs}
    out = []
    for _, row in table.iterrows():
        parts = []
        for name in specs:
            value = row[name]
            text = f"{float(value):.15g}" if as_number[name] else str(value)
            parts.append(f"{name}{text}" if named[name] else text)
        label = " ".join(parts)
        if any(ch in label for ch in "-+*/"):
            label = f"({label})"
        out.append(label)
    return out

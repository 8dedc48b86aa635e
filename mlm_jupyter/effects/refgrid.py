"""emmeans' reference grid: the predictor values marginal means are averaged over.

For a model with fixed part x'γ, the reference grid holds every combination of

- each factor's levels (all of them, or those named in ``at``),
- each numeric predictor's mean over the rows used, except numeric predictors with at most
  two distinct values (0/1 indicators such as ``sex``), which keep both values as if they
  were levels (emmeans' ``cov.keep = "2"``), and except values given in ``at``.

The model-matrix row of each grid point comes from the fit's own formula state (factor
coding, centring means, transforms such as ``I(x^2)`` evaluated at the grid value, as
emmeans does), and a marginal mean for a combination of ``specs`` and ``by`` values is the
equally weighted average of the rows with those values: the coefficient vector l of
l'γ (emmeans' ``linfct``).
"""

from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MAX_GRID = 200_000  # rows of the full grid; beyond this ask the user for `at`
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")  # R's as.numeric


@dataclass(frozen=True)
class Predictor:
    """One variable of the fixed part as the reference grid sees it."""

    name: str
    numeric: bool
    values: tuple  # grid values: levels (factor), or numbers
    averaged: bool  # several values: averaged over when not in specs or by


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
    """

    levels: pd.DataFrame
    L: np.ndarray
    specs: tuple[str, ...]
    by: tuple[str, ...]
    predictors: dict[str, Predictor]
    notes: tuple[str, ...]


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


def fixed_variables(res: Any) -> list[str]:
    """Data columns the fixed part reads, in the order the model uses them."""
    spec = res.design.fixed_model_spec
    try:
        wanted = set(spec.variables_by_source.get("data", set()))
    except AttributeError:  # pragma: no cover - formulaic always has it
        wanted = set(res.design.variables)
    return [v for v in res.design.variables if v in wanted and v != res.spec.response]


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def factor_levels(res: Any, name: str, series: pd.Series) -> tuple:
    """Levels of a factor as the fit coded it (formulaic's state), else sorted values."""
    state = res.design.fixed_model_spec.encoder_state.get(name)
    if state is not None and "categories" in state[1]:
        return tuple(state[1]["categories"])
    if isinstance(series.dtype, pd.CategoricalDtype):
        return tuple(series.cat.remove_unused_categories().cat.categories)
    return tuple(sorted(series.dropna().unique()))


def _match_levels(name: str, wanted: Any, levels: tuple) -> tuple:
    """``at`` values of a factor, matched to its levels by their text (any dtype)."""
    by_text = {str(lv): lv for lv in levels}
    values = [wanted] if np.ndim(wanted) == 0 else list(wanted)
    unknown = [v for v in values if str(v) not in by_text]
    if unknown:
        raise ValueError(
            f"at[{name!r}] has level(s) {unknown} that '{name}' does not have in the fit; "
            f"its levels are {[str(lv) for lv in levels]}."
        )
    return tuple(by_text[str(v)] for v in values)


def _numeric_values(name: str, wanted: Any, series: pd.Series, notes: list[str]) -> tuple:
    values = [wanted] if np.ndim(wanted) == 0 else list(wanted)
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(
            f"at[{name!r}] must be numbers ('{name}' is numeric), got {values}."
        ) from None
    if not all(np.isfinite(out)):
        raise ValueError(f"at[{name!r}] has a missing or infinite value: {values}.")
    lo, hi = float(series.min()), float(series.max())
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
    data = res.data
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
        series = data[name]
        if _is_numeric(series):
            distinct = np.unique(series.to_numpy(dtype=float))
            if name in at:
                values = _numeric_values(name, at[name], series, notes)
                out[name] = Predictor(name, True, values, len(values) > 1)
            elif len(distinct) <= 2:
                out[name] = Predictor(name, True, tuple(float(v) for v in distinct), True)
            else:
                out[name] = Predictor(name, True, (float(series.mean()),), False)
        else:
            levels = factor_levels(res, name, series)
            if name in at:
                values = _match_levels(name, at[name], levels)
                out[name] = Predictor(name, False, values, len(values) > 1)
            else:
                out[name] = Predictor(name, False, levels, True)
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


def _grid_frame(res: Any, preds: dict[str, Predictor]) -> pd.DataFrame:
    """Every combination of the predictors' values (the first varies fastest, as R)."""
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
    frame = pd.DataFrame(rows, columns=names) if names else pd.DataFrame(index=[0])
    data = res.data
    for name, p in preds.items():
        if not p.numeric and isinstance(data[name].dtype, pd.CategoricalDtype):
            frame[name] = pd.Categorical(frame[name], categories=data[name].cat.categories)
        elif p.numeric:
            frame[name] = frame[name].astype(float)
    # Grouping columns that the fixed part does not read still have to exist for formulaic.
    return frame


def _estimable(res: Any, L_full: np.ndarray, full_names: tuple[str, ...]) -> np.ndarray:
    """Rows of L (over every column of the formula) that are estimable in the rank-deficient fit.

    l'γ is estimable when l lies in the row space of the full model matrix: l'N = 0 for a
    basis N of its null space (emmeans' ``nonest`` check, tolerance 1e-8 relative).
    """
    from ..predict import _model_matrix

    X = _model_matrix(res.design.fixed_model_spec, res.data, full_names)
    _, s, vt = np.linalg.svd(X, full_matrices=True)
    rank = int(np.sum(s > 1e-7 * s[0]))
    null = vt[rank:].T
    scale = np.maximum(np.abs(L_full).max(axis=1), 1.0)
    return np.abs(L_full @ null).max(axis=1, initial=0.0) <= 1e-8 * scale


def linear_functions(
    res: Any, specs: Any, by: Any = None, at: dict[str, Any] | None = None
) -> LinearFunctions:
    """The l vectors of ``emmeans(m, specs, by = by, at = at)`` (see the module docstring)."""
    from ..design import r_style_names
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
    frame = _grid_frame(res, preds)
    fixed_names = tuple(res.design.fixed_names)
    full_names = tuple(r_style_names(res.design.fixed_model_spec))
    with_groups = frame.copy()
    for term in res.design.terms:  # transforms such as cwc(x, g) read a grouping column
        for col in term.group_columns:
            if col not in with_groups and col in res.data:
                with_groups[col] = res.data[col].iloc[0]
    X = _model_matrix(res.design.fixed_model_spec, with_groups, full_names)

    keys = list(spec_names + by_names)
    order = _table_order(preds, spec_names, by_names)
    position = {key: i for i, key in enumerate(order)}
    rows = np.array([position[key] for key in frame[keys].itertuples(index=False, name=None)])
    counts = np.bincount(rows, minlength=len(order)).astype(float)
    L_full = np.zeros((len(order), X.shape[1]))
    np.add.at(L_full, rows, X)
    L_full /= counts[:, None]
    keep = [full_names.index(n) for n in fixed_names]
    L = L_full[:, keep]
    if res.design.dropped_columns:
        ok = _estimable(res, L_full, full_names)
        if not ok.all():
            L[~ok] = np.nan
            notes.append(f"{int((~ok).sum())} row(s) are not estimable in this rank-deficient "
                         "model (NaN).")
    levels = pd.DataFrame(order, columns=keys)
    for name in keys:
        levels[name] = levels[name].astype(float) if preds[name].numeric else levels[name].map(str)
    averaged = [p.name for p in preds.values() if p.averaged and p.name not in keys
                and len(p.values) > 1]
    if averaged:
        notes.insert(0, f"Results are averaged over the levels of: {', '.join(averaged)}")
    return LinearFunctions(levels, L, spec_names, by_names, preds, tuple(notes))


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
    out = []
    for _, row in table.iterrows():
        parts = []
        for name in specs:
            value = row[name]
            text = f"{float(value):.15g}" if preds[name].numeric else str(value)
            parts.append(f"{name}{text}" if named[name] else text)
        label = " ".join(parts)
        if any(ch in label for ch in "-+*/"):
            label = f"({label})"
        out.append(label)
    return out

"""A model's columns as SQL: the plan the aggregation passes run.

From a parsed formula and a :class:`~.sources.Source` this module builds, with R's rules
(:mod:`mlm_jupyter.rterms` expands the formula, :mod:`mlm_jupyter.model_matrix`'s contrast
codes decide which factor gets treatment contrasts and which indicators):

- the rows used: every used column present (not NULL, not NaN), counted in SQL;
- every model-matrix column of the fixed part and of each random term's left side as a
  SQL expression, named as R's ``model.matrix`` (``x:fb``, ``I(x^2)``, ``poly(x, 2, raw =
  TRUE)1``), factor levels found by ``SELECT DISTINCT`` over the rows used;
- the grouping columns of every term (the cells of the aggregation are their distinct
  combinations), and the cluster-mean joins of ``cwc``/``cm``.

Errors say what is wrong in the formula's terms: an unknown column (with the closest
names), a non-numeric response, an unsupported transformation.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ..design import ModelParts, _check_response, _used_columns, model_parts
from ..formula import FormulaError, unknown_column_error
from ..intake import Factor, drop_unused, factor_of, group_labels, level_label
from ..model_matrix import MatrixSpec, VariableInfo, _contrast_codes
from ..rexpr import ExprError, deparse
from ..rfunctions import UnknownName
from ..rterms import Terms
from ..rvalues import LOGICAL_LEVELS
from ..spec import ModelSpec
from .sources import Source
from .sql import SqlFactor, SqlLogical, SqlNum, StateRequest, Translator

__all__ = ["ModelPlan", "PartColumns", "plan_model", "frame_sql"]

BASE, COMPLETE, FRAME = "mlm_base", "mlm_complete", "mlm_frame"


@dataclass(frozen=True)
class PartColumns:
    """One model matrix (the fixed part or a random term's left side) as SQL.

    ``exprs[i]`` is None for the intercept (the constant 1).
    """

    names: tuple[str, ...]
    exprs: tuple[str | None, ...]
    spec: MatrixSpec


@dataclass(frozen=True)
class ModelPlan:
    """Everything the aggregation passes need (see the module docstring)."""

    spec: ModelSpec
    source: Source
    used: tuple[str, ...]
    kinds: dict[str, str]
    response: str  # SQL of the response minus the offsets
    offset: str | None
    fixed: PartColumns
    random: tuple[PartColumns, ...]  # in the order written
    groups: tuple[tuple[str, ...], ...]  # grouping columns per random term (order written)
    requests: tuple[StateRequest, ...]
    states: dict[str, Any]
    n_total: int | None  # None until counted (with the moments, when no state needs them)
    n_used: int | None

    @property
    def keys(self) -> tuple[str, ...]:
        """The grouping columns of every term: the cells of the aggregation."""
        out: list[str] = []
        for cols in self.groups:
            out += [c for c in cols if c not in out]
        return tuple(out)


class _Names:
    """What :func:`mlm_jupyter.design._used_columns` reads of a frame: its column names."""

    def __init__(self, names: list[str]) -> None:
        self.names = {n: n for n in names}

    def __contains__(self, name: str) -> bool:
        return name in self.names


def base_sql(source: Source, used: tuple[str, ...], kinds: dict[str, str]) -> str:
    """``mlm_base``: the used columns, numbers as DOUBLE (no integer overflow, as R)."""
    q = source.dialect.quote
    items = []
    for name in used:
        col = q(name)
        items.append(f"CAST({col} AS DOUBLE) AS {col}" if kinds[name] == "numeric" else col)
    return f"SELECT {', '.join(items)} FROM {source.table()}"


def complete_condition(source: Source, used: tuple[str, ...], kinds: dict[str, str]) -> str:
    """SQL condition: every used column present (NULL and NaN are R's NA)."""
    d = source.dialect
    parts = []
    for name in used:
        col = d.quote(name)
        parts.append(f"{col} IS NOT NULL")
        if kinds[name] == "numeric":
            parts.append(f"NOT {d.is_nan(col)}")
    return " AND ".join(parts) if parts else "TRUE"


def frame_sql(plan: ModelPlan) -> str:
    """The CTEs ``mlm_base``, ``mlm_complete`` and ``mlm_frame`` (rows used, cluster means
    joined), to be followed by a SELECT over ``mlm_frame``."""
    return _frame_sql(plan.source, plan.used, plan.kinds, plan.requests)


def _frame_sql(source: Source, used: tuple[str, ...], kinds: dict[str, str],
               requests: tuple[StateRequest, ...]) -> str:
    q = source.dialect.quote
    ctes = [f"{BASE} AS ({base_sql(source, used, kinds)})",
            f"{COMPLETE} AS (SELECT * FROM {BASE} WHERE "
            f"{complete_condition(source, used, kinds)})"]
    joins, selected = [], [f"{COMPLETE}.*"]
    seen: set[str] = set()
    for r in requests:
        if r.kind != "cluster" or r.alias in seen:
            continue
        seen.add(str(r.alias))
        alias, group = q(str(r.alias)), q(str(r.group))
        table = f"{r.alias}_t"
        ctes.append(f"{table} AS (SELECT {group} AS mlm_key, AVG({r.expr}) AS {alias} "
                    f"FROM {COMPLETE} GROUP BY {group})")
        joins.append(f"JOIN {table} ON {COMPLETE}.{group} = {table}.mlm_key")
        selected.append(f"{table}.{alias}")
    ctes.append(f"{FRAME} AS (SELECT {', '.join(selected)} FROM {COMPLETE} {' '.join(joins)})")
    return "WITH " + ",\n".join(ctes) + "\n"


def plan_model(spec: ModelSpec, source: Source) -> ModelPlan:
    """Translate ``spec`` for ``source``: columns, rows used, states and factor levels.

    Raises
    ------
    FormulaError
        Unknown columns, unsupported terms or transformations (naming them).
    ValueError
        A non-numeric response, no rows left, a factor with a single level.
    """
    parts = model_parts(spec)
    _check_response(spec, parts)
    columns = source.columns()
    try:
        used = tuple(_used_columns(spec, parts, _Names(list(columns))))  # type: ignore[arg-type]
    except FormulaError:
        raise
    kinds = {name: columns[name] for name in used}
    for name, kind in kinds.items():
        if kind == "other":
            raise ValueError(
                f"The column '{name}' has a type the model cannot use (neither numbers, text, "
                "booleans nor dates). Convert it in the data first."
            )
    try:
        return _plan(spec, source, parts, used, kinds)
    except UnknownName as err:
        raise unknown_column_error(spec.formula, err.name, list(columns)) from None
    except ExprError as err:
        raise FormulaError(err.message, spec.formula, None, err.hint,
                           title="Unsupported expression") from None


def _translate(parts: ModelParts, tr: Translator) -> tuple[Any, list[list[Any]], list[Any]]:
    response = tr.value(parts.response)
    values = [[tr.value(node) for node in part.nodes] for part in (parts.fixed, *parts.random)]
    offsets = [tr.vector(node, "offset()") for node in parts.fixed.offset_nodes]
    return response, values, offsets


def _plan(spec: ModelSpec, source: Source, parts: ModelParts, used: tuple[str, ...],
          kinds: dict[str, str]) -> ModelPlan:
    d = source.dialect
    first = Translator(d, kinds, None)
    _translate(parts, first)
    requests = tuple(first.requests.values())
    for r in requests:
        if "mlm_cm" in r.expr:
            raise ExprError(f"{r.key}: centring transforms inside one another are not "
                            "supported when the data stay in the database.",
                            hint="Compute the inner variable in the data first.")
    n_total: int | None = None
    n_used: int | None = None
    states: dict[str, Any] = {}
    if requests:  # learnt constants need a pass of their own (and count the rows on the way)
        (n_total, n_used), states = _states(source, used, kinds, requests)
        check_counts(n_total, n_used, used)
    tr = Translator(d, kinds, states)
    response, values, offsets = _translate(parts, tr)
    label = deparse(parts.response)
    if not isinstance(response, SqlNum) or response.k != 1:
        raise ValueError(
            f"The response '{label}' is not numeric; a linear mixed model needs a numeric "
            "outcome. Convert it in the data (numbers, or 0/1 for a binary outcome)."
        )
    y = response.exprs[0]
    offset = " + ".join(f"({o})" for o in offsets) if offsets else None
    if offset is not None:
        y = f"({y} - ({offset}))"
    frame = _frame_sql(source, used, kinds, requests)
    level_cache: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {}
    shared = MappingProxyType(states)
    try:
        part_cols = [
            _part_columns(part, vals, source, frame, level_cache, shared)
            for part, vals in zip((parts.fixed, *parts.random), values, strict=True)
        ]
    except _NoRows as err:
        check_counts(*count_rows(source, used, kinds), used)
        raise ValueError(f"The factor '{err}' has no values in the rows used.") from None
    return ModelPlan(
        spec=spec, source=source, used=used, kinds=kinds, response=y, offset=offset,
        fixed=part_cols[0], random=tuple(part_cols[1:]),
        groups=tuple(term.group_columns for term in spec.random),
        requests=requests, states=states, n_total=n_total, n_used=n_used,
    )


def check_counts(n_total: int, n_used: int, used: tuple[str, ...]) -> None:
    """Refuse empty data and data whose every row misses a used column."""
    if n_total == 0:
        raise ValueError("The data are empty: there are no rows to fit the model to.")
    if n_used == 0:
        raise ValueError(
            f"Every row has a missing value in at least one of {list(used)}; nothing is left "
            "to fit."
        )


def count_rows(source: Source, used: tuple[str, ...], kinds: dict[str, str]) -> tuple[int, int]:
    """(rows, rows with every used column present)."""
    cond = complete_condition(source, used, kinds)
    row = source.run(f"SELECT COUNT(*) AS n_total, SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) "
                     f"AS n_used FROM ({base_sql(source, used, kinds)}) b")
    n_total = int(row["n_total"][0])
    return n_total, int(np.nan_to_num(row["n_used"][0])) if n_total else 0


def _states(source: Source, used: tuple[str, ...], kinds: dict[str, str],
            requests: tuple[StateRequest, ...]) -> tuple[tuple[int, int], dict[str, Any]]:
    """Row counts (all, used) and the learnt constants of stateful calls, in one pass
    (plus one small GROUP BY per cluster-mean transform, for the fit's states)."""
    d = source.dialect
    cond = complete_condition(source, used, kinds)
    items = ["COUNT(*) AS n_total", f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS n_used"]
    for i, r in enumerate(requests):
        present = f"({r.expr}) IS NOT NULL AND NOT {d.is_nan(f'({r.expr})')}"
        if r.kind == "mean":
            items.append(f"AVG(CASE WHEN {cond} THEN {r.expr} END) AS s{i}_mean")
        elif r.kind == "scale":
            value = f"CASE WHEN {present} THEN {r.expr} END"
            items += [f"AVG({value}) AS s{i}_mean", f"VAR_SAMP({value}) AS s{i}_var",
                      f"COUNT({value}) AS s{i}_n"]
    row = source.run(f"SELECT {', '.join(items)} FROM ({base_sql(source, used, kinds)}) b")
    n_total = int(row["n_total"][0])
    n_used = int(np.nan_to_num(row["n_used"][0])) if n_total else 0
    states: dict[str, Any] = {}
    frame = _frame_sql(source, used, kinds, ())
    for i, r in enumerate(requests):
        if r.kind == "mean":
            states[r.key] = float(row[f"s{i}_mean"][0])
        elif r.kind == "scale":
            var = row[f"s{i}_var"][0]
            states[r.key] = (float(row[f"s{i}_mean"][0]),
                             float(0.0 if var is None or np.isnan(var) else var),
                             int(row[f"s{i}_n"][0]))
        elif n_used:
            group = d.quote(str(r.group))
            got = source.run(f"{frame}SELECT {group} AS k, AVG({r.expr}) AS v FROM "
                             f"{COMPLETE} GROUP BY {group}")
            states[r.key] = {level_label(k): float(v) for k, v in zip(got["k"], got["v"],
                                                                       strict=True)}
    return (n_total, n_used), states


def _levels(value: SqlFactor | SqlLogical, source: Source, frame: str,
            cache: dict[str, tuple[tuple[str, ...], dict[str, Any]]], name: str,
            ) -> tuple[tuple[str, ...], dict[str, Any]]:
    """R's levels of a factor on the rows used, and one raw value per level (for SQL)."""
    if isinstance(value, SqlLogical):
        return LOGICAL_LEVELS, {"FALSE": False, "TRUE": True}
    key = f"{value.expr}|{value.ref}"
    if key not in cache:
        got = source.run(f"{frame}SELECT DISTINCT {value.expr} AS v FROM {FRAME}")
        raw = list(got["v"])
        if not raw:  # no rows used at all: the caller says why (empty, or all incomplete)
            raise _NoRows(name)
        factor = drop_unused(factor_of(pd.Series(raw, dtype=_series_dtype(raw)), name), None)
        labels = list(factor.levels)
        by_label = {factor.levels[c]: raw[i] for i, c in enumerate(factor.codes) if c >= 0}
        if value.ref is not None:
            if value.ref not in labels:
                raise ExprError(f"relevel(): {value.ref!r} is not a level of {name}; the "
                                f"levels are {labels[:12]}.")
            labels.remove(value.ref)
            labels.insert(0, value.ref)
        cache[key] = (tuple(labels), by_label)
    return cache[key]


class _NoRows(Exception):
    """A factor has no values because no row is used."""


def _series_dtype(raw: list[Any]) -> Any:
    if raw and all(isinstance(v, (bool, np.bool_)) for v in raw):
        return bool
    return None


def _indicator(value: SqlFactor | SqlLogical, raw: Any, d: Any) -> str:
    if isinstance(value, SqlLogical) or value.logical:
        return (f"(CASE WHEN {value.expr} THEN 1.0 ELSE 0.0 END)" if raw else
                f"(CASE WHEN {value.expr} THEN 0.0 ELSE 1.0 END)")
    return f"(CASE WHEN {value.expr} = {d.literal(raw)} THEN 1.0 ELSE 0.0 END)"


def _part_columns(part: Terms, values: list[Any], source: Source, frame: str,
                  cache: dict[str, Any], states: MappingProxyType) -> PartColumns:
    """R's model matrix of one formula part, as SQL columns (see :mod:`..model_matrix`)."""
    d = source.dialect
    infos: list[VariableInfo] = []
    pieces: list[list[tuple[str, str]]] = []
    for name, value in zip(part.variables, values, strict=True):
        if isinstance(value, (SqlFactor, SqlLogical)):
            levels, raw = _levels(value, source, frame, cache, name)
            logical = isinstance(value, SqlLogical)
            if len(levels) < 2 and not logical:
                raise ValueError(
                    f"The factor '{name}' has a single level ({levels[0]!r}) in the rows "
                    "used, so it cannot be a predictor (R: 'contrasts can be applied only to "
                    "factors with 2 or more levels'). Remove it from the formula."
                    if levels else f"The factor '{name}' has no values in the rows used.")
            infos.append(VariableInfo(name, levels))
            pieces.append([(_indicator(value, raw[lv], d), lv) for lv in levels])
        elif isinstance(value, SqlNum):
            infos.append(VariableInfo(name, None, value.suffixes))
            if value.k == 1 and value.suffixes is None:
                pieces.append([(value.exprs[0], "")])
            else:
                sfx = value.suffixes or tuple(str(i + 1) for i in range(value.k))
                pieces.append(list(zip(value.exprs, sfx, strict=True)))
        else:
            raise ValueError(f"'{name}' is a constant, not a variable; it cannot be a term.")
    is_factor = [info.levels is not None for info in infos]
    codes = _contrast_codes(part, is_factor)
    names: list[str] = []
    exprs: list[str | None] = []
    assign: list[int] = []
    if part.intercept:
        names.append("(Intercept)")
        exprs.append(None)
        assign.append(0)
    for k, (term, term_codes) in enumerate(zip(part.terms, codes, strict=True), start=1):
        block: list[tuple[str | None, str]] = [(None, "")]
        for v, code in zip(term, term_codes, strict=True):
            info = infos[v]
            cols = pieces[v]
            if info.levels is not None and code == 1:
                cols = cols[1:]
            labelled = [(e, info.name + s) for e, s in cols]
            block = [
                (r if left is None else f"({left} * {r})", f"{ln}:{rn}" if ln else rn)
                for r, rn in labelled
                for left, ln in block
            ]
        for expr, name in block:
            names.append(name)
            exprs.append(expr)
            assign.append(k)
    spec = MatrixSpec(part, tuple(infos), codes, tuple(names), states, tuple(assign))
    return PartColumns(tuple(names), tuple(exprs), spec)


def term_levels(keys: dict[str, np.ndarray], group_columns: tuple[str, ...],
                ) -> tuple[np.ndarray, tuple[str, ...]]:
    """A term's level index for every cell and its level names, as lme4 builds them.

    ``keys`` holds the cells' raw values of each grouping column; an interaction ``a:b``
    has the levels ``"a_i:b_j"`` that occur, ordered by a then b
    (:func:`mlm_jupyter.design_checks.group_factor`).
    """
    factors: list[Factor] = []
    for col in group_columns:
        raw = keys[col]
        series = pd.Series(raw) if raw.dtype != object else pd.Series(
            list(raw), dtype=_series_dtype(list(raw)))
        factors.append(drop_unused(group_labels(series, col), None))
    if len(factors) == 1:
        return factors[0].codes, factors[0].levels
    combined = np.zeros(len(factors[0].codes), dtype=np.int64)
    for f in factors:
        combined = combined * len(f.levels) + f.codes
    uniques, codes = np.unique(combined, return_inverse=True)
    names = []
    for value in uniques:
        labels = []
        for f in reversed(factors):
            labels.append(f.levels[value % len(f.levels)])
            value //= len(f.levels)
        names.append(":".join(reversed(labels)))
    return codes.astype(np.int64), tuple(names)

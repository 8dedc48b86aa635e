"""The data columns of a model's fixed part, as the fit read them, for reference grids.

Marginal means (:mod:`.refgrid`) and effect plots (:mod:`.response_grid`) build new rows of
predictor values and send them through the fit's own model-matrix recipe
(:class:`mlm_jupyter.model_matrix.MatrixSpec`).  What a column *is* there follows the fit, not
pandas dtypes:

- a **factor** is a column the data intake reads as categorical (text, categoricals,
  booleans), with the levels the fit coded (R's order, unused levels dropped), or a numeric
  column that the fixed part uses only through ``factor(x)`` / ``as.factor(x)`` (emmeans'
  "coerced" factor: its distinct values are its levels);
- every other column is **numeric** (float64, as the intake reads it).

A grid column for a factor is made of rows of the fitted data (one representative row per
level), so it keeps the column's dtype and the evaluator codes it exactly as it coded the
fit (``TRUE`` for a boolean, a category of a categorical, ``0.2`` for ``factor(nitro)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..intake import Frame, column_kind, factor_of, level_label

__all__ = ["GridVariable", "fixed_variables", "grid_variable", "level_labels"]

_FACTOR_CALLS = ("factor", "as.factor")


@dataclass(frozen=True)
class GridVariable:
    """One data column of the fixed part.

    Attributes
    ----------
    name : str
    numeric : bool
        False for a factor (including a numeric column used as ``factor(x)``).
    levels : tuple of str
        A factor's levels as the fit coded them (empty for a numeric column).
    rows : tuple of int
        Per level, the position (in ``res.data``) of a fitted row with that level.
    coerced : bool
        A numeric column used as a factor: its level values are the numbers.
    values : ndarray
        A numeric column's float64 values on the fitted rows (empty for a factor).
    """

    name: str
    numeric: bool
    levels: tuple[str, ...] = ()
    rows: tuple[int, ...] = ()
    coerced: bool = False
    values: np.ndarray = field(default_factory=lambda: np.empty(0), compare=False, repr=False)

    def column(self, res: Any, labels: list[str]) -> pd.Series:
        """A grid column with these level labels, in the data's own dtype."""
        where = dict(zip(self.levels, self.rows, strict=True))
        return res.data[self.name].iloc[[where[label] for label in labels]].reset_index(drop=True)

    def level_value(self, label: str) -> Any:
        """How a level is shown in a table: the number of a coerced factor, else the label."""
        return float(label) if self.coerced else label


def _fixed_nodes(res: Any) -> list[tuple[Any, Any]]:
    """(node, VariableInfo) of every variable of the fixed part (offsets excluded)."""
    spec = res.design.fixed_model_spec
    return list(zip(spec.terms.nodes, spec.variables, strict=True))


def fixed_variables(res: Any) -> list[str]:
    """Data columns the fixed part's terms read, in the order the model uses them.

    The columns of ``offset()`` terms are not among them: a marginal mean holds the offset at
    its mean (as emmeans does for lmer fits) and does not vary it over a grid.
    """
    wanted: set[str] = set()
    for node, _ in _fixed_nodes(res):
        wanted.update(node.names())
    return [v for v in res.design.variables if v in wanted and v != res.spec.response]


def _coerced_levels(res: Any, name: str) -> tuple[str, ...] | None:
    """Levels of ``factor(name)`` when every fixed variable reading ``name`` is such a call."""
    readers = [(node, info) for node, info in _fixed_nodes(res) if name in node.names()]
    calls = [info for node, info in readers
             if node.kind == "call" and node.value in _FACTOR_CALLS and len(node.args) == 1
             and not node.kwargs and node.args[0].kind == "name" and node.args[0].value == name]
    if not readers or len(calls) != len(readers):
        return None
    return calls[0].levels


def _bare_levels(res: Any, name: str) -> tuple[str, ...] | None:
    for node, info in _fixed_nodes(res):
        if node.kind == "name" and node.value == name and info.is_factor:
            return info.levels
    return None


def grid_variable(res: Any, name: str) -> GridVariable:
    """How reference grids treat the data column ``name`` (see the module docstring)."""
    series = res.data[name]
    kind = column_kind(series, name)
    coerced = _coerced_levels(res, name) if kind == "numeric" else None
    if kind == "numeric" and coerced is None:
        return GridVariable(name, True, values=Frame(res.data).numeric(name))
    factor = factor_of(series, name)
    codes, positions = np.unique(factor.codes, return_index=True)
    first = {factor.levels[c]: int(i) for c, i in zip(codes, positions, strict=True) if c >= 0}
    levels = coerced or _bare_levels(res, name) or tuple(lv for lv in factor.levels if lv in first)
    kept = tuple(lv for lv in levels if lv in first)  # factor(x, levels=) may name unused ones
    return GridVariable(name, False, kept, tuple(first[lv] for lv in kept), coerced is not None)


def level_labels(variable: GridVariable, wanted: Any) -> tuple[list[str], list[Any]]:
    """Level labels of ``wanted`` values (any spelling: ``20``, ``"20"``, ``20.0``), in order,
    and the values that are not levels of the fit (for the caller's message)."""
    values = [wanted] if np.ndim(wanted) == 0 else list(wanted)
    labels = [level_label(v) for v in values]
    unknown = [v for v, label in zip(values, labels, strict=True) if label not in variable.levels]
    return labels, unknown

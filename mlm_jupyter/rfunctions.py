"""Evaluate formula variables as R does: ``log(x)``, ``I(x^2)``, ``factor(g)``, ``poly(x, 2)``.

Every variable of a formula is an R expression over data columns.  :class:`Evaluator`
computes it on all rows of the data, with every number as float64 (R's doubles), and
returns a :class:`Numeric` (one or more columns) or a :class:`~mlm_jupyter.intake.Factor`.

Functions that learn from the data (``poly``, ``scale`` and the centring transforms
``cwc``, ``cm``, ``gmc``, ``center``) store what they learnt in ``states`` on the fit;
predictions reuse it, as R's ``makepredictcall`` and lme4's ``predict`` do: a new row gets
the training polynomial basis, the training mean and SD, the training cluster means.
``poly`` and ``scale`` learn from every row whose argument is present (R evaluates them on
the whole data frame before dropping incomplete rows); the centring transforms learn from
the rows of the fit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .intake import Factor, Frame
from .rcalls import SUPPORTED, check_calls
from .rexpr import ExprError, Node, deparse
from .rvalues import LOGICAL_LEVELS, Logical, Numeric, UnknownName, Value

__all__ = ["LOGICAL_LEVELS", "Evaluator", "Logical", "Numeric", "UnknownName", "check_calls"]


class Evaluator:
    """Evaluate expressions on a :class:`~mlm_jupyter.intake.Frame`.

    Parameters
    ----------
    frame : Frame
        The data.
    states : dict
        Learnt parameters of stateful functions, keyed by the call's R text.  Empty on a
        fit (filled as calls are evaluated); the fit's dict when predicting.
    fit_rows : ndarray of bool or None
        Rows the model is fitted on (where the centring transforms learn); None when
        predicting (every state must then exist).
    """

    def __init__(
        self, frame: Frame, states: dict[str, Any], fit_rows: np.ndarray | None
    ) -> None:
        self.frame = frame
        self.states = states
        self.fit_rows = fit_rows
        self.n = frame.n
        self._cache: dict[Node, Value] = {}

    @property
    def predicting(self) -> bool:
        return self.fit_rows is None

    # -- entry -----------------------------------------------------------------------------
    def value(self, node: Node) -> Value:
        """The value of an expression on every row (computed once per expression)."""
        if node.kind in ("name", "call", "op"):
            if node not in self._cache:
                self._cache[node] = self._value(node)
            return self._cache[node]
        return self._value(node)

    def _value(self, node: Node) -> Value:
        kind = node.kind
        if kind == "name":
            return self.column(str(node.value))
        if kind == "num":
            return float(node.value)  # type: ignore[arg-type]
        if kind in ("bool", "str"):
            return node.value
        if kind == "paren":
            return self.value(node.args[0])
        if kind == "op":
            return self.operator(node)
        function = SUPPORTED.get(str(node.value))
        if function is None:
            check_calls(node)  # raises
        return function(self, node)  # type: ignore[misc]

    def column(self, name: str) -> Value:
        if name not in self.frame:
            if name == "pi":
                return float(np.pi)
            if name in ("T", "F"):
                return name == "T"
            raise UnknownName(name)
        if self.frame.kind(name) == "factor":
            return self.frame.factor(name)
        return Numeric(self.frame.numeric(name)[:, None])

    # -- helpers -----------------------------------------------------------------------------
    def numeric(self, node: Node, what: str) -> np.ndarray:
        """n x k float values of a numeric argument (a logical counts 0/1, as in R)."""
        value = self.value(node)
        return self.as_numbers(value, node, what)

    def as_numbers(self, value: Value, node: Node, what: str) -> np.ndarray:
        if isinstance(value, Numeric):
            return value.values
        if isinstance(value, Logical):
            return value.values[:, None]
        if isinstance(value, Factor):
            raise ExprError(
                f"{what} needs numbers, but {deparse(node)} is a factor (categorical or text).",
                hint="Use a numeric column, or as.numeric() if the text holds numbers.",
            )
        if isinstance(value, bool):
            return np.full((self.n, 1), float(value))
        if isinstance(value, float):
            return np.full((self.n, 1), value)
        raise ExprError(f"{what} needs numbers, not {deparse(node)}.")

    def vector(self, node: Node, what: str) -> np.ndarray:
        values = self.numeric(node, what)
        if values.shape[1] != 1:
            raise ExprError(f"{what} needs a single variable, but {deparse(node)} has "
                            f"{values.shape[1]} columns.")
        return values[:, 0]

    def constant(self, node: Node, what: str) -> Any:
        value = self.value(node)
        if isinstance(value, (Numeric, Logical, Factor)):
            raise ExprError(f"{what} must be a constant, not the variable {deparse(node)}.")
        return value

    def state(self, node: Node, learn: Callable[[], Any]) -> Any:
        key = deparse(node)
        if key not in self.states:
            if self.predicting:
                raise ExprError(f"{key} has no training state to predict with.")
            self.states[key] = learn()
        return self.states[key]

    def argument(self, node: Node, position: int, name: str, default: Any = None) -> Node | Any:
        """The argument ``name`` of a call, given by position or by name."""
        named = dict(node.kwargs)
        if name in named:
            return named[name]
        if position < len(node.args):
            return node.args[position]
        return default

    # -- operators -----------------------------------------------------------------------------
    def operator(self, node: Node) -> Value:
        op = str(node.value)
        if op == ":":
            raise ExprError(
                "':' inside a function call is R's sequence operator, which formulas do not "
                "support.",
                hint="Write an interaction outside the call: a:b.",
            )
        if len(node.args) == 1:
            operand = node.args[0]
            if op == "!":
                return Logical(_logical_not(self.logical(operand)))
            values = self.numeric(operand, f"'{op}'")
            return Numeric(-values if op == "-" else values)
        a, b = node.args
        if op in ("&", "&&", "|", "||"):
            left, right = self.logical(a), self.logical(b)
            both = np.isnan(left) | np.isnan(right)
            out = (left > 0) & (right > 0) if op in ("&", "&&") else (left > 0) | (right > 0)
            return Logical(np.where(both, np.nan, out.astype(float)))
        x, y = self.numeric(a, f"'{op}'"), self.numeric(b, f"'{op}'")
        with np.errstate(all="ignore"):
            if op in _COMPARE:
                result = _COMPARE[op](x, y).astype(float)
                result[np.isnan(x + y)] = np.nan
                return Logical(result[:, 0]) if result.shape[1] == 1 else Numeric(result)
            out = _ARITHMETIC[op](x, y)
        left_value = self.value(a)
        suffixes = left_value.suffixes if isinstance(left_value, Numeric) else None
        return Numeric(out, suffixes if out.shape[1] > 1 else None)

    def logical(self, node: Node) -> np.ndarray:
        value = self.value(node)
        if isinstance(value, Logical):
            return value.values
        values = self.as_numbers(value, node, "a logical operator")
        return np.where(np.isnan(values[:, 0]), np.nan, (values[:, 0] != 0).astype(float))


def _logical_not(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), np.nan, 1.0 - values)


_COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "<": np.less, ">": np.greater, "<=": np.less_equal, ">=": np.greater_equal,
    "==": np.equal, "!=": np.not_equal,
}
_ARITHMETIC: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power,
    "%%": np.mod, "%/%": np.floor_divide,
}

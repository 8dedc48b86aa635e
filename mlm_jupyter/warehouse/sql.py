"""Formula variables as SQL expressions, with R's meaning.

The same expression trees that :mod:`mlm_jupyter.rfunctions` evaluates on a DataFrame
(:mod:`mlm_jupyter.rexpr`) are translated here into SQL that DuckDB and Spark both run:
numeric columns (as DOUBLE), ``+ - * / ^``, R's ``%%`` and ``%/%`` (floored), comparisons
and ``& | !`` (a logical is a two-level factor), ``I()``, ``log``/``exp``/``sqrt``/...,
``factor()``/``relevel()`` (levels are found later with ``SELECT DISTINCT``),
``poly(x, k, raw = TRUE)``, ``scale(x)``, ``gmc(x)``, ``center(x, c)`` and the grouped
``cwc(x, g)``/``cm(x, g)`` (cluster means joined from a ``GROUP BY g`` aggregate).

Constants learnt from the data (grand means, ``scale``'s mean and SD) are asked for on a
first translation (:attr:`Translator.requests`) and written into the SQL, with every
digit, on the second; they become the fit's ``states`` so that ``res.predict(newdata)``
centres new rows exactly as the rows of the fit.
"""

from __future__ import annotations

from typing import Any

from ..rexpr import ExprError, Node, deparse
from .sources import Dialect
from .sqlcalls import Calls
from .sqlvalues import SqlFactor, SqlLogical, SqlNum, StateRequest

__all__ = ["SqlFactor", "SqlNum", "SqlLogical", "StateRequest", "Translator"]

_COMPARE = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "==": "=", "!=": "<>"}


class Translator(Calls):
    """Translate formula expressions to SQL over the model's base columns.

    Parameters
    ----------
    dialect : Dialect
    kinds : dict
        Column name -> kind ("numeric", "factor", "bool", ...), for the used columns.
    states : dict or None
        Learnt constants keyed by the call's R text (None on the first translation, which
        only collects :attr:`requests`).
    """

    def __init__(self, dialect: Dialect, kinds: dict[str, str],
                 states: dict[str, Any] | None) -> None:
        self.d = dialect
        self.kinds = kinds
        self.states = states
        self.requests: dict[str, StateRequest] = {}

    # -- entry -------------------------------------------------------------------------
    def value(self, node: Node) -> Any:
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
        return self.call(node)

    def column(self, name: str) -> Any:
        if name not in self.kinds:
            if name == "pi":
                return 3.141592653589793
            if name in ("T", "F"):
                return name == "T"
        kind = self.kinds[name]
        if kind == "numeric":
            return SqlNum((self.d.quote(name),))
        if kind == "bool":
            return SqlFactor(self.d.quote(name), logical=False)
        if kind == "factor":
            return SqlFactor(self.d.quote(name))
        raise ExprError(
            f"The column '{name}' has a type ({kind}) that cannot be a predictor; only "
            "numbers, text and booleans can (dates can be grouping factors).",
            hint="Convert it to a number or to text in the data first.",
        )

    # -- helpers ---------------------------------------------------------------------------
    def numbers(self, value: Any, node: Node, what: str) -> SqlNum:
        if isinstance(value, SqlNum):
            return value
        if isinstance(value, SqlLogical):
            return SqlNum((f"(CASE WHEN {value.expr} THEN 1.0 ELSE 0.0 END)",))
        if isinstance(value, SqlFactor):
            raise ExprError(
                f"{what} needs numbers, but {deparse(node)} is a factor (categorical or text).",
                hint="Use a numeric column, or compute the numbers in the data first.",
            )
        if isinstance(value, bool):
            return SqlNum(("1.0" if value else "0.0",))
        if isinstance(value, float):
            return SqlNum((self.d.number(value),))
        raise ExprError(f"{what} needs numbers, not {deparse(node)}.")

    def vector(self, node: Node, what: str) -> str:
        values = self.numbers(self.value(node), node, what)
        if values.k != 1:
            raise ExprError(f"{what} needs a single variable, but {deparse(node)} has "
                            f"{values.k} columns.")
        return values.exprs[0]

    def constant(self, node: Node, what: str) -> Any:
        value = self.value(node)
        if isinstance(value, (SqlNum, SqlLogical, SqlFactor)):
            raise ExprError(f"{what} must be a constant, not the variable {deparse(node)}.")
        return value

    @staticmethod
    def argument(node: Node, position: int, name: str) -> Node | None:
        named = dict(node.kwargs)
        if name in named:
            return named[name]
        return node.args[position] if position < len(node.args) else None

    def _state(self, request: StateRequest) -> Any:
        self.requests.setdefault(request.key, request)
        if self.states is None:
            return None
        return self.states[request.key]

    # -- operators ---------------------------------------------------------------------------
    def operator(self, node: Node) -> Any:
        op = str(node.value)
        if op == ":":
            raise ExprError(
                "':' inside a function call is R's sequence operator, which formulas do not "
                "support.", hint="Write an interaction outside the call: a:b.")
        if len(node.args) == 1:
            operand = node.args[0]
            if op == "!":
                return SqlLogical(f"(NOT {self.logical(operand)})")
            values = self.numbers(self.value(operand), operand, f"'{op}'")
            if op == "+":
                return values
            return SqlNum(tuple(f"(-{e})" for e in values.exprs), values.suffixes)
        a, b = node.args
        if op in ("&", "&&", "|", "||"):
            joiner = "AND" if op in ("&", "&&") else "OR"
            return SqlLogical(f"({self.logical(a)} {joiner} {self.logical(b)})")
        left = self.numbers(self.value(a), a, f"'{op}'")
        right = self.numbers(self.value(b), b, f"'{op}'")
        pairs = _broadcast(left, right, deparse(node))
        if op in _COMPARE:
            if len(pairs) != 1:
                raise ExprError(f"{deparse(node)}: a comparison needs single variables.")
            x, y = pairs[0]
            return SqlLogical(f"({x} {_COMPARE[op]} {y})")
        exprs = tuple(_arithmetic(op, x, y) for x, y in pairs)
        return SqlNum(exprs, left.suffixes if len(exprs) > 1 else None)

    def logical(self, node: Node) -> str:
        value = self.value(node)
        if isinstance(value, SqlLogical):
            return value.expr
        values = self.numbers(value, node, "a logical operator")
        return f"({values.exprs[0]} <> 0)"

    # -- calls -------------------------------------------------------------------------------


def _broadcast(left: SqlNum, right: SqlNum, text: str) -> list[tuple[str, str]]:
    if left.k == right.k:
        return list(zip(left.exprs, right.exprs, strict=True))
    if left.k == 1:
        return [(left.exprs[0], e) for e in right.exprs]
    if right.k == 1:
        return [(e, right.exprs[0]) for e in left.exprs]
    raise ExprError(f"{text}: the two sides have {left.k} and {right.k} columns.")


def _arithmetic(op: str, x: str, y: str) -> str:
    if op in ("+", "-", "*", "/"):
        return f"({x} {op} {y})"
    if op == "^":
        return f"POWER({x}, {y})"
    if op == "%%":  # R's modulo takes the sign of the divisor: x - y * floor(x / y)
        return f"({x} - {y} * FLOOR({x} / {y}))"
    if op == "%/%":
        return f"FLOOR({x} / {y})"
    raise ExprError(f"The operator {op} is not supported in formulas.")

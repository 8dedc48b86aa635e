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

from dataclasses import dataclass
from typing import Any

from ..rexpr import ExprError, Node, deparse
from .sources import Dialect

__all__ = ["SqlFactor", "SqlNum", "SqlLogical", "StateRequest", "Translator"]


@dataclass(frozen=True)
class SqlNum:
    """Numeric values: one SQL expression per column (``poly(x, 2, raw = TRUE)`` has two)."""

    exprs: tuple[str, ...]
    suffixes: tuple[str, ...] | None = None

    @property
    def k(self) -> int:
        return len(self.exprs)


@dataclass(frozen=True)
class SqlFactor:
    """A categorical variable: the SQL expression whose distinct values are its levels.

    ``ref`` (``relevel``) moves one level first; levels are R's order of the distinct values
    otherwise (numbers numerically, text by code point, FALSE before TRUE).
    """

    expr: str
    ref: str | None = None
    logical: bool = False


@dataclass(frozen=True)
class SqlLogical:
    """A TRUE/FALSE expression (a comparison): a two-level factor in a model matrix."""

    expr: str


@dataclass(frozen=True)
class StateRequest:
    """A constant the SQL needs from the data before it can be written.

    ``kind`` is ``"mean"`` (``gmc``: the mean over the rows of the fit), ``"scale"`` (mean
    and SD of the rows where ``expr`` is present, as R's ``scale``) or ``"cluster"``
    (``cwc``/``cm``: means of ``expr`` by the column ``group``, joined in as ``alias``).
    """

    key: str
    kind: str
    expr: str
    group: str | None = None
    alias: str | None = None


_UNARY = {"exp": "EXP({})", "sqrt": "SQRT({})", "abs": "ABS({})", "sin": "SIN({})",
          "cos": "COS({})", "tan": "TAN({})", "floor": "FLOOR({})", "ceiling": "CEIL({})",
          "log2": "(LN({}) / LN(2.0))", "log10": "LOG10({})",
          "trunc": "(CASE WHEN {0} < 0 THEN CEIL({0}) ELSE FLOOR({0}) END)"}
_COMPARE = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "==": "=", "!=": "<>"}
_REFUSED = {
    "log1p": "log1p() has no exact SQL equivalent in every engine (LN(1 + x) loses digits "
             "for small x)",
    "expm1": "expm1() has no exact SQL equivalent in every engine (EXP(x) - 1 loses digits "
             "for small x)",
    "ordered": "ordered factors (R's polynomial contrasts) are not supported",
    "C": "C() contrasts are not supported; factors use R's treatment contrasts",
    "offset": "offset() is a term of its own and cannot be inside another expression",
}


class Translator:
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
    def call(self, node: Node) -> Any:
        name = str(node.value)
        if name in _REFUSED:
            raise ExprError(f"{deparse(node)}: {_REFUSED[name]} when the data stay in the "
                            "database.",
                            hint="Compute the column in the data (SQL or Spark) first, or "
                            "use a supported transformation.")
        if name in _UNARY:
            arg = self._one(node, name)
            values = self.numbers(self.value(arg), arg, f"{name}()")
            return SqlNum(tuple(_UNARY[name].format(e) for e in values.exprs), values.suffixes)
        handler = getattr(self, "_call_" + name.replace(".", "_"), None)
        if handler is None:
            raise ExprError(
                f"The function {name}() is not supported when the data stay in the database.",
                hint="Supported there: " + ", ".join(sorted(SUPPORTED_SQL)) + ". Compute "
                "other transformations in a new column of the data first.",
            )
        return handler(node)

    def _one(self, node: Node, name: str) -> Node:
        if len(node.args) != 1 or node.kwargs:
            raise ExprError(f"{name}() takes one argument: {name}(x).")
        return node.args[0]

    def _call_I(self, node: Node) -> Any:
        arg = self._one(node, "I")
        value = self.value(arg)
        if isinstance(value, (SqlNum, SqlLogical, SqlFactor)):
            return value
        return self.numbers(value, arg, "I()")

    def _call_log(self, node: Node) -> SqlNum:
        x = self.argument(node, 0, "x")
        if x is None or len(node.args) + len(node.kwargs) > 2:
            raise ExprError("log() takes log(x) or log(x, base).")
        values = self.numbers(self.value(x), x, "log()")
        base = self.argument(node, 1, "base")
        if base is None:
            return SqlNum(tuple(f"LN({e})" for e in values.exprs))
        b = self.d.number(float(self.constant(base, "The base of log()")))
        return SqlNum(tuple(f"(LN({e}) / LN({b}))" for e in values.exprs))

    def _numeric_cast(self, node: Node, integer: bool) -> SqlNum:
        arg = self._one(node, str(node.value))
        value = self.value(arg)
        if isinstance(value, SqlFactor):
            raise ExprError(
                f"{deparse(node)}: converting a factor or text column to numbers is not "
                "supported when the data stay in the database.",
                hint="Store the column as numbers in the data.")
        values = self.numbers(value, arg, f"{node.value}()")
        if integer:
            return SqlNum(tuple(_UNARY["trunc"].format(e) for e in values.exprs))
        return values

    def _call_as_numeric(self, node: Node) -> SqlNum:
        return self._numeric_cast(node, False)

    _call_as_double = _call_as_numeric

    def _call_as_integer(self, node: Node) -> SqlNum:
        return self._numeric_cast(node, True)

    def _call_factor(self, node: Node) -> SqlFactor:
        name = str(node.value)
        if len(node.args) != 1 or node.kwargs:
            raise ExprError(
                f"{name}() is supported as {name}(x) when the data stay in the database "
                "(levels = c(...) is not).",
                hint="Recode the column in the data, or use relevel(factor(x), ref = ...).")
        arg = node.args[0]
        value = self.value(arg)
        if isinstance(value, SqlFactor):
            return value
        if isinstance(value, SqlLogical):
            return SqlFactor(value.expr, logical=True)
        if isinstance(value, SqlNum):
            if value.k != 1:
                raise ExprError(f"{name}() needs a single variable, not {deparse(arg)}.")
            return SqlFactor(value.exprs[0])
        raise ExprError(f"{name}() needs a variable, not the constant {deparse(arg)}.")

    _call_as_factor = _call_factor

    def _call_relevel(self, node: Node) -> SqlFactor:
        x, ref = self.argument(node, 0, "x"), self.argument(node, 1, "ref")
        if x is None or ref is None:
            raise ExprError('relevel() is supported as relevel(f, ref = "level").')
        value = self.value(x)
        if isinstance(value, SqlLogical):
            value = SqlFactor(value.expr, logical=True)
        if not isinstance(value, SqlFactor):
            raise ExprError(f"relevel() needs a factor, but {deparse(x)} is numeric.",
                            hint="Use relevel(factor(x), ref = ...).")
        from ..intake import level_label

        return SqlFactor(value.expr, level_label(self.constant(ref, "ref")), value.logical)

    def _call_c(self, node: Node) -> tuple:
        if node.kwargs:
            raise ExprError('c() takes constants only: c("a", "b").')
        return tuple(self.constant(a, "c()") for a in node.args)

    def _call_poly(self, node: Node) -> SqlNum:
        x = self.argument(node, 0, "x")
        degree_node = self.argument(node, 1, "degree")
        raw_node = self.argument(node, 2, "raw")
        raw = False if raw_node is None else bool(self.constant(raw_node, "raw"))
        if x is None or not raw:
            raise ExprError(
                f"{deparse(node)}: orthogonal polynomials need every value of the variable, so "
                "they are not supported when the data stay in the database.",
                hint="Use poly(x, k, raw = TRUE) or I(x^2): the same model, other coefficients.")
        degree = 1.0 if degree_node is None else self.constant(degree_node, "degree")
        if not isinstance(degree, float) or not degree.is_integer() or degree < 1:
            raise ExprError(f"The degree of poly() must be a whole number of at least 1, not "
                            f"{degree!r}.")
        e = self.vector(x, "poly()")
        k = int(degree)
        exprs = tuple(e if i == 1 else f"POWER({e}, {i}.0)" for i in range(1, k + 1))
        return SqlNum(exprs, tuple(str(i) for i in range(1, k + 1)))

    def _call_scale(self, node: Node) -> SqlNum:
        x = self.argument(node, 0, "x")
        extra = [k for k, _ in node.kwargs if k not in ("x", "center", "scale")]
        if x is None or extra or len(node.args) > 3:
            raise ExprError("scale() is supported as scale(x), scale(x, center = ..., "
                            "scale = ...).")
        e = self.vector(x, "scale()")
        center_node, scale_node = self.argument(node, 1, "center"), self.argument(node, 2,
                                                                                   "scale")
        center = True if center_node is None else self.constant(center_node, "center")
        scale = True if scale_node is None else self.constant(scale_node, "scale")
        state = self._state(StateRequest(deparse(node), "scale", e))
        if state is None:
            return SqlNum((e,))
        shift, spread = _scale_constants(state, center, scale)
        return SqlNum((f"(({e} - {self.d.number(shift)}) / {self.d.number(spread)})",))

    def _call_gmc(self, node: Node) -> SqlNum:
        return self._centre(node, "gmc")

    def _call_center(self, node: Node) -> SqlNum:
        return self._centre(node, "center")

    def _centre(self, node: Node, name: str) -> SqlNum:
        x = self.argument(node, 0, "x")
        second = self.argument(node, 1, "c")
        if x is None or len(node.args) > 2:
            raise ExprError(f"{name}() is used as {name}(x)" +
                            ("." if name == "gmc" else f" or {name}(x, c)."))
        e = self.vector(x, f"{name}()")
        if name == "gmc" or second is None:
            mean = self._state(StateRequest(deparse(node), "mean", e))
            if mean is None:
                return SqlNum((e,))
            return SqlNum((f"({e} - {self.d.number(mean)})",))
        c = self.constant(second, f"The constant of {name}()")
        if not isinstance(c, float):
            raise ExprError(f"{name}(x, c): c must be a number, not {c!r}.")
        return SqlNum((f"({e} - {self.d.number(c)})",))

    def _call_cwc(self, node: Node) -> SqlNum:
        return self._cluster(node, "cwc")

    def _call_cm(self, node: Node) -> SqlNum:
        return self._cluster(node, "cm")

    def _cluster(self, node: Node, name: str) -> SqlNum:
        x, g = self.argument(node, 0, "x"), self.argument(node, 1, "g")
        if x is None or g is None or len(node.args) > 2:
            raise ExprError(f"{name}() is used as {name}(x, g).")
        if g.kind != "name":
            raise ExprError(
                f"{deparse(node)}: the grouping argument must be a column when the data stay "
                "in the database.", hint="Make the cluster id a column of the data.")
        e = self.vector(x, f"{name}()")
        key = deparse(node)
        previous = [r for r in self.requests.values() if r.kind == "cluster"
                    and r.expr == e and r.group == str(g.value)]
        alias = previous[0].alias if previous else f"mlm_cm{len(self.requests)}"
        group = str(g.value)
        if group not in self.kinds:
            from ..rfunctions import UnknownName

            raise UnknownName(group)
        self._state(StateRequest(key, "cluster", e, group, alias))
        mean = self.d.quote(str(alias))
        return SqlNum((f"({e} - {mean})" if name == "cwc" else mean,))


SUPPORTED_SQL = ("I", "log", "log2", "log10", "exp", "sqrt", "abs", "sin", "cos", "tan",
                 "floor", "ceiling", "trunc", "as.numeric", "as.double", "as.integer",
                 "factor", "as.factor", "relevel", "c", "poly (raw = TRUE)", "scale", "cwc",
                 "cm", "gmc", "center")


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


def _scale_constants(state: tuple[float, float, float], center: Any,
                     scale: Any) -> tuple[float, float]:
    """R's ``scale(x, center, scale)`` from the present rows' (mean, sample variance, count).

    The spread is the root of Σ(x - shift)² / (n - 1), i.e. the SD when centred at the
    mean (as :func:`mlm_jupyter.transforms.scale_parameters`).
    """
    mean, var, count = state
    if isinstance(center, bool):
        shift = mean if center and count else 0.0
    else:
        shift = float(center)
    if isinstance(scale, bool):
        if not scale:
            return shift, 1.0
        spread = float((max(var, 0.0) * (count - 1) + count * (mean - shift) ** 2)
                       / max(count - 1, 1)) ** 0.5
        if spread == 0:
            raise ExprError("scale(): the variable is constant, so it cannot be scaled.")
        return shift, spread
    return shift, float(scale)

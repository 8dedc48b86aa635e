"""The functions formulas may call, as SQL (a mixin of :class:`.sql.Translator`).

Each ``_call_<name>`` translates one R function with R's meaning; functions without an
exact SQL equivalent in every engine, or that need every value of a variable at once
(orthogonal ``poly``), are refused with what to write instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..rexpr import ExprError, Node, deparse
from .sqlvalues import SqlFactor, SqlLogical, SqlNum, StateRequest

__all__ = ["SUPPORTED_SQL", "Calls"]

_UNARY = {"exp": "EXP({})", "sqrt": "SQRT({})", "abs": "ABS({})", "sin": "SIN({})",
          "cos": "COS({})", "tan": "TAN({})", "floor": "FLOOR({})", "ceiling": "CEIL({})",
          "log2": "(LN({}) / LN(2.0))", "log10": "LOG10({})",
          "trunc": "(CASE WHEN {0} < 0 THEN CEIL({0}) ELSE FLOOR({0}) END)"}
_REFUSED = {
    "log1p": "log1p() has no exact SQL equivalent in every engine (LN(1 + x) loses digits "
             "for small x)",
    "expm1": "expm1() has no exact SQL equivalent in every engine (EXP(x) - 1 loses digits "
             "for small x)",
    "ordered": "ordered factors (R's polynomial contrasts) are not supported",
    "C": "C() contrasts are not supported; factors use R's treatment contrasts",
    "offset": "offset() is a term of its own and cannot be inside another expression",
}


class Calls:
    """Function calls of a formula as SQL (mixed into :class:`.sql.Translator`, whose
    ``value``, ``numbers``, ``vector``, ``constant``, ``argument`` and ``_state`` they use)."""

    d: Any
    kinds: dict[str, str]
    requests: dict[str, StateRequest]

    if TYPE_CHECKING:  # provided by Translator
        def value(self, node: Node) -> Any: ...
        def numbers(self, value: Any, node: Node, what: str) -> SqlNum: ...
        def vector(self, node: Node, what: str) -> str: ...
        def constant(self, node: Node, what: str) -> Any: ...
        @staticmethod
        def argument(node: Node, position: int, name: str) -> Node | None: ...
        def _state(self, request: StateRequest) -> Any: ...

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

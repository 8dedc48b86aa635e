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
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import transforms
from .intake import ColumnError, Factor, Frame, factor_of, level_label
from .rexpr import ExprError, Node, deparse

__all__ = ["Evaluator", "Numeric", "SUPPORTED", "LOGICAL_LEVELS"]

LOGICAL_LEVELS = ("FALSE", "TRUE")


@dataclass(frozen=True)
class Numeric:
    """n x k float64 values; ``suffixes`` name the columns of a matrix (``poly``), else None."""

    values: np.ndarray
    suffixes: tuple[str, ...] | None = None

    @property
    def k(self) -> int:
        return int(self.values.shape[1])


@dataclass(frozen=True)
class Logical:
    """A TRUE/FALSE variable (a comparison); a two-level factor in a model matrix."""

    values: np.ndarray  # float64 0/1, NaN where missing

    def as_factor(self) -> Factor:
        codes = np.where(np.isnan(self.values), -1, self.values).astype(np.int64)
        return Factor(codes, LOGICAL_LEVELS)


Value = Any  # Numeric | Logical | Factor | float | bool | str | tuple


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


class UnknownName(Exception):
    """A name in an expression that is not a column of the data."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


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


# -- the functions ---------------------------------------------------------------------------
def _one_argument(ev: Evaluator, node: Node, name: str) -> Node:
    if len(node.args) != 1 or node.kwargs:
        raise ExprError(f"{name}() takes one argument: {name}(x).")
    return node.args[0]


def _elementwise(function: Callable[[np.ndarray], np.ndarray]) -> Callable[..., Numeric]:
    def apply(ev: Evaluator, node: Node) -> Numeric:
        name = str(node.value)
        arg = _one_argument(ev, node, name)
        value = ev.value(arg)
        values = ev.as_numbers(value, arg, f"{name}()")
        with np.errstate(all="ignore"):
            out = function(values)
        suffixes = value.suffixes if isinstance(value, Numeric) else None
        return Numeric(out, suffixes)

    return apply


def _identity(ev: Evaluator, node: Node) -> Value:
    arg = _one_argument(ev, node, "I")
    value = ev.value(arg)
    if isinstance(value, (Numeric, Logical, Factor)):
        return value
    return Numeric(ev.as_numbers(value, arg, "I()"))


def _log(ev: Evaluator, node: Node) -> Numeric:
    x = ev.argument(node, 0, "x")
    if x is None or len(node.args) + len(node.kwargs) > 2:
        raise ExprError("log() takes log(x) or log(x, base).")
    values = ev.numeric(x, "log()")
    base = ev.argument(node, 1, "base")
    with np.errstate(all="ignore"):
        out = np.log(values)
        if base is not None:
            out = out / np.log(float(ev.constant(base, "The base of log()")))
    return Numeric(out)


def _as_numeric(integer: bool) -> Callable[..., Numeric]:
    def convert(ev: Evaluator, node: Node) -> Numeric:
        name = str(node.value)
        arg = _one_argument(ev, node, name)
        value = ev.value(arg)
        if isinstance(value, Factor):
            series = ev.frame.series(str(arg.value)) if arg.kind == "name" else None
            if value.levels == LOGICAL_LEVELS and (series is None or _is_bool(series)):
                out = np.where(value.codes >= 0, value.codes, np.nan).astype(float)
            elif series is not None and not hasattr(series, "cat"):
                out = _parse_numbers(ev, str(arg.value), name)  # text holding numbers
            else:  # R: as.numeric(f) of a factor gives its level codes 1, 2, ...
                out = np.where(value.codes >= 0, value.codes + 1.0, np.nan)
        else:
            out = ev.as_numbers(value, arg, f"{name}()")[:, 0]
        if integer:
            out = np.trunc(out)
        return Numeric(out[:, None])

    return convert


def _is_bool(series: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_bool_dtype(series.dtype)) or (
        series.dtype == object and series.dropna().map(type).isin([bool, np.bool_]).all()
    )


def _parse_numbers(ev: Evaluator, column: str, function: str) -> np.ndarray:
    import pandas as pd

    series = ev.frame.series(column)
    parsed = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(parsed) & ~ev.frame.missing(column)
    if bad.any():
        example = series[bad].iloc[0]
        raise ColumnError(
            f"{function}({column}): the column '{column}' has text that is not a number "
            f"({example!r} and {int(bad.sum()) - 1} more). Fix or drop those rows first."
        )
    return parsed


def _factor(ev: Evaluator, node: Node) -> Factor:
    name = str(node.value)
    x = ev.argument(node, 0, "x")
    extra = [k for k, _ in node.kwargs if k not in ("x", "levels")]
    if x is None or extra or len(node.args) > (2 if name == "factor" else 1):
        raise ExprError(
            f"{name}() is supported as {name}(x)"
            + (" or factor(x, levels = c(...))." if name == "factor" else ".")
        )
    value = ev.value(x)
    if isinstance(value, Logical):
        value = value.as_factor()
    if isinstance(value, Numeric):
        if value.k != 1:
            raise ExprError(f"{name}() needs a single variable, not {deparse(x)}.")
        import pandas as pd

        value = factor_of(pd.Series(value.values[:, 0]), deparse(x))
    if not isinstance(value, Factor):
        raise ExprError(f"{name}() needs a variable, not the constant {deparse(x)}.")
    levels = ev.argument(node, 1, "levels")
    if levels is None:
        return value
    wanted = ev.constant(levels, "levels")
    wanted = [level_label(w) for w in (wanted if isinstance(wanted, tuple) else (wanted,))]
    index = {level: k for k, level in enumerate(wanted)}
    remap = np.array([index.get(level, -1) for level in value.levels], dtype=np.int64)
    codes = np.where(value.codes >= 0, remap[np.maximum(value.codes, 0)], -1)
    return Factor(codes, tuple(wanted))


def _relevel(ev: Evaluator, node: Node) -> Factor:
    x, ref = ev.argument(node, 0, "x"), ev.argument(node, 1, "ref")
    if x is None or ref is None:
        raise ExprError('relevel() is supported as relevel(f, ref = "level").')
    value = ev.value(x)
    if isinstance(value, Logical):
        value = value.as_factor()
    if not isinstance(value, Factor):
        raise ExprError(f"relevel() needs a factor, but {deparse(x)} is numeric.",
                        hint="Use relevel(factor(x), ref = ...).")
    label = level_label(ev.constant(ref, "ref"))
    if label not in value.levels:
        raise ExprError(f"relevel(): {label!r} is not a level of {deparse(x)}; the levels "
                        f"are {list(value.levels)[:12]}.")
    k = value.levels.index(label)
    order = [k, *(i for i in range(len(value.levels)) if i != k)]
    remap = np.empty(len(order), dtype=np.int64)
    remap[order] = np.arange(len(order))
    codes = np.where(value.codes >= 0, remap[np.maximum(value.codes, 0)], -1)
    return Factor(codes, tuple(value.levels[i] for i in order))


def _combine(ev: Evaluator, node: Node) -> tuple:
    if node.kwargs:
        raise ExprError("c() takes constants only: c(\"a\", \"b\").")
    return tuple(ev.constant(a, "c()") for a in node.args)


def _poly(ev: Evaluator, node: Node) -> Numeric:
    x = ev.argument(node, 0, "x")
    extra = [k for k, _ in node.kwargs if k not in ("x", "degree", "raw")]
    if x is None or extra or len(node.args) > 3:
        raise ExprError("poly() is supported as poly(x, degree) or poly(x, degree, raw = TRUE).")
    degree_node = ev.argument(node, 1, "degree")
    degree = 1.0 if degree_node is None else ev.constant(degree_node, "The degree of poly()")
    if not isinstance(degree, float) or not degree.is_integer() or degree < 1:
        raise ExprError(f"The degree of poly() must be a whole number of at least 1, not "
                        f"{degree!r}.")
    k = int(degree)
    raw_node = ev.argument(node, 2, "raw")
    raw = False if raw_node is None else bool(ev.constant(raw_node, "raw"))
    values = ev.vector(x, "poly()")
    suffixes = tuple(str(i) for i in range(1, k + 1))
    if raw:
        return Numeric(np.column_stack([values**i for i in range(1, k + 1)]), suffixes)

    def learn() -> tuple[np.ndarray, np.ndarray]:
        present = values[~np.isnan(values)]
        if len(np.unique(present)) <= k:
            raise ExprError(
                f"poly({deparse(x)}, {k}): the degree must be less than the number of "
                f"distinct values ({len(np.unique(present))})."
            )
        return transforms.poly_coefficients(present, k)

    alpha, norm2 = ev.state(node, learn)
    return Numeric(transforms.poly_basis(values, alpha, norm2), suffixes)


def _scale(ev: Evaluator, node: Node) -> Numeric:
    x = ev.argument(node, 0, "x")
    extra = [k for k, _ in node.kwargs if k not in ("x", "center", "scale")]
    if x is None or extra or len(node.args) > 3:
        raise ExprError("scale() is supported as scale(x), scale(x, center = ..., scale = ...).")
    values = ev.vector(x, "scale()")
    center_node, scale_node = ev.argument(node, 1, "center"), ev.argument(node, 2, "scale")
    center = True if center_node is None else ev.constant(center_node, "center")
    scale = True if scale_node is None else ev.constant(scale_node, "scale")

    def learn() -> tuple[float, float]:
        return transforms.scale_parameters(values, center, scale)

    shift, spread = ev.state(node, learn)
    return Numeric(((values - shift) / spread)[:, None])


def _centring(name: str) -> Callable[..., Numeric]:
    grouped = name in ("cwc", "cm")

    def apply(ev: Evaluator, node: Node) -> Numeric:
        x = ev.argument(node, 0, "x")
        second = ev.argument(node, 1, "g" if grouped else "c")
        if x is None or (grouped and second is None) or len(node.args) > 2:
            usage = f"{name}(x, g)" if grouped else (f"{name}(x)" if name == "gmc" else
                                                     f"{name}(x, c)")
            raise ExprError(f"{name}() is used as {usage}.")
        values = ev.vector(x, f"{name}()")
        if grouped:
            g = ev.value(second)
            if isinstance(g, Numeric):
                import pandas as pd

                g = factor_of(pd.Series(g.values[:, 0]), deparse(second))
            if isinstance(g, Logical):
                g = g.as_factor()
            if not isinstance(g, Factor):
                raise ExprError(f"The grouping argument of {name}() must be a column.")
            keys = np.array([g.levels[c] if c >= 0 else None for c in g.codes], dtype=object)
            state = ev.state(node, lambda: transforms.cluster_means(
                values[ev.fit_rows], keys[ev.fit_rows], name))
            means = transforms.lookup_means(state, keys, name)
            return Numeric((values - means if name == "cwc" else means)[:, None])
        if name == "gmc" or second is None:
            state = ev.state(node, lambda: float(np.nanmean(values[ev.fit_rows])))
        else:
            c = ev.constant(second, f"The constant of {name}()")
            if not isinstance(c, float):
                raise ExprError(f"{name}(x, c): c must be a number, not {c!r}.")
            state = c
        return Numeric((values - state)[:, None])

    return apply


def _unsupported(message: str, hint: str) -> Callable[..., Any]:
    def refuse(ev: Evaluator | None, node: Node) -> Any:
        raise ExprError(message.format(call=deparse(node)), hint=hint)

    refuse.refuses = True  # type: ignore[attr-defined]
    return refuse


def check_calls(node: Node) -> None:
    """Refuse unsupported functions before any column is looked up (clearer than 'no column')."""
    if node.kind == "call":
        function = SUPPORTED.get(str(node.value))
        if function is None:
            raise ExprError(
                f"The function {node.value}() is not supported in formulas.",
                hint="Supported: " + ", ".join(sorted(n for n, f in SUPPORTED.items()
                                                      if not getattr(f, "refuses", False)))
                + ". Compute other transformations in a new column of the data first.",
            )
        if getattr(function, "refuses", False):
            function(None, node)
    for child in (*node.args, *(v for _, v in node.kwargs)):
        check_calls(child)


SUPPORTED: dict[str, Callable[[Evaluator, Node], Any]] = {
    "I": _identity,
    "log": _log,
    "log2": _elementwise(np.log2),
    "log10": _elementwise(np.log10),
    "log1p": _elementwise(np.log1p),
    "exp": _elementwise(np.exp),
    "expm1": _elementwise(np.expm1),
    "sqrt": _elementwise(np.sqrt),
    "abs": _elementwise(np.abs),
    "sin": _elementwise(np.sin),
    "cos": _elementwise(np.cos),
    "tan": _elementwise(np.tan),
    "floor": _elementwise(np.floor),
    "ceiling": _elementwise(np.ceil),
    "trunc": _elementwise(np.trunc),
    "as.numeric": _as_numeric(False),
    "as.double": _as_numeric(False),
    "as.integer": _as_numeric(True),
    "factor": _factor,
    "as.factor": _factor,
    "relevel": _relevel,
    "c": _combine,
    "poly": _poly,
    "scale": _scale,
    "cwc": _centring("cwc"),
    "cm": _centring("cm"),
    "gmc": _centring("gmc"),
    "center": _centring("center"),
    "ordered": _unsupported(
        "{call}: ordered factors (R's polynomial contrasts) are not supported.",
        "Use factor(...) for treatment contrasts, or poly() of a numeric score.",
    ),
    "C": _unsupported(
        "{call}: C() contrasts are not supported; factors use R's treatment contrasts.",
        "Use factor(x) or relevel(factor(x), ref = ...) to choose the reference level.",
    ),
    "offset": _unsupported(
        "{call}: offset() is a term of its own and cannot be inside another expression.",
        "Add it to the formula: y ~ x + offset(z) + (1 | g).",
    ),
}

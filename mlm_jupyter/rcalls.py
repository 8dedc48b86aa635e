"""The functions formulas may call, as R computes them (``log``, ``poly``, ``factor``, ...).

Each takes the :class:`~mlm_jupyter.rfunctions.Evaluator` and the call's node.  ``SUPPORTED``
maps R names to them; R idioms we deliberately do not support (``C``, a nested
``offset``) raise a message saying what to write instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import transforms
from .intake import ColumnError, Factor, factor_of, level_label
from .rexpr import ExprError, Node, deparse
from .rvalues import LOGICAL_LEVELS, Logical, Numeric, Value

if TYPE_CHECKING:  # pragma: no cover
    from .rfunctions import Evaluator

__all__ = ["SUPPORTED", "check_calls"]


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


def _cbind(ev: Evaluator, node: Node) -> Numeric:
    """``cbind(successes, failures)``: the two-column binomial response (GLMMs)."""
    if len(node.args) != 2 or node.kwargs:
        raise ExprError("cbind() on the left of '~' takes two columns: cbind(successes, "
                        "failures).")
    columns = [ev.numeric(arg, "cbind()") for arg in node.args]
    return Numeric(np.hstack([c[:, :1] for c in columns]))


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
    if x is None or extra or len(node.args) > (2 if name in ("factor", "ordered") else 1):
        raise ExprError(
            f"{name}() is supported as {name}(x)"
            + (f" or {name}(x, levels = c(...))." if name in ("factor", "ordered") else ".")
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
    # R: factor() and as.factor() keep an ordered factor ordered; ordered() makes one.
    ordered = value.ordered or name == "ordered"
    levels = ev.argument(node, 1, "levels")
    if levels is None:
        return Factor(value.codes, value.levels, ordered)
    wanted = ev.constant(levels, "levels")
    wanted = [level_label(w) for w in (wanted if isinstance(wanted, tuple) else (wanted,))]
    index = {level: k for k, level in enumerate(wanted)}
    remap = np.array([index.get(level, -1) for level in value.levels], dtype=np.int64)
    codes = np.where(value.codes >= 0, remap[np.maximum(value.codes, 0)], -1)
    return Factor(codes, tuple(wanted), ordered)


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
    if value.ordered:
        raise ExprError(f"relevel() is for unordered factors, but {deparse(x)} is ordered "
                        "(R: 'relevel' only for unordered factors).",
                        hint="Reorder its levels with factor(x, levels = c(...)) instead.")
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
            function(None, node)  # type: ignore[arg-type]  # refusers never read the evaluator
    for child in (*node.args, *(v for _, v in node.kwargs)):
        check_calls(child)


SUPPORTED: dict[str, Callable[[Evaluator, Node], Any]] = {
    "I": _identity,
    "cbind": _cbind,
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
    "ordered": _factor,
    "C": _unsupported(
        "{call}: C() contrasts are not supported; factors use R's treatment contrasts.",
        "Use factor(x) or relevel(factor(x), ref = ...) to choose the reference level.",
    ),
    "offset": _unsupported(
        "{call}: offset() is a term of its own and cannot be inside another expression.",
        "Add it to the formula: y ~ x + offset(z) + (1 | g).",
    ),
}

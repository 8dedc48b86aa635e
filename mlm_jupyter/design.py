"""ModelSpec + data -> Design: validated arrays for the engine.

Everything that can be wrong with the user's data is caught here, with a message that
names the column, so the engine only ever sees finite, well-formed arrays.  The data is read
through :mod:`.intake` (any frame, numbers as float64, factors with string levels); every
formula part (response, fixed part, each bar's left side) is expanded by R's rules
(:mod:`.rterms`) and its model matrix built as R's ``model.matrix`` (:mod:`.model_matrix`):
one path for every formula.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .design_checks import (
    check_identifiable,
    check_term_rank,
    drop_aliased,
    finite_or_raise,
    grouping_factor,
    lme4_term_order,
)
from .formula import FormulaError, unknown_column_error
from .intake import Frame, as_pandas
from .model_matrix import MatrixSpec, build_matrix
from .rexpr import ExprError, Node, parse_expr
from .rfunctions import Evaluator, Numeric, UnknownName, check_calls
from .rterms import Terms, TermsError, expand
from .spec import ModelSpec

__all__ = ["Design", "RandomBlock", "build_design", "model_parts", "used_frame",
           "variable_values"]


@dataclass(frozen=True)
class RandomBlock:
    """Design of one random term ``(expr | group)``.

    Attributes
    ----------
    group : str
        lme4's name of the grouping factor (``"school"``, ``"cask:batch"``).
    columns : tuple of str
        Names of the term's columns (``("(Intercept)", "cses")``).
    codes : ndarray of int, shape (n,)
        Level index of every observation.
    levels : tuple of str
        Level names (strings), in R's factor order.
    Z : ndarray, shape (n, q)
        The term's raw model matrix (one row per observation, before expansion by level).
    correlated : bool
        False for the pieces of an ``||`` term.
    model_spec : MatrixSpec
        Model-matrix recipe of the left side (levels, learnt constants), for new data.
    """

    group: str
    columns: tuple[str, ...]
    codes: np.ndarray
    levels: tuple[str, ...]
    Z: np.ndarray
    correlated: bool
    model_spec: MatrixSpec = field(repr=False, compare=False)

    @property
    def q(self) -> int:
        return len(self.columns)

    @property
    def group_columns(self) -> tuple[str, ...]:
        """Data columns whose interaction defines the grouping factor."""
        return tuple(part.strip().strip("()") for part in self.group.split(":"))

    @property
    def n_levels(self) -> int:
        return len(self.levels)


@dataclass(frozen=True)
class Design:
    """Validated arrays of a model (the engine's only input besides θ).

    Attributes
    ----------
    y : ndarray (n,)
    X : ndarray (n, p)
        Full-rank fixed-effects matrix (aliased columns already dropped).
    fixed_names : tuple of str
        Column names of X in R's ``model.matrix`` order.
    terms : tuple of RandomBlock
        Random terms in lme4's order (decreasing number of levels).
    row_index : pandas.Index
        Index labels of the user's rows that were used.
    n_dropped : int
        Rows dropped for missing values.
    dropped_columns : tuple of str
        Fixed-effect columns dropped as linearly dependent on earlier ones.
    messages : tuple of str
        Notes for the user (dropped rows, dropped columns).
    fixed_model_spec : MatrixSpec
        Model-matrix recipe of the fixed part, for new data.
    variables : tuple of str
        Data columns the model reads (response first).
    offset : ndarray (n,) or None
        Sum of the ``offset()`` terms (lme4's fixed known part of the linear predictor);
        ``y`` then holds the response *minus* the offset, so the engine fits
        ``y - offset = X beta + Z b + e`` exactly as lme4 (a GLMM's ``y`` is the response
        itself: its offset enters the linear predictor).
    rows : ndarray of bool or None
        Rows of the data used (None: all).
    """

    spec: ModelSpec
    y: np.ndarray
    X: np.ndarray
    fixed_names: tuple[str, ...]
    terms: tuple[RandomBlock, ...]
    row_index: pd.Index
    n_dropped: int
    dropped_columns: tuple[str, ...]
    messages: tuple[str, ...]
    fixed_model_spec: MatrixSpec = field(repr=False, compare=False)
    variables: tuple[str, ...] = ()
    offset: np.ndarray | None = field(default=None, repr=False, compare=False)
    rows: np.ndarray | None = field(default=None, repr=False, compare=False)
    # GLMM inputs (None for a linear mixed model): the trials of a cbind(successes,
    # failures) response (y is then the proportion) and the prior weights.
    trials: np.ndarray | None = field(default=None, repr=False, compare=False)
    weights: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])


@dataclass(frozen=True)
class ModelParts:
    """The expanded formula parts of a spec (R's rules), before any data is read."""

    response: Node
    fixed: Terms
    random: tuple[Terms, ...]


def model_parts(spec: ModelSpec) -> ModelParts:
    """Expand every formula part of ``spec``; problems become FormulaErrors with a caret."""
    try:
        response = parse_expr(spec.response)
        fixed = expand(spec.fixed)
        random = tuple(expand(term.expr) for term in spec.random)
    except TermsError as err:
        raise FormulaError(err.message, spec.formula, _where(spec.formula, err.token), err.hint,
                           title="Unsupported term") from None
    except ExprError as err:
        raise FormulaError(err.message, spec.formula, None, err.hint,
                           title="Unsupported expression") from None
    nodes = [response, *fixed.nodes, *fixed.offset_nodes, *(n for p in random for n in p.nodes)]
    for node in nodes:
        try:
            check_calls(node)
        except ExprError as err:
            raise FormulaError(err.message, spec.formula, None, err.hint,
                               title="Unsupported expression") from None
    if not fixed.intercept and not fixed.terms:
        raise FormulaError(
            "The model has no fixed effects, so the mean of the response is forced to 0.",
            spec.formula, None,
            "Keep the intercept (remove the 0 or -1): the random effects then vary around "
            "an estimated mean, which is what lme4 users nearly always mean.",
            title="No fixed effects",
        )
    seen: set[tuple[str, str]] = set()
    for term in spec.random:
        key = (term.expr, term.group)
        if key in seen:
            raise FormulaError(
                f"The random-effects term ({term.expr} | {term.group}) appears twice; its "
                "variance cannot be split between two identical terms.",
                spec.formula, None, "Keep one copy of the term.",
                title="Repeated random-effects term",
            )
        seen.add(key)
    for term, part in zip(spec.random, random, strict=True):
        if part.offsets:
            raise FormulaError(
                f"offset() cannot be inside the random-effects term ({term.expr} | {term.group}).",
                spec.formula, _where(spec.formula, "offset("),
                "Put it in the fixed part: y ~ x + offset(z) + (1 | g).",
                title="Misplaced offset",
            )
    return ModelParts(response, fixed, random)


def _where(formula: str, text: str) -> int | None:
    at = formula.find(text)
    return at if at >= 0 else None


def _used_columns(spec: ModelSpec, parts: ModelParts, frame: Frame) -> list[str]:
    """Every data column the model reads, response first; unknown names raise FormulaError."""
    names: list[str] = []

    def add(name: str) -> None:
        if name not in names:
            names.append(name)

    for name in parts.response.names():
        add(name)
    for part in (parts.fixed, *parts.random):
        for node in (*part.nodes, *part.offset_nodes):
            for name in node.names():
                add(name)
    for term in spec.random:
        for name in term.group_columns:
            add(name)
    columns = [n for n in names if n in frame or n not in ("pi", "T", "F")]
    for name in columns:
        if name not in frame:
            raise unknown_column_error(spec.formula, name, frame.names)
    return columns


def _check_response(spec: ModelSpec, parts: ModelParts) -> None:
    from .rexpr import deparse

    response = deparse(parts.response)
    if response in parts.fixed.variables or any(response in p.variables for p in parts.random):
        raise FormulaError(
            f"The response {response} also appears among the predictors.",
            spec.formula, _where(spec.formula[spec.formula.find("~"):], response),
            "A variable cannot predict itself: remove it from the right of '~'.",
            title="Response used as a predictor",
        )


def build_design(spec: ModelSpec, data: Any, *, glmm: bool = False,
                 weights: Any = None) -> Design:
    """Validate ``data`` against ``spec`` and build the engine's arrays.

    Parameters
    ----------
    spec : ModelSpec
        Parsed formula.
    data : pandas.DataFrame or any frame narwhals supports
        The user's data; never modified.
    glmm : bool
        The design of a GLMM: the response may be ``cbind(successes, failures)``, the
        offset is not subtracted from y, and a grouping factor may have one row per level
        (observation-level random effects: there is no residual variance to confound).
    weights : array-like, optional
        GLMM prior weights, one per row of ``data``.

    Returns
    -------
    Design

    Raises
    ------
    FormulaError
        A variable is not a column of ``data`` (with the closest names), an unsupported
        function or term.
    ValueError
        Empty data, unusable columns (named), infinite values, a grouping factor with fewer
        than two levels, or more random effects than observations.
    """
    frame_data = as_pandas(data)
    if len(frame_data) == 0:
        raise ValueError("The data frame is empty: there are no rows to fit the model to.")
    parts = model_parts(spec)
    _check_response(spec, parts)
    frame = Frame(frame_data)
    used = _used_columns(spec, parts, frame)
    missing = np.zeros(frame.n, dtype=bool)
    for name in used:
        missing |= frame.missing(name)
    states: dict[str, Any] = {}
    evaluator = Evaluator(frame, states, ~missing)
    try:
        return _build(spec, parts, frame, used, missing, evaluator, states, glmm, weights)
    except UnknownName as err:
        raise unknown_column_error(spec.formula, err.name, frame.names) from None
    except ExprError as err:
        raise FormulaError(err.message, spec.formula, None, err.hint,
                           title="Unsupported expression") from None


def _build(
    spec: ModelSpec,
    parts: ModelParts,
    frame: Frame,
    used: list[str],
    missing: np.ndarray,
    evaluator: Evaluator,
    states: dict[str, Any],
    glmm: bool = False,
    weights: Any = None,
) -> Design:
    response = evaluator.value(parts.response)
    from .rexpr import deparse

    label = deparse(parts.response)
    two_columns = parts.response.kind == "call" and str(parts.response.value) == "cbind"
    if two_columns and not glmm:
        raise ValueError(
            f"The response {label} is a binomial response (successes, failures): add "
            "family='binomial'."
        )
    if not isinstance(response, Numeric) or response.k != (2 if two_columns else 1):
        raise ValueError(
            f"The response '{label}' is not numeric; a linear mixed model needs a numeric "
            "outcome. Convert it, e.g. with pd.to_numeric (or 0/1 for a binary outcome)."
        )
    # Variables can be missing where their columns are not (factor(x, levels = ...)).
    for part in (parts.fixed, *parts.random):
        for node in part.nodes:
            value = evaluator.value(node)
            codes = getattr(value, "codes", None)
            if codes is not None:
                missing = missing | (codes < 0)
    n_dropped = int(missing.sum())
    keep = ~missing
    n_used = frame.n - n_dropped
    if n_used == 0:
        raise ValueError(
            f"Every row has a missing value in at least one of {used}; nothing is left to fit."
        )
    messages = []
    if n_dropped:
        messages.append(f"{n_dropped} row(s) with missing values dropped ({n_used} used).")
    rows = keep if n_dropped else None
    trials = None
    if two_columns:
        y, trials = _cbind_response(response.values[keep], label)
    else:
        y = response.values[keep, 0]
    finite_or_raise(y[:, None], (label,), "response")
    X, x_spec, _ = build_matrix(parts.fixed, evaluator, rows, states)
    finite_or_raise(X, x_spec.column_names, "fixed effect")
    offset = None
    if parts.fixed.offsets:
        offset = np.zeros(n_used)
        for text, node in zip(parts.fixed.offsets, parts.fixed.offset_nodes, strict=True):
            values = evaluator.vector(node, "offset()")[keep]
            finite_or_raise(values[:, None], (f"offset({text})",), "offset")
            offset = offset + values
        if not glmm:
            y = y - offset
    X, fixed_names, dropped_cols = drop_aliased(X, x_spec.column_names)
    if dropped_cols:
        messages.append(
            "fixed-effect model matrix is rank deficient so dropping "
            f"{len(dropped_cols)} column(s): {', '.join(dropped_cols)}"
        )
    if X.shape[1] == 0:
        raise ValueError(
            "No fixed-effect column is left after dropping the aliased ones; keep the "
            "intercept or a predictor that varies."
        )
    blocks = []
    for term, part in zip(spec.random, parts.random, strict=True):
        Z, z_spec, _ = build_matrix(part, evaluator, rows, states)
        if not np.isfinite(Z).all():
            raise ValueError(
                f"The random term ({term.expr} | {term.group}) has infinite or undefined values."
            )
        codes, levels = grouping_factor(frame, term, keep)
        # A GLMM has no residual variance, so one row per level is identified (glmer).
        check_identifiable(term, len(levels), Z.shape[1], sys.maxsize if glmm else n_used)
        check_term_rank(term, Z, tuple(z_spec.column_names))
        blocks.append(RandomBlock(term.group, z_spec.column_names, _frozen(codes), levels,
                                  _frozen(Z), term.correlated, z_spec))
    order = lme4_term_order([b.n_levels for b in blocks])
    index = frame.data.index
    return Design(
        spec=spec,
        y=_frozen(y),
        X=_frozen(np.ascontiguousarray(X)),
        fixed_names=tuple(fixed_names),
        terms=tuple(blocks[i] for i in order),
        row_index=index if rows is None else index[rows],
        n_dropped=n_dropped,
        dropped_columns=tuple(dropped_cols),
        messages=tuple(messages),
        fixed_model_spec=x_spec,
        variables=tuple(used),
        offset=None if offset is None else _frozen(offset),
        rows=None if rows is None else _frozen(rows),
        trials=None if trials is None else _frozen(trials),
        weights=_prior_weights(weights, frame.n, keep),
    )


def _cbind_response(values: np.ndarray, label: str) -> tuple[np.ndarray, np.ndarray]:
    """``cbind(successes, failures)`` -> (proportion, trials); 0 where there are no trials."""
    if np.any(values < 0):
        raise ValueError(
            f"The response {label} has negative counts ({int((values < 0).sum())} value(s)); "
            "successes and failures must be counts >= 0."
        )
    trials = values.sum(axis=1)
    prop = np.divide(values[:, 0], trials, out=np.zeros(len(trials)), where=trials > 0)
    return prop, trials


def _prior_weights(weights: Any, n_rows: int, keep: np.ndarray) -> np.ndarray | None:
    """The prior weights of the rows used; finite and >= 0, one per row of the data."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=float).ravel()
    if w.size != n_rows:
        raise ValueError(
            f"weights has {w.size} values for {n_rows} rows of data; give one per row."
        )
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise ValueError(f"weights must be finite and >= 0 ({int(bad.sum())} value(s) are not).")
    return _frozen(w[keep])


def _frozen(values: np.ndarray) -> np.ndarray:
    """A read-only array: the result's arrays cannot be edited behind its back."""
    values = np.array(values, copy=True) if values.base is not None else values
    values.flags.writeable = False
    return values


def used_frame(data: Any, design: Design) -> pd.DataFrame:
    """A copy of the rows and columns of ``data`` that ``design`` was built from.

    Columns are named as in the formula (strings) and every column is copied: the result
    never shares memory with the user's frame.
    """
    frame = Frame(as_pandas(data))
    keep = design.rows
    columns = {}
    for name in design.variables:
        values = frame.series(name).array
        columns[name] = values.copy() if keep is None else values[keep]
    index = frame.data.index if keep is None else frame.data.index[keep]
    return pd.DataFrame(columns, index=index, copy=False)


def variable_values(res: Any, text: str) -> np.ndarray | None:
    """A numeric formula variable (``"ses"``, ``"cwc(ses, school)"``) on the fitted rows.

    Returns the (n, k) values with the fit's learnt constants, or None for a factor or an
    expression that cannot be evaluated alone.
    """
    try:
        node = parse_expr(text)
        frame = Frame(res.data)
        value = Evaluator(frame, dict(res.design.fixed_model_spec.states), None).value(node)
    except Exception:  # an expression we cannot evaluate alone gets no advice
        return None
    return value.values if isinstance(value, Numeric) else None

"""NumPy model matrices for "plain" numeric formulas, without formulaic.

Most models are written with bare numeric columns only (``Days``, ``cses * catholic +
meanses``, ``0 + x + z``).  For those, formulaic's parse-and-materialise machinery costs
milliseconds while the matrix is a handful of column products.  This module recognises
such formulas, expands them into terms exactly as formulaic does (so names, order and
values are identical) and builds the matrices with NumPy.  Anything it does not
recognise returns ``None`` and :func:`mlm_jupyter.design.build_design` uses formulaic.

A formula part is *plain* when it is a sum (``+``) of ``1``, ``0``, ``-1`` and products of
bare column names with ``*`` and ``:``, and every column is a numeric (int/float) NumPy
dtype of the data.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .spec import ModelSpec

Term = tuple[str, ...]
"""Factors of one term in formulaic's order; ``()`` is the intercept."""

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<num>[01])(?![\w.])|(?P<op>[-+*:]))"
)


def _tokens(text: str) -> list[str] | None:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            return None
        token = match.group(match.lastgroup or "")
        if match.lastgroup == "name" and keyword.iskeyword(token):
            return None
        out.append(token)
        pos = match.end()
    return out


def _merge_signs(tokens: list[str]) -> list[str]:
    """Collapse runs of ``+``/``-`` by the parity of ``-`` (as formulaic does)."""
    out: list[str] = []
    for token in tokens:
        if token in "+-" and out and out[-1] in "+-":
            out[-1] = "-" if (out[-1] == "-") != (token == "-") else "+"
        else:
            out.append(token)
    return out


def _product(left: list[Term], right: list[Term]) -> list[Term]:
    """formulaic's ``*``: ``L + R + L:R`` (pairs in ``itertools.product`` order), unique."""
    combined = [*left, *right, *(tuple(dict.fromkeys(lt + rt)) for lt in left for rt in right)]
    return _unique(combined)


def _unique(terms: Sequence[Term]) -> list[Term]:
    """Keep the first of terms with the same set of factors (``a:b`` is ``b:a``)."""
    seen: dict[frozenset[str], Term] = {}
    for term in terms:
        seen.setdefault(frozenset(term), term)
    return list(seen.values())


@dataclass(frozen=True)
class PlainFormula:
    """The expanded terms of one plain formula part.

    Attributes
    ----------
    intercept : bool
        Whether the part has an intercept column.
    terms : tuple of tuple of str
        Non-intercept terms in model-matrix order (by degree, first appearance within a
        degree), each with its factors in formulaic's order (the first spelling written).
    """

    intercept: bool
    terms: tuple[Term, ...]

    @property
    def variables(self) -> set[str]:
        """Column names the part reads."""
        return {name for term in self.terms for name in term}

    def column_names(self) -> tuple[str, ...]:
        """R's ``model.matrix`` names, as ``formulaic_terms.r_style_names`` gives them.

        Inside an interaction the variables are ordered by their first appearance in the
        expanded terms (R's rule, which ``r_style_names`` applies to formulaic's names).
        """
        order: dict[str, int] = {}
        for term in self.terms:
            for name in term:
                order.setdefault(name, len(order))
        names = ["(Intercept)"] if self.intercept else []
        names += [":".join(sorted(term, key=order.__getitem__)) for term in self.terms]
        return tuple(names)

    def matrix(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Model matrix (n x p, float64): ones, then each term's product of columns.

        Products are taken left to right in the term's factor order and in the columns'
        own dtypes before the cast to float64, as formulaic does, so values are identical
        to the last bit.
        """
        out = np.empty((n, int(self.intercept) + len(self.terms)), dtype=np.float64)
        if self.intercept:
            out[:, 0] = 1.0
        for j, term in enumerate(self.terms, start=int(self.intercept)):
            out[:, j] = functools.reduce(np.multiply, (columns[name] for name in term))
        return out


@functools.lru_cache(maxsize=512)
def parse_plain(text: str) -> PlainFormula | None:
    """Expand a plain formula part, or return ``None`` if it is not plain.

    Parameters
    ----------
    text : str
        One side of a formula as formulaic text (``"1 + Days"``, ``"cses*catholic + meanses"``).

    Returns
    -------
    PlainFormula or None
        ``None`` for anything else: parentheses, calls, ``^``, ``-x``, backticks, numbers
        other than a summand ``0``/``1``, keywords.

    Notes
    -----
    This follows formulaic's own token rules: ``0`` becomes ``-1``, ``1 +`` is prepended,
    runs of ``+``/``-`` are collapsed, then ``+`` is an ordered set union and ``-1`` removes
    the intercept, left to right.  ``:`` binds tighter than ``*``; ``X * Y = X + Y + X:Y``.
    """
    tokens = _tokens(text)
    if not tokens:
        return None
    expanded: list[str] = []
    for token in tokens:
        expanded += ["-", "1"] if token == "0" else [token]
    tokens = _merge_signs(["1", "+", *expanded])

    terms: dict[frozenset[str], Term] = {}
    sign, pos = "+", 0
    while pos < len(tokens):
        token = tokens[pos]
        if token == "1":
            pos += 1
            if sign == "+":
                terms.setdefault(frozenset(), ())
            else:
                terms.pop(frozenset(), None)
        elif sign == "+" and _is_name(token):
            product: list[Term] | None = None
            while True:  # one '*' operand: names joined by ':'
                names = [tokens[pos]]
                pos += 1
                while pos + 1 < len(tokens) and tokens[pos] == ":" and _is_name(tokens[pos + 1]):
                    names.append(tokens[pos + 1])
                    pos += 2
                group = [tuple(dict.fromkeys(names))]
                product = group if product is None else _product(product, group)
                if pos + 1 < len(tokens) and tokens[pos] == "*" and _is_name(tokens[pos + 1]):
                    pos += 1
                    continue
                break
            for term in product:
                terms.setdefault(frozenset(term), term)
        else:
            return None
        if pos == len(tokens):
            break
        if tokens[pos] not in "+-" or pos + 1 == len(tokens):
            return None
        sign, pos = tokens[pos], pos + 1
    intercept = frozenset() in terms
    ordered = sorted((t for t in terms.values() if t), key=len)  # stable: first appearance
    return PlainFormula(intercept, tuple(ordered))


_SYMBOLS = frozenset({"+", "-", "*", ":", "0", "1"})


def _is_name(token: str) -> bool:
    return token not in _SYMBOLS


def _numeric(values: Any) -> bool:
    """A NumPy int/float dtype (not bool, nullable extension, object, category, datetime)."""
    return isinstance(values.dtype, np.dtype) and values.dtype.kind in "iuf"


class Matrices(NamedTuple):
    """Model matrices of a design before validation (from formulaic or from NumPy)."""

    y: np.ndarray
    y_names: tuple[str, ...]
    X: np.ndarray
    x_names: tuple[str, ...]
    x_spec: Any
    random: list[tuple[np.ndarray, tuple[str, ...], Any]]


@dataclass(frozen=True)
class PlainModel:
    """All parts of a :class:`ModelSpec` as plain formulas.

    Attributes
    ----------
    response : str
        The response column.
    fixed : PlainFormula
    random : tuple of PlainFormula
        Left sides of the random terms, in ``spec.random`` order.
    used : tuple of str
        Every column the model reads, in :func:`mlm_jupyter.formulaic_terms.check_columns`' order.
    columns : dict of str to pandas.Series
        The user's columns named in ``used`` (looked up once; never modified).
    """

    response: str
    fixed: PlainFormula
    random: tuple[PlainFormula, ...]
    used: tuple[str, ...]
    columns: Mapping[str, pd.Series] = field(repr=False, compare=False)

    @property
    def numeric(self) -> tuple[str, ...]:
        """Columns that enter a model matrix (the response included)."""
        names = {self.response} | self.fixed.variables
        for part in self.random:
            names |= part.variables
        return tuple(n for n in self.used if n in names)

    def matrices(self, spec: ModelSpec, keep: np.ndarray | None) -> Matrices:
        """y, X and every Z on the rows ``keep`` (all rows if None), as formulaic builds them.

        The model specs are :class:`LazyModelSpec` stand-ins holding two used rows.
        """
        arrays = {}
        for name in self.numeric:
            values = self.columns[name].to_numpy()
            arrays[name] = values if keep is None else values[keep]
        n = len(arrays[self.response])

        def lazy(text: str, part: PlainFormula) -> LazyModelSpec:
            sample = {v: arrays[v][:2].copy() for v in part.variables}
            return LazyModelSpec(text, sample, min(n, 2))

        random = [
            (part.matrix(arrays, n), part.column_names(), lazy(term.expr, part))
            for term, part in zip(spec.random, self.random, strict=True)
        ]
        return Matrices(
            arrays[self.response].astype(np.float64).reshape(n, 1),
            (self.response,),
            self.fixed.matrix(arrays, n),
            self.fixed.column_names(),
            lazy(spec.fixed, self.fixed),
            random,
        )


def plain_model(
    spec: ModelSpec, data: pd.DataFrame, context: Mapping[str, Any]
) -> PlainModel | None:
    """The plain reading of ``spec`` on ``data``, or ``None`` if formulaic is needed.

    ``None`` also when a column is missing, not numeric, or shadowed by a name of the
    formula context: the formulaic path then gives its usual result or error.
    """
    response = spec.response.strip()
    parsed_response = parse_plain(f"0 + {response}")
    if parsed_response is None or parsed_response.terms != ((response,),):
        return None
    fixed = parse_plain(spec.fixed)
    random = [parse_plain(term.expr) for term in spec.random]
    if fixed is None or any(part is None for part in random):
        return None
    if not data.columns.is_unique:
        return None
    used = [response]
    used += sorted(fixed.variables - set(used))
    for term, part in zip(spec.random, random, strict=True):
        used += sorted(part.variables - set(used))  # type: ignore[union-attr]
        used += [g for g in term.group_columns if g not in used]
    present = set(data.columns)
    if any(name not in present or name in context for name in used):
        return None
    columns = {name: data[name] for name in used}
    model = PlainModel(response, fixed, tuple(random), tuple(used), columns)  # type: ignore[arg-type]
    if not all(_numeric(columns[name]) for name in model.numeric):
        return None
    return model


class LazyModelSpec:
    """Stand-in for a formulaic ``ModelSpec``, built on first use.

    Predictions and advice need formulaic's spec; most fits never ask for it.  For a plain
    numeric formula the spec holds no data-dependent state, so building it from two rows
    of the used data is exact; only those rows are kept.

    Parameters
    ----------
    text : str
        The formula part (formulaic text).
    sample : dict of str to ndarray
        A few rows of every column the part reads.
    n_rows : int
        Number of sample rows (the part may read no column: ``"1"``).
    """

    __slots__ = ("_text", "_sample", "_n_rows", "_spec")

    def __init__(self, text: str, sample: dict[str, np.ndarray], n_rows: int):
        self._text = text
        self._sample = sample
        self._n_rows = n_rows
        self._spec: Any = None

    def _build(self) -> Any:
        if self._spec is None:
            from formulaic import model_matrix

            from .naming import to_formulaic
            from .transforms import formula_context

            frame = pd.DataFrame(self._sample, index=pd.RangeIndex(self._n_rows))
            mm = model_matrix(
                to_formulaic(self._text), frame, context=formula_context(), na_action="ignore"
            )
            self._spec = mm.model_spec
        return self._spec

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy/pickle probe dunders: never build for those
            raise AttributeError(name)
        return getattr(self._build(), name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (LazyModelSpec, (self._text, self._sample, self._n_rows))

    def __repr__(self) -> str:
        return f"LazyModelSpec({self._text!r})"

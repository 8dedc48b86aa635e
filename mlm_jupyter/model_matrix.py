"""R's ``model.matrix`` for one formula part: contrasts, column order and names as R.

The coding rule is R's (``TermCode`` in R's ``model.c``): in a term, a factor is coded by
treatment contrasts when the term without it is empty or contained in an earlier term, and
by indicator columns for every level otherwise; without an intercept the first factor of the
first term holding a factor gets indicators.  So ``y ~ f1:f2`` has an intercept and one
column per level combination (lme4 then drops the aliased ones), ``y ~ x:f`` one slope per
level, ``0 + f`` a column per level.  Columns of an interaction vary the first variable
fastest; names are ``<variable><level>`` joined with ``:`` (``x:fb``, ``poly(x, 2)1``).
An ordered factor's contrasts are R's ``contr.poly`` (columns ``f.L``, ``f.Q``, ``f.C``,
``f^4``, ...); where it gets indicators they are per level, as for any factor.

:class:`MatrixSpec` keeps what the fit learnt (factor levels, ``poly``/``scale``/centring
constants) so :meth:`MatrixSpec.matrix` builds the same columns on new data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from .intake import Factor, drop_unused
from .rfunctions import LOGICAL_LEVELS, Evaluator, Logical, Numeric
from .rterms import Terms

__all__ = ["MatrixSpec", "VariableInfo", "build_matrix", "NewLevelsError"]


class NewLevelsError(ValueError):
    """New data has levels of a fixed-effect factor that the fit did not see."""


@dataclass(frozen=True)
class VariableInfo:
    """What the fit learnt about one variable of a formula part.

    ``levels`` is None for a numeric variable (``suffixes`` then name its columns when it is a
    matrix such as ``poly(x, 2)``); ``ordered`` marks an ordered factor (polynomial contrasts).
    """

    name: str
    levels: tuple[str, ...] | None
    suffixes: tuple[str, ...] | None = None
    ordered: bool = False

    @property
    def is_factor(self) -> bool:
        return self.levels is not None


@dataclass(frozen=True)
class MatrixSpec:
    """A formula part's model-matrix recipe, replayable on new data.

    Attributes
    ----------
    terms : Terms
        The expanded formula part.
    variables : tuple of VariableInfo
        Per variable of ``terms``: kind, training levels, matrix column suffixes.
    codes : tuple of tuple of int
        Per term, per variable of the term: 1 contrasts, 2 indicator columns (R's codes).
    column_names : tuple of str
        R's column names, in model-matrix order (before aliased columns are dropped).
    states : dict
        Learnt constants of stateful calls, shared by every part of one model.
    assign : tuple of int
        R's ``assign`` attribute: per column, 0 for the intercept and k for the k-th term.
    """

    terms: Terms
    variables: tuple[VariableInfo, ...]
    codes: tuple[tuple[int, ...], ...]
    column_names: tuple[str, ...]
    states: Mapping[str, Any] = field(repr=False, compare=False)
    assign: tuple[int, ...] = ()

    @property
    def term_labels(self) -> tuple[str, ...]:
        return self.terms.labels()

    def term_variables(self) -> list[tuple[str, ...]]:
        """Each term's variable texts (``[("x",), ("x", "f")]``)."""
        return [tuple(self.terms.variables[v] for v in term) for term in self.terms.terms]

    def matrix(self, evaluator: Evaluator, rows: np.ndarray | None = None) -> np.ndarray:
        """The model matrix on new data (training levels and constants); NaN rows for NA.

        Raises
        ------
        NewLevelsError
            A factor value that the fit did not see (naming the variable and the levels).
        """
        values = [
            _replay(info, evaluator.value(node), rows)
            for info, node in zip(self.variables, self.terms.nodes, strict=True)
        ]
        n = evaluator.n if rows is None else int(np.count_nonzero(rows))
        return _assemble(self, values, n)[0]

    def matrix_and_spec(self, evaluator: Evaluator) -> tuple[np.ndarray, MatrixSpec]:
        """The model matrix on ``evaluator``'s rows and this recipe with its columns' names
        and ``assign`` filled in.

        For a recipe changed after the fit (other codes or codings, as the anova
        hypotheses need), whose ``column_names`` no longer describe its columns.
        """
        values = [
            _replay(info, evaluator.value(node), None)
            for info, node in zip(self.variables, self.terms.nodes, strict=True)
        ]
        X, names, assign = _assemble(self, values, evaluator.n)
        return X, replace(self, column_names=tuple(names), assign=tuple(assign))


def _replay(info: VariableInfo, value: Any, rows: np.ndarray | None) -> Any:
    """A variable on new data, coded with the training levels."""
    if isinstance(value, Logical):
        value = value.as_factor()
    if info.levels is None:
        if isinstance(value, Factor):
            raise NewLevelsError(
                f"'{info.name}' was numeric in the fit but is categorical (or text) in the new "
                "data; give it the same type."
            )
        return value.values if rows is None else value.values[rows]
    if not isinstance(value, Factor):
        import pandas as pd

        from .intake import factor_of

        value = factor_of(pd.Series(value.values[:, 0]), info.name)
    codes = value.codes if rows is None else value.codes[rows]
    index = {level: k for k, level in enumerate(info.levels)}
    labels = value.levels
    if info.levels == LOGICAL_LEVELS:  # True/"true"/1 for a logical of the fit
        labels = tuple(_LOGICAL_SPELLINGS.get(str(label).lower(), label) for label in labels)
    remap = np.array([index.get(level, -2) for level in labels], dtype=np.int64)
    used = codes >= 0
    mapped = np.full(len(codes), -1, dtype=np.int64)
    mapped[used] = remap[codes[used]] if len(remap) else -2
    if (mapped == -2).any():
        new = sorted({value.levels[c] for c in codes[used][mapped[used] == -2]})
        shown = ", ".join(repr(s) for s in new[:10])
        raise NewLevelsError(
            f"The factor '{info.name}' has level(s) {shown} in the new data that were not in "
            f"the fit, which had {list(info.levels)[:12]}. A fixed effect cannot be "
            "predicted for a level it never saw: drop or recode those rows."
        )
    return Factor(mapped, info.levels, info.ordered)


_LOGICAL_SPELLINGS = {"true": "TRUE", "false": "FALSE", "1": "TRUE", "0": "FALSE"}


def build_matrix(
    terms: Terms, evaluator: Evaluator, rows: np.ndarray | None, states: dict[str, Any]
) -> tuple[np.ndarray, MatrixSpec, list[tuple[str, Any]]]:
    """Model matrix of ``terms`` on rows ``rows`` (a bool mask, or all), and its spec.

    Also returns the evaluated variables (``(name, value)`` on all rows) for the caller's
    missing-value and finiteness checks.
    """
    raw = [evaluator.value(node) for node in terms.nodes]
    infos: list[VariableInfo] = []
    values: list[Any] = []
    for name, value in zip(terms.variables, raw, strict=True):
        logical = isinstance(value, Logical)
        if logical:
            value = value.as_factor()
        if isinstance(value, Factor):
            # R: unused levels are dropped after incomplete rows are (logicals keep both).
            kept = Factor(value.codes if rows is None else value.codes[rows], value.levels,
                          value.ordered)
            kept = kept if logical else drop_unused(kept, None)
            if len(kept.levels) < 2 and not logical:
                raise ValueError(
                    f"The factor '{name}' has a single level ({kept.levels[0]!r}) in the rows "
                    "used, so it cannot be a predictor (R: 'contrasts can be applied only to "
                    "factors with 2 or more levels'). Remove it from the formula."
                    if kept.levels else f"The factor '{name}' has no values in the rows used."
                )
            infos.append(VariableInfo(name, kept.levels, ordered=kept.ordered))
            values.append(kept)
        elif isinstance(value, Numeric):
            infos.append(VariableInfo(name, None, value.suffixes))
            values.append(value.values if rows is None else value.values[rows])
        else:
            raise ValueError(f"'{name}' is a constant, not a variable; it cannot be a term.")
    codes = _contrast_codes(terms, [isinstance(v, Factor) for v in values])
    n = evaluator.n if rows is None else int(np.count_nonzero(rows))
    shared = MappingProxyType(states)  # read-only view; the evaluator fills ``states``
    spec = MatrixSpec(terms, tuple(infos), codes, (), shared)
    X, names, assign = _assemble(spec, values, n)
    spec = MatrixSpec(terms, tuple(infos), codes, tuple(names), shared, tuple(assign))
    return X, spec, list(zip(terms.variables, raw, strict=True))


def _contrast_codes(terms: Terms, is_factor: list[bool]) -> tuple[tuple[int, ...], ...]:
    """R's factor codes: 1 = contrasts, 2 = indicators (``TermCode`` + the no-intercept rule)."""
    sets = [frozenset(t) for t in terms.terms]
    codes: list[list[int]] = []
    for k, term in enumerate(terms.terms):
        row = []
        for v in term:
            rest = sets[k] - {v}
            row.append(1 if not rest or any(rest <= sets[j] for j in range(k)) else 2)
        codes.append(row)
    if not terms.intercept:
        done = False
        for k, term in enumerate(terms.terms):
            for i, v in enumerate(term):
                if is_factor[v]:
                    codes[k][i] = 2
                    done = True
                    break
            if done:
                break
    return tuple(tuple(r) for r in codes)


def _assemble(
    spec: MatrixSpec, values: list[Any], n: int
) -> tuple[np.ndarray, list[str], list[int]]:
    """Columns of every term (first variable fastest), their R names and R's ``assign``."""
    columns: list[np.ndarray] = []
    names: list[str] = []
    assign: list[int] = []
    if spec.terms.intercept:
        columns.append(np.ones(n))
        names.append("(Intercept)")
        assign.append(0)
    for k, (term, codes) in enumerate(zip(spec.terms.terms, spec.codes, strict=True), start=1):
        block: list[tuple[np.ndarray, str]] = [(np.ones(n), "")]
        for v, code in zip(term, codes, strict=True):
            info = spec.variables[v]
            pieces = _variable_columns(info, values[v], code, n)
            block = [
                (left * right, f"{lname}:{rname}" if lname else rname)
                for right, rname in pieces
                for left, lname in block
            ]
        for col, name in block:
            columns.append(col)
            names.append(name)
            assign.append(k)
    X = np.column_stack(columns) if columns else np.empty((n, 0))
    return X, names, assign


def _variable_columns(
    info: VariableInfo, value: Any, code: int, n: int
) -> list[tuple[np.ndarray, str]]:
    if info.levels is None:
        mat = value
        if mat.shape[1] == 1 and info.suffixes is None:
            return [(mat[:, 0], info.name)]
        suffixes = info.suffixes or tuple(str(i + 1) for i in range(mat.shape[1]))
        return [(mat[:, j], info.name + s) for j, s in enumerate(suffixes)]
    codes = value.codes
    missing = codes < 0
    if info.ordered and code == 1:
        contrasts = poly_contrasts(len(info.levels))
        cols = contrasts[np.maximum(codes, 0)]
        cols[missing] = np.nan
        return [(cols[:, j], info.name + suffix)
                for j, suffix in enumerate(poly_contrast_names(len(info.levels)))]
    levels = info.levels if code == 2 else info.levels[1:]
    first = 0 if code == 2 else 1
    out = []
    for k, level in enumerate(levels, start=first):
        col = (codes == k).astype(float)
        if missing.any():
            col[missing] = np.nan
        out.append((col, info.name + level))
    return out


def poly_contrasts(k: int) -> np.ndarray:
    """R's ``contr.poly(k)``: orthonormal polynomial contrasts on the scores 1, ..., k.

    As R's ``make.poly``: the QR decomposition of the centred scores' Vandermonde matrix,
    ``Q diag(R)`` with unit-length columns, the constant column dropped.  ``Q diag(R)`` does
    not depend on the signs LAPACK chooses, so the columns equal R's to rounding.
    """
    scores = np.arange(1, k + 1, dtype=float)
    vandermonde = np.vander(scores - scores.mean(), k, increasing=True)
    q, r = np.linalg.qr(vandermonde)
    raw = q * np.diag(r)
    raw /= np.sqrt((raw**2).sum(axis=0))
    return raw[:, 1:]


def poly_contrast_names(k: int) -> list[str]:
    """R's column suffixes of ``contr.poly(k)``: ``.L``, ``.Q``, ``.C``, ``^4``, ..."""
    named = [".L", ".Q", ".C"]
    return [named[d - 1] if d <= 3 else f"^{d}" for d in range(1, k)]

"""The hypothesis matrices of lmerTest's ``anova()``: Type I, II and III, one L per term.

Each model term (``a``, ``x``, ``a:b``) gets a matrix L whose rows are linear functions of
the fixed effects; the term's F test is the joint test of L β = 0.  The matrices are
lmerTest's (``get_contrasts_type1``, ``get_contrasts_type2_unfolded``,
``get_contrasts_type3``), computed from the same ingredients:

- **Type I** (sequential): rows of the transposed unit-lower factor of a Doolittle
  decomposition of X'X, the rows of each term.
- **Type II**: a term contained in no other term (SAS's containment: the same numeric
  variables, more factors) is tested marginally (its coefficients); a contained term by
  Type I after moving it and the terms containing it last.
- **Type III**: with treatment coding, L = (X⁺ X_full)' with X_full every term's full
  indicator coding (``~ 0 + term``), the columns of each contained term orthogonalised
  against those of the terms containing it (higher-order terms first); for any other coding
  (an ordered factor's ``contr.poly``) the treatment-coded hypotheses are mapped to it.

These are independent of the parametrisation where they should be (Type III does not depend
on the contrasts) and equal lmerTest's to rounding, checked in ``tests/test_anova.py``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..rank import dependent_columns

__all__ = ["term_hypotheses", "TermLayout", "zapsmall"]


def zapsmall(x: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits`` significant digits of the largest entry.

    lmerTest rounds its hypothesis matrices this way, which turns 1e-17 into exact zeros
    (and so decides which rows are kept), so it is reproduced rather than approximated.
    """
    mx = float(np.max(np.abs(x))) if x.size else 0.0
    places = max(0, digits - int(np.ceil(np.log10(mx)))) if mx > 0 else digits
    return np.round(x, places)


def doolittle(x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The unit lower-triangular L of lmerTest's ``doolittle`` (x = L U, no pivoting).

    Entries below ``eps`` in absolute value are set to zero, and a column whose pivot is
    below ``eps`` is zero, exactly as lmerTest does (its thresholds are absolute).
    """
    n = x.shape[0]
    L = np.eye(n)
    U = np.zeros((n, n))
    for i in range(n):
        U[i, :] = x[i, :] - L[i, :i] @ U[:i, :]
        if i + 1 < n:
            below = x[i + 1 :, i] - L[i + 1 :, :i] @ U[:i, i]
            L[i + 1 :, i] = 0.0 if abs(U[i, i]) < eps else below / U[i, i]
    L[np.abs(L) < eps] = 0.0
    return L


class TermLayout:
    """Which columns of X belong to which term, and which terms contain which.

    Parameters
    ----------
    spec : MatrixSpec
        The fixed part's model-matrix recipe.
    names : sequence of str
        The columns of X actually used (aliased columns dropped, as lme4 drops them).
    """

    def __init__(self, spec: Any, names: list[str]) -> None:
        self.spec = spec
        self.labels = list(spec.term_labels)
        owner = _column_terms(spec)
        self.columns = {label: [j for j, name in enumerate(names) if owner.get(name) == label]
                        for label in self.labels}
        self.contained_in = _containment(spec)


def _column_terms(spec: Any) -> dict[str, str]:
    """Column name -> label of the term that made it (from R's ``assign``)."""
    labels = spec.term_labels
    return {name: labels[k - 1] for name, k in zip(spec.column_names, spec.assign, strict=True)
            if k > 0}


def _is_numeric(spec: Any, v: int) -> bool:
    """R's dataClasses "numeric": a plain numeric vector (not a factor, logical or matrix
    such as ``poly()`` or ``scale()``, which R classes as ``nmatrix.k``)."""
    info = spec.variables[v]
    if info.levels is not None or info.suffixes is not None:
        return False
    node = spec.terms.nodes[v]
    return not (node.kind == "call" and str(node.value) in ("scale", "cbind", "poly"))


def _containment(spec: Any) -> dict[str, list[str]]:
    """lmerTest's ``containment``: per term, the terms that contain it (SAS's definition)."""
    terms = spec.terms.terms
    labels = spec.term_labels
    numerics = [{v for v in t if _is_numeric(spec, v)} for t in terms]
    out: dict[str, list[str]] = {}
    for i, t in enumerate(terms):
        out[labels[i]] = [
            labels[j] for j, u in enumerate(terms)
            if set(t) <= set(u) and len(set(u) - set(t)) > 0 and numerics[i] == numerics[j]
        ]
    return out


def term_hypotheses(res: Any, kind: int) -> dict[str, np.ndarray]:
    """lmerTest's hypothesis matrix of every term for ``anova(m, type = kind)``.

    Parameters
    ----------
    res : MixedModelResult
    kind : {1, 2, 3}

    Returns
    -------
    dict
        Term label -> L (rows x p, over ``res.fixef``), rows that are zero removed.
    """
    spec = res.design.fixed_model_spec
    names = list(res.fixef.index)
    X = np.asarray(res.design.X, dtype=float)
    layout = TermLayout(spec, names)
    if X.shape[1] <= 1 or len(layout.labels) <= 1 or kind == 1:
        return _type1(X, layout)
    if kind == 2:
        return _type2(X, layout)
    return _type3(res, X, layout)


def _nonzero_rows(L: np.ndarray) -> np.ndarray:
    return L[np.abs(L).sum(axis=1) > 1e-8]


def _type1(X: np.ndarray, layout: TermLayout) -> dict[str, np.ndarray]:
    p = X.shape[1]
    L = np.ones((1, 1)) if p == 1 else doolittle(X.T @ X).T
    return {label: L[layout.columns[label]] for label in layout.labels}


def _type2(X: np.ndarray, layout: TermLayout) -> dict[str, np.ndarray]:
    p = X.shape[1]
    out: dict[str, np.ndarray] = {}
    for label in layout.labels:
        containing = layout.contained_in[label]
        if not containing:  # marginal: the term's own coefficients
            out[label] = np.eye(p)[layout.columns[label]]
            continue
        last = list(layout.columns[label])
        for other in containing:
            last += layout.columns[other]
        order = [j for j in range(p) if j not in last] + last
        Lc = doolittle(X[:, order].T @ X[:, order]).T
        rows = [k for k, j in enumerate(order) if j in layout.columns[label]]
        back = np.empty(p, dtype=int)
        back[order] = np.arange(p)
        out[label] = Lc[rows][:, back]
    return out


def _type3(res: Any, X: np.ndarray, layout: TermLayout) -> dict[str, np.ndarray]:
    spec = layout.spec
    if not any(info.ordered for info in spec.variables):
        return _type3_treatment(res, X, list(res.fixef.index), layout)
    # Other codings: the hypotheses under treatment coding, mapped to the model's coding.
    treatment = replace(spec, variables=tuple(replace(v, ordered=False) for v in spec.variables))
    X_tr, treatment = _model_matrix(res, treatment)
    keep = np.flatnonzero(~dependent_columns(X_tr))  # lmerTest's ensure_full_rank
    X_tr = X_tr[:, keep]
    names_tr = [treatment.column_names[j] for j in keep]
    hyps = _type3_treatment(res, X_tr, names_tr, TermLayout(treatment, names_tr))
    to_model = zapsmall(np.linalg.pinv(X_tr) @ X)
    return {label: L @ to_model for label, L in hyps.items()}


def _type3_treatment(res: Any, X: np.ndarray, names: list[str],
                     layout: TermLayout) -> dict[str, np.ndarray]:
    spec = layout.spec
    full, full_names = _full_indicator_matrix(res, spec)
    L = zapsmall((np.linalg.pinv(X) @ full).T)  # rows: full columns; columns: X's
    degree = {label: len(t) for label, t in zip(layout.labels, spec.terms.terms, strict=True)}
    for label in sorted(layout.labels, key=lambda lb: -degree[lb]):  # stable: R's order()
        containing = layout.contained_in[label]
        if not containing:
            continue
        cols = layout.columns[label]
        basis = L[:, [j for other in containing for j in layout.columns[other]]]
        coef, *_ = np.linalg.lstsq(basis, L[:, cols], rcond=None)
        L[:, cols] = zapsmall(L[:, cols] - basis @ coef)
    row_of = {name: i for i, name in enumerate(full_names)}
    L = L[[row_of[name] for name in names]]
    return {label: _nonzero_rows(L[:, layout.columns[label]].T) for label in layout.labels}


def _model_matrix(res: Any, spec: Any) -> tuple[np.ndarray, Any]:
    """``spec``'s model matrix on the rows the fit used, and ``spec`` with its columns'
    names and ``assign``."""
    from ..intake import Frame
    from ..rfunctions import Evaluator

    evaluator = Evaluator(Frame(res.data), dict(spec.states), None)
    X, described = spec.matrix_and_spec(evaluator)
    rows = res.design.rows
    return (X if rows is None else X[np.asarray(rows)]), described


def _full_indicator_matrix(res: Any, spec: Any) -> tuple[np.ndarray, list[str]]:
    """lmerTest's ``get_rdX``: the intercept and every term's ``~ 0 + term`` columns.

    One recipe with every factor of every term coded by indicators gives exactly those
    columns, so the data are evaluated once.
    """
    full = replace(spec, codes=tuple(tuple(2 for _ in term) for term in spec.terms.terms))
    X, described = _model_matrix(res, full)
    return X, list(described.column_names)

"""Predictions on new data, and the new-data model matrices other modules reuse.

:func:`newdata_matrices` is the one builder of ``X``, each term's ``Z`` and cluster codes for
new rows (training factor levels and learnt constants; cluster code -1 for an id that is
missing or was not in the fit); :func:`predict` combines them as lme4's ``predict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .design_checks import group_factor
from .intake import Frame, as_pandas
from .rfunctions import Evaluator, UnknownName

if TYPE_CHECKING:  # pragma: no cover
    from .model_matrix import MatrixSpec
    from .results import MixedModelResult

__all__ = ["NewdataMatrices", "newdata_matrices", "predict", "predictor_columns"]


@dataclass(frozen=True)
class NewdataMatrices:
    """Model matrices of new rows, in the fit's columns.

    Attributes
    ----------
    X : ndarray (m, p)
        Fixed-effects columns ``res.fixef.index``; a row is NaN where a predictor is missing.
    Z : tuple of ndarray (m, q_k)
        Per random term (``res.design.terms`` order) its columns.
    codes : tuple of ndarray (m,) of int
        Per random term the index of each row's cluster in ``term.levels``; -1 for an id
        that is missing or was not in the fit.
    offset : ndarray (m,)
        The ``offset()`` terms (zeros when the model has none).
    """

    X: np.ndarray
    Z: tuple[np.ndarray, ...]
    codes: tuple[np.ndarray, ...]
    offset: np.ndarray


def _evaluator(res: MixedModelResult, frame: Frame) -> Evaluator:
    return Evaluator(frame, dict(res.design.fixed_model_spec.states), None)


def _select(spec: MatrixSpec, evaluator: Evaluator, names: tuple[str, ...]) -> np.ndarray:
    X = spec.matrix(evaluator)
    index = {name: j for j, name in enumerate(spec.column_names)}
    return X[:, [index[name] for name in names]]


def _model_matrix(model_spec: MatrixSpec, newdata: Any, names: tuple[str, ...]) -> np.ndarray:
    """Columns ``names`` of a formula part's model matrix on ``newdata`` (training coding)."""
    frame = Frame(as_pandas(newdata, "newdata"))
    evaluator = Evaluator(frame, dict(model_spec.states), None)
    return _run(lambda: _select(model_spec, evaluator, names))


def _run(build: Any) -> Any:
    try:
        return build()
    except UnknownName as err:
        raise ValueError(
            f"newdata has no column named {err.name!r}, which the model uses."
        ) from None


def predictor_columns(res: MixedModelResult, include_re: bool = True) -> list[str]:
    """Data columns a prediction reads (the response's are not needed), in the fit's order."""
    design = res.design
    parts = [design.fixed_model_spec] + ([t.model_spec for t in design.terms] if include_re
                                         else [])
    names: set[str] = set()
    for part in parts:
        for node in (*part.terms.nodes, *part.terms.offset_nodes):
            names.update(node.names())
    if include_re:
        names.update(c for t in design.terms for c in t.group_columns)
    return [v for v in design.variables if v in names]


def newdata_matrices(
    res: MixedModelResult,
    newdata: Any,
    include_re: bool = True,
    allow_new_levels: bool = True,
) -> NewdataMatrices:
    """X, per-term Z and cluster codes of ``newdata`` for the fitted model ``res``.

    Parameters
    ----------
    res : MixedModelResult
    newdata : pandas.DataFrame or any frame narwhals supports
        Needs the model's predictor columns (not the response); grouping columns only when
        ``include_re``.  Ids match whatever their dtype: ``3``, ``3.0`` and ``"3"`` are the
        training cluster ``"3"``.
    include_re : bool
        Build the random-effects parts (else ``Z`` and ``codes`` are empty tuples).
    allow_new_levels : bool
        True (lme4's ``allow.new.levels = TRUE``): an unseen or missing cluster id gets code
        -1.  False: raise ``ValueError`` naming those ids.

    Raises
    ------
    ValueError
        Missing columns, an empty frame, a fixed-effect factor level the fit did not see
        (naming the column and the levels).
    """
    frame_data = as_pandas(newdata, "newdata")
    if len(frame_data) == 0:
        raise ValueError("newdata has no rows; pass a data frame with at least one row.")
    frame = Frame(frame_data)
    needed = predictor_columns(res, include_re)
    absent = [v for v in needed if v not in frame]
    if absent:
        raise ValueError(
            f"newdata lacks the column(s) {absent} that the model uses; it needs {needed}."
        )
    evaluator = _evaluator(res, frame)
    design = res.design
    X = _run(lambda: _select(design.fixed_model_spec, evaluator, design.fixed_names))
    offset = np.zeros(frame.n)
    for node in design.fixed_model_spec.terms.offset_nodes:
        offset = offset + _run(lambda node=node: evaluator.vector(node, "offset()"))
    Zs, codes = [], []
    if include_re:
        for term in design.terms:
            Zs.append(_run(lambda term=term: _select(term.model_spec, evaluator, term.columns)))
            codes.append(_cluster_codes(frame, term, allow_new_levels))
    return NewdataMatrices(X, tuple(Zs), tuple(codes), offset)


def _cluster_codes(frame: Frame, term: Any, allow_new_levels: bool) -> np.ndarray:
    factor = group_factor(frame, term)
    lookup = {name: i for i, name in enumerate(term.levels)}
    remap = np.array([lookup.get(level, -1) for level in factor.levels], dtype=np.int64)
    codes = np.where(factor.codes >= 0, remap[np.maximum(factor.codes, 0)] if len(remap)
                     else -1, -1)
    if not allow_new_levels and (codes < 0).any():
        missing = int((factor.codes < 0).sum())
        new = sorted({factor.levels[c] for c in factor.codes[(factor.codes >= 0) & (codes < 0)]})
        parts = []
        if new:
            parts.append("level(s) " + ", ".join(repr(v) for v in new[:10]) + " not in the fit")
        if missing:
            parts.append(f"{missing} missing id(s)")
        raise ValueError(
            f"newdata has {' and '.join(parts)} for the grouping factor '{term.group}'. Use "
            "allow_new_levels=True to predict those rows at the population level."
        )
    return codes


def predict(
    res: MixedModelResult,
    newdata: Any = None,
    include_re: bool = True,
    allow_new_levels: bool = True,
) -> np.ndarray:
    """ŷ = X_new γ + offset (+ Z_new u for clusters seen in the fit), as lme4's ``predict``.

    Parameters
    ----------
    res : MixedModelResult
    newdata : DataFrame or any frame narwhals supports, optional
        Defaults to the fitted rows.  Factor levels and learnt constants (``poly``,
        ``scale``, centring means) are the training data's; a fixed-effect factor level the
        fit did not see raises ``ValueError`` naming it; a row with a missing predictor
        gets NaN.
    include_re : bool
        Add the clusters' random effects (lme4's ``re.form = NULL``) or not (``re.form = NA``).
    allow_new_levels : bool, default True
        As lme4's ``allow.new.levels = TRUE``: a row whose cluster id is missing or was not
        in the fit contributes no random effect, so it gets the population prediction
        X_new γ.  False raises ``ValueError`` naming such ids instead.
    """
    if not isinstance(include_re, (bool, np.bool_)):
        raise TypeError(f"include_re must be True or False, not {include_re!r}.")
    if not isinstance(allow_new_levels, (bool, np.bool_)):
        raise TypeError(f"allow_new_levels must be True or False, not {allow_new_levels!r}.")
    if newdata is None:
        return res.fitted(include_re=include_re).to_numpy()
    mats = newdata_matrices(res, newdata, include_re=include_re,
                            allow_new_levels=allow_new_levels)
    out = mats.X @ res.fixef.to_numpy() + mats.offset
    for Z, codes, b in zip(mats.Z, mats.codes, res.random_effects, strict=False):
        seen = codes >= 0
        contrib = np.zeros(len(out))
        contrib[seen] = np.einsum("nq,nq->n", Z[seen], b[codes[seen]])
        out = out + contrib
    return out


def frame_of(newdata: Any) -> pd.DataFrame:
    """``newdata`` as pandas (for callers that build their own reference grids)."""
    return as_pandas(newdata, "newdata")

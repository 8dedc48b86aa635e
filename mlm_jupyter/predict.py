"""Predictions on new data from a fitted model's stored formula state."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .design import _grouping_factor

if TYPE_CHECKING:  # pragma: no cover
    from .results import MixedModelResult


def _model_matrix(model_spec, newdata: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    from .design import r_style_names
    from .transforms import formula_context

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The centring transforms (cwc, cm, ...) are looked up by name; their training
        # means come from the state stored in model_spec.
        mm = model_spec.get_model_matrix(newdata, context=formula_context(), na_action="ignore")
    columns = list(r_style_names(model_spec))
    frame = pd.DataFrame(np.asarray(mm, dtype=float), columns=columns, index=newdata.index)
    return frame[list(names)].to_numpy()


def predict(
    res: MixedModelResult, newdata: pd.DataFrame | None = None, include_re: bool = True
) -> np.ndarray:
    """ŷ = X_new γ (+ Z_new u for clusters seen in the fit).

    Parameters
    ----------
    res : MixedModelResult
    newdata : DataFrame, optional
        Defaults to the fitted rows.  Formula state (factor levels, centring means) is the
        training data's.  A cluster level that was not in the fit contributes no random
        effect: its prediction is the population (fixed-effects) one, as lme4's
        ``predict(..., allow.new.levels = TRUE)``.
    include_re : bool
        Add the clusters' random effects (lme4's ``re.form = NULL``) or not (``re.form = NA``).
    """
    if newdata is None:
        return res.fitted(include_re=include_re).to_numpy()
    if not isinstance(newdata, pd.DataFrame):
        raise TypeError("newdata must be a pandas DataFrame.")
    group_columns = {c for t in res.design.terms for c in t.group_columns}
    needed = [
        v
        for v in res.design.variables
        if v != res.spec.response and (include_re or v not in group_columns)
    ]
    missing = [v for v in needed if v not in newdata.columns]
    if missing:
        raise ValueError(
            f"newdata lacks the column(s) {missing} that the model uses; it needs {needed}."
        )
    X = _model_matrix(res.design.fixed_model_spec, newdata, res.design.fixed_names)
    out = X @ res.fixef.to_numpy()
    if include_re:
        for term, b in zip(res.design.terms, res.random_effects, strict=True):
            Z = _model_matrix(term.model_spec, newdata, term.columns)
            codes_new, new_levels = _grouping_factor(newdata, term)
            lookup = {name: i for i, name in enumerate(term.levels)}
            idx = np.array([lookup.get(new_levels[c], -1) for c in codes_new])
            seen = idx >= 0
            contrib = np.zeros(len(newdata))
            contrib[seen] = np.einsum("nq,nq->n", Z[seen], b[idx[seen]])
            out = out + contrib
    return out

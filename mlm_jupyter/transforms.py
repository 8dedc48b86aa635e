"""Centering transforms usable inside formulas: cwc(x, g), cm(x, g), gmc(x), center(x, c).

The functions are handed to formulaic as evaluation context, so they work in the fixed and
the random part of a formula::

    mathach ~ cwc(ses, school) * catholic + cm(ses, school) + (1 + cwc(ses, school) | school)

They are formulaic *stateful transforms*: the cluster means (or the grand mean) are computed
once, on the rows used in the fit (after rows with missing values are dropped), and stored in
the model spec.  ``res.predict(newdata)`` re-uses those training means, so a prediction for a
new row of a known cluster centres it exactly as the training rows were centred.

What the coefficients mean
--------------------------
With ``x_ij`` a level-1 predictor and ``x̄_j`` its cluster mean:

* **cluster-mean centring** ``y ~ cwc(x, g) + cm(x, g)``: the slope of ``cwc(x, g)`` is the
  *within* effect γ10 (a unit change of x relative to one's own cluster) and the slope of
  ``cm(x, g)`` is the *between* effect γ01 (clusters differing by one unit of mean x).
  The *contextual* effect is ``res.contrast("cm(x, g) - cwc(x, g)")``.
* **hybrid model** ``y ~ x + cm(x, g)`` (uncentred x plus its cluster mean): the slope of x is
  the same within effect γ10, the slope of ``cm(x, g)`` is the *contextual* effect γ01 - γ10,
  and the between effect is ``res.contrast("x + cm(x, g)")``.

Both parametrisations give the same fixed-effects fit; only the random-slope part differs
(a random slope on uncentred x also carries between-cluster variation of x).

New clusters
------------
``cwc`` and ``cm`` need each row's training cluster mean; a row whose cluster was not in the
training data raises a ``ValueError`` naming the unseen levels (there is no training mean to
centre on).  ``gmc`` and ``center`` have no such restriction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from formulaic.transforms import stateful_transform


def _values(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=object if isinstance(x, pd.Categorical) else None)
    if arr.ndim != 1:
        raise ValueError(f"{name}() needs a single numeric variable, got shape {arr.shape}.")
    try:
        return arr.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name}() centres a numeric variable, but got non-numeric values ({exc}). "
            "Convert the column to numbers first (e.g. pd.to_numeric)."
        ) from exc


def _keys(g: Any, n: int, name: str) -> np.ndarray:
    """Cluster labels as strings (the design's level names are strings too)."""
    keys = np.asarray(pd.Series(g).astype(str).to_numpy(), dtype=object)
    if keys.shape != (n,):
        raise ValueError(
            f"{name}(x, g): x and the grouping variable have different lengths "
            f"({n} and {keys.shape[0] if keys.ndim else 1})."
        )
    return keys


def _cluster_means(x: np.ndarray, keys: np.ndarray, state: dict, name: str) -> np.ndarray:
    """Each row's training cluster mean x̄_j (computed on the first call, then reused)."""
    if "means" not in state:
        frame = pd.DataFrame({"x": x, "g": keys})
        means = frame.groupby("g", sort=True)["x"].mean()
        if means.isna().any():
            empty = list(means.index[means.isna()])[:5]
            raise ValueError(
                f"{name}(): cluster(s) {empty} have no non-missing values to average."
            )
        state["means"] = {str(k): float(v) for k, v in means.items()}
    means = state["means"]
    unseen = sorted({k for k in keys if k not in means})
    if unseen:
        shown = ", ".join(repr(u) for u in unseen[:10])
        more = f" and {len(unseen) - 10} more" if len(unseen) > 10 else ""
        raise ValueError(
            f"{name}(): cluster level(s) {shown}{more} were not in the training data, so "
            "they have no training cluster mean to centre on. Predict only for known "
            "clusters, or compute the centred variables yourself for new clusters and refit "
            "with them as ordinary columns."
        )
    return np.array([means[k] for k in keys], dtype=float)


@stateful_transform
def cwc(x: Any, g: Any, _state: dict = {}) -> np.ndarray:  # noqa: B006 (formulaic's state)
    """Centring within cluster: ``x_ij - x̄_j`` (x̄_j the training mean of cluster j)."""
    values = _values(x, "cwc")
    return values - _cluster_means(values, _keys(g, len(values), "cwc"), _state, "cwc")


@stateful_transform
def cm(x: Any, g: Any, _state: dict = {}) -> np.ndarray:  # noqa: B006
    """Cluster mean ``x̄_j`` of every row's cluster (training means)."""
    values = _values(x, "cm")
    return _cluster_means(values, _keys(g, len(values), "cm"), _state, "cm")


@stateful_transform
def gmc(x: Any, _state: dict = {}) -> np.ndarray:  # noqa: B006
    """Grand-mean centring ``x_ij - x̄`` (x̄ the mean over the training rows)."""
    values = _values(x, "gmc")
    if "mean" not in _state:
        _state["mean"] = float(np.nanmean(values))
    return values - _state["mean"]


@stateful_transform
def center(x: Any, c: float | None = None, _state: dict = {}) -> np.ndarray:  # noqa: B006
    """Centring on a constant: ``x - c`` (``c`` omitted: the training grand mean)."""
    values = _values(x, "center")
    if "c" not in _state:
        if c is None:
            _state["c"] = float(np.nanmean(values))
        else:
            try:
                _state["c"] = float(c)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"center(x, c): c must be a number, got {c!r}.") from exc
    return values - _state["c"]


def offset(x: Any) -> np.ndarray:
    """``offset(log(exposure))``: a term with coefficient fixed at 1 (design moves it out of X)."""
    return np.asarray(x, dtype=float)


def cbind(*columns: Any) -> np.ndarray:
    """``cbind(successes, failures)``: the two-column binomial response, as in R."""
    if len(columns) != 2:
        raise ValueError(
            f"cbind() on the left of '~' takes two columns (successes, failures), "
            f"not {len(columns)}."
        )
    return np.column_stack([np.asarray(c, dtype=float) for c in columns])


#: Transform name -> (function, whether its second argument is a grouping variable).
TRANSFORMS: dict[str, Any] = {"cwc": cwc, "cm": cm, "gmc": gmc, "center": center}
#: Names R formulas use for model structure rather than a transformation of a column.
STRUCTURE: dict[str, Any] = {"offset": offset, "cbind": cbind}


def formula_context() -> dict[str, Any]:
    """Names available inside formulas in addition to formulaic's own."""
    return {**TRANSFORMS, **STRUCTURE}

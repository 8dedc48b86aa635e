"""Centering transforms usable inside formulas: cwc(x, g), cm(x, g), gmc(x), center(x, c).

They work in the fixed and the random part of a formula (evaluated by
:mod:`mlm_jupyter.rfunctions`)::

    mathach ~ cwc(ses, school) * catholic + cm(ses, school) + (1 + cwc(ses, school) | school)

They are *stateful*: the cluster means (or the grand mean) are computed once, on the rows
used in the fit (after rows with missing values are dropped), and stored with the design.
``res.predict(newdata)`` re-uses those training means, so a prediction for a
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


def cluster_means(x: np.ndarray, keys: np.ndarray, name: str) -> dict[str, float]:
    """Training cluster means x̄_j of ``x`` by cluster label (the rows of the fit)."""
    frame = pd.DataFrame({"x": x, "g": keys})
    means = frame.groupby("g", sort=True)["x"].mean()
    if means.isna().any():
        empty = list(means.index[means.isna()])[:5]
        raise ValueError(f"{name}(): cluster(s) {empty} have no non-missing values to average.")
    return {str(k): float(v) for k, v in means.items()}


def lookup_means(means: dict[str, float], keys: np.ndarray, name: str) -> np.ndarray:
    """Each row's training cluster mean; NaN for a missing cluster id.

    Raises
    ------
    ValueError
        A cluster that was not in the training data (there is no mean to centre on).
    """
    unseen = sorted({k for k in keys if k is not None and k not in means})
    if unseen:
        shown = ", ".join(repr(u) for u in unseen[:10])
        more = f" and {len(unseen) - 10} more" if len(unseen) > 10 else ""
        raise ValueError(
            f"{name}(): cluster level(s) {shown}{more} were not in the training data, so "
            "they have no training cluster mean to centre on. Predict only for known "
            "clusters, or compute the centred variables yourself for new clusters and refit "
            "with them as ordinary columns."
        )
    return np.array([means[k] if k is not None else np.nan for k in keys], dtype=float)


def poly_coefficients(x: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """R's ``attr(poly(x, degree), "coefs")``: recurrence constants ``alpha`` and ``norm2``.

    As R: centre x, QR of the Vandermonde matrix [1, x, ..., x^degree], Z = Q diag(R) (its
    columns are the orthogonal polynomials, sign-free), ``norm2`` their squared lengths with
    a leading 1, ``alpha`` the recurrence shifts.
    """
    xbar = float(np.mean(x))
    xc = x - xbar
    V = np.vander(xc, degree + 1, increasing=True)
    q, r = np.linalg.qr(V)
    Z = q * np.diag(r)
    norm2 = np.sum(Z**2, axis=0)
    alpha = (np.sum(xc[:, None] * Z**2, axis=0) / norm2 + xbar)[:degree]
    return alpha, np.concatenate([[1.0], norm2])


def poly_basis(x: np.ndarray, alpha: np.ndarray, norm2: np.ndarray) -> np.ndarray:
    """R's ``predict(poly(...), x)``: the three-term recurrence with the training constants."""
    degree = len(alpha)
    Z = np.empty((len(x), degree + 1))
    Z[:, 0] = 1.0
    Z[:, 1] = x - alpha[0]
    for i in range(1, degree):
        Z[:, i + 1] = (x - alpha[i]) * Z[:, i] - (norm2[i + 1] / norm2[i]) * Z[:, i - 1]
    return Z[:, 1:] / np.sqrt(norm2[2:])


def scale_parameters(x: np.ndarray, center: Any, scale: Any) -> tuple[float, float]:
    """R's ``scale(x, center, scale)`` constants: mean and root-mean-square (n - 1) by default.

    ``center``/``scale`` may be TRUE/FALSE or numbers, as in R; missing values are ignored.
    """
    present = x[~np.isnan(x)]
    if isinstance(center, bool):
        shift = float(np.mean(present)) if center and present.size else 0.0
    else:
        shift = float(center)
    if isinstance(scale, bool):
        if not scale:
            return shift, 1.0
        dev = present - shift
        spread = float(np.sqrt(np.sum(dev**2) / max(dev.size - 1, 1)))
        if spread == 0:
            raise ValueError("scale(): the variable is constant, so it cannot be scaled.")
        return shift, spread
    return shift, float(scale)

"""Residuals of a GLMM as glmer gives them, and glmer's ``deviance()``.

``residuals(m, type)`` at the conditional modes: ``"response"`` y - μ̂, ``"pearson"``
(y - μ̂)√w/√V(μ̂), ``"deviance"`` sign(y - μ̂)√(2w[ℓ(y|y) - ℓ(y|μ̂)]), ``"working"``
(y - μ̂)/μ'(η̂).  ``deviance(m)`` is the sum of squared deviance residuals, which for a
GLMM is *not* -2 log L (that is ``res.objective``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..engine.families import inverse_link_derivative

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult

KINDS = ("deviance", "pearson", "response", "working")


def residuals(res: GLMMResult, kind: str = "deviance") -> pd.Series:
    """glmer's ``residuals(m, type = kind)`` (default ``"deviance"``, as glmer)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}.")
    fam = res.fit_state.family
    state = res.fit_state
    mu = state.mu
    if kind == "deviance":
        values = fam.deviance_residuals(mu)
    elif kind == "pearson":
        values = (fam.y - mu) * np.sqrt(fam.weights) / np.sqrt(np.maximum(fam.variance(mu),
                                                                           1e-300))
    elif kind == "response":
        values = fam.y - mu
    else:
        values = (fam.y - mu) / inverse_link_derivative(res.link, state.eta)
    return pd.Series(values, index=res.design.row_index, name=kind)


def deviance(res: GLMMResult) -> float:
    """glmer's ``deviance(m)``: Σ squared deviance residuals (not -2 log L)."""
    return float(np.sum(residuals(res, "deviance").to_numpy() ** 2))

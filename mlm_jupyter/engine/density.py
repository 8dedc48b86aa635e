"""The model's marginal log density at given parameters (not at the optimum).

For rows r of a design and parameters (γ, θ, σ) in the user's units,

    y_r ~ N(X_r γ, V_r),   V_r = σ² (Z_r Λθ Λθ' Z_r' + I),

with every random term of the model (Z_r holds only the levels the rows touch).  With
e = y_r - X_r γ and the same blocked Cholesky factor the criterion uses, applied to the
cross-products of [Z_r e] (no fixed-effect columns: γ is given, not estimated),

    log|V_r| = n log σ² + log|Λ'Z_r'Z_rΛ + I|,   e'V_r⁻¹e = r²(θ) / σ²,

where r² is the penalised residual sum of squares of e: so no n x n matrix is formed.
This is ``-deviance / 2`` of ``lme4::devfun2`` with the fixed part as an offset (what
mitml's D3 evaluates), and the held-out density of a cross-validation fold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .blocks import cross_products
from .objective import LOG_2PI, ProfiledDeviance
from .theta import lower_tri_index, unpack_theta

if TYPE_CHECKING:  # pragma: no cover
    from ..design import Design

_PIVOT_TOL = 1e-12  # relative pivot below which a semidefinite covariance's column is zero


def _rows_design(design: Design, rows: np.ndarray | None) -> Design:
    """The design restricted to ``rows``, each term keeping only the levels present."""
    if rows is None:
        return design
    terms = []
    for term in design.terms:
        used, codes = np.unique(term.codes[rows], return_inverse=True)
        terms.append(replace(term, codes=codes.astype(np.int64), Z=term.Z[rows],
                             levels=tuple(term.levels[i] for i in used)))
    return replace(design, y=design.y[rows], X=design.X[rows], terms=tuple(terms),
                   row_index=design.row_index[rows])


def marginal_logdensity(design: Design, beta: np.ndarray, theta: np.ndarray, sigma: float,
                        rows: np.ndarray | None = None, conditioning: Any = None) -> float:
    """log N(y_r; X_r γ, σ²(Z_r Λθ Λθ' Z_r' + I)) for the rows ``rows`` (default: all).

    Parameters
    ----------
    design : Design
        The fit's design, or with ``conditioning`` its engine copy (``res.engine_design``).
    beta : ndarray (p,)
        Fixed effects γ (the user's units).
    theta : ndarray
        Relative covariance parameters in lme4's order (``res.theta``'s meaning).
    sigma : float
        Residual SD.
    rows : ndarray of int, optional
        Indices of the design's rows; their random effects are integrated out (levels
        the rows do not touch play no part).
    conditioning : Conditioning, optional
        The fit's map to the engine's units (``res.conditioning``): the density is then
        computed on the well-conditioned engine copy (y - Xγ = s (y° - X°β°), Z Λ = Z°Λ°)
        and mapped back by the Jacobian, -n log s, so no digits are lost to the data's units.

    Returns
    -------
    float
    """
    if conditioning is not None:
        n_rows = design.n if rows is None else len(rows)
        cond = conditioning
        return marginal_logdensity(
            design, cond.beta_to_engine(beta), cond.theta_to_engine(theta, design_layout(design)),
            sigma / cond.scale, rows,
        ) - n_rows * float(np.log(cond.scale))
    sub = _rows_design(design, rows)
    resid = sub.y - sub.X @ np.asarray(beta, dtype=float)
    offset = replace(sub, y=resid, X=np.zeros((resid.shape[0], 0)), fixed_names=())
    cp = cross_products(offset)
    factor = ProfiledDeviance(cp, reml=False).factor(np.asarray(theta, dtype=float))
    if factor is None:
        raise np.linalg.LinAlgError("the random-effects covariance is not positive semidefinite")
    n = cp.n
    r2 = float(factor.diag22()[-1] ** 2)  # no dense L22 for a per-component factor
    logdet = factor.logdet_Z(cp.m_rest)
    return -0.5 * (n * (LOG_2PI + 2.0 * np.log(sigma)) + logdet + r2 / sigma**2)


@dataclass(frozen=True)
class _Layout:
    terms: tuple


def design_layout(design: Design) -> Any:
    """The term layout (``.terms`` with ``.q``) that θ's packing follows."""
    return _Layout(tuple(design.terms))


def relative_factors(design: Design, theta: np.ndarray) -> list[np.ndarray]:
    """θ -> the lower-triangular T_k of every random term (Σ_k = σ² T_k T_k')."""
    return unpack_theta(theta, design)


def _semidefinite_cholesky(A: np.ndarray) -> np.ndarray:
    """Lower L with L L' = A for a positive semidefinite A (zero columns at zero pivots)."""
    q = A.shape[0]
    L = np.zeros((q, q))
    scale = max(float(np.max(np.abs(np.diag(A)), initial=0.0)), 1e-300)
    for j in range(q):
        d = A[j, j] - L[j, :j] @ L[j, :j]
        if d <= _PIVOT_TOL * scale:
            continue
        L[j, j] = np.sqrt(d)
        L[j + 1:, j] = (A[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return L


def theta_from_covariances(design: Design, covariances: list[np.ndarray],
                           sigma: float) -> np.ndarray:
    """θ (lme4's order) of per-term covariance matrices Σ_k and residual SD σ."""
    parts = []
    for term, S in zip(design.terms, covariances, strict=True):
        T = _semidefinite_cholesky(np.asarray(S, dtype=float) / sigma**2)
        rows, cols = lower_tri_index(term.q)
        parts.append(T[rows, cols])
    return np.concatenate(parts) if parts else np.zeros(0)

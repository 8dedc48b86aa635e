"""Which columns of a model matrix are linear combinations of earlier ones?

R and lme4 decide with a QR factorisation at tolerance 1e-7 on the raw columns, which
makes the answer depend on units: ``x + 1e7`` next to an intercept looks collinear with it
(its part orthogonal to the intercept is 1e-7 of its length) though it is a perfectly
good predictor.  Here a column is tested on its variation: when the matrix has an
intercept column, every other column is centred first (removing the intercept's direction
changes no other column's part orthogonal to the earlier ones, because the intercept comes
first), and a column is dependent when the length of its part orthogonal to all earlier
columns is below 1e-7 of its centred length.  Earlier columns keep priority, as in R.
"""

from __future__ import annotations

import numpy as np

RANK_TOL = 1e-7  # lme4's and R's qr() tolerance
CLEAR = 1e-4  # R_jj from the Gram matrix above this: independent whatever the QR's rounding


def dependent_columns(M: np.ndarray) -> np.ndarray:
    """Boolean mask of columns that depend on earlier ones (constant columns included).

    Parameters
    ----------
    M : ndarray (n, k)
    """
    n, k = M.shape
    if k == 0:
        return np.zeros(0, dtype=bool)
    work = np.array(M, dtype=float)
    const = np.all(work == work[:1], axis=0) & (work[0] != 0)
    if const.any():
        first = int(np.argmax(const))
        others = np.arange(k) > first
        work[:, others] -= work[:, others].mean(axis=0)
    norms = np.linalg.norm(work, axis=0)
    out = norms == 0
    if _clearly_independent(work, norms, out):
        return out
    scaled = work / np.where(norms > 0, norms, 1.0)
    # Unpivoted QR: |R_jj| is the length of column j's part orthogonal to the earlier
    # columns.  The first dependent column is removed and the rest refactored, so that a
    # dependent column never takes part in later projections (R's dqrdc2 moves it last).
    while True:
        kept = np.flatnonzero(~out)
        if kept.size == 0:
            return out
        diag = np.abs(np.diag(np.linalg.qr(scaled[:, kept], mode="r")))
        bad = np.flatnonzero(diag < RANK_TOL)
        if bad.size == 0:
            return out
        out[kept[bad[0]]] = True


def _clearly_independent(work: np.ndarray, norms: np.ndarray, zero: np.ndarray) -> bool:
    """Every nonzero column far from the span of the earlier ones, read off the Cholesky
    factor of the scaled columns' Gram matrix (one pass over the rows instead of a QR).

    The Gram matrix squares the condition, so its R_jj carry an absolute error of about
    k·ε/R_jj; above CLEAR (1e-4, against the 1e-7 tolerance) the QR's verdict cannot
    differ.  Anything closer goes to the QR.
    """
    kept = np.flatnonzero(~zero)
    if kept.size == 0 or work.shape[0] < kept.size:
        return False
    sub = work[:, kept]
    scale = norms[kept]
    gram = (sub.T @ sub) / np.outer(scale, scale)
    try:
        diag = np.diag(np.linalg.cholesky(gram))
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.isfinite(diag)) and diag.min() > CLEAR)


def combination(M: np.ndarray, j: int, among: list[int]) -> np.ndarray:
    """Least-squares coefficients of column j on the columns ``among`` (for messages)."""
    coef, *_ = np.linalg.lstsq(M[:, among], M[:, j], rcond=None)
    return coef

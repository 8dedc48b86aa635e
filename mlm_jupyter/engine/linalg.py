"""Dense triangular and Cholesky kernels of the engine, by LAPACK directly.

SciPy's and NumPy's wrappers around the same routines check their inputs, copy C-ordered
arrays to Fortran order and, for matrix right-hand sides, wake every BLAS thread; on the
engine's hot paths (thousands of small blocks, or one 10,000² rest block that must not be
copied) these call LAPACK on memory laid out for it.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla


def tri_inv(L: np.ndarray) -> np.ndarray:
    """Inverse of a lower-triangular matrix (LAPACK trtri).

    ``solve_triangular(L, I)`` does the same work but, with a matrix right-hand side,
    wakes every BLAS thread: 40x slower for the small blocks here.
    """
    if L.shape[0] == 0:
        return np.zeros((0, 0))
    inv, info = sla.lapack.dtrtri(L, lower=1)
    if info:
        raise np.linalg.LinAlgError("singular triangular factor")
    return inv


#: Rows mirrored at once when symmetrising a large inverse (bounds the temporaries).
MIRROR_CHUNK = 1024


def inverse_from_cholesky(L: np.ndarray) -> np.ndarray:
    """(L L')⁻¹ from the lower Cholesky factor L (LAPACK potri), as a full symmetric matrix.

    One copy of L is made (potri works in place on L' = U, Fortran order, which is L's
    C-order memory) and the lower triangle is mirrored in chunks: for a 10,000² rest
    block this needs 800 MB, not the 3.2 GB of tril + tril.T.
    """
    U = np.array(L, order="C", copy=True).T  # Fortran-ordered upper factor, L's own copy
    inv, info = sla.lapack.dpotri(U, lower=0, overwrite_c=1)
    if info:
        raise np.linalg.LinAlgError("singular Cholesky factor")
    P = inv.T  # C order; the lower triangle holds the inverse
    m = P.shape[0]
    for i0 in range(0, m, MIRROR_CHUNK):
        i1 = min(m, i0 + MIRROR_CHUNK)
        blk = P[i0:i1, i0:i1]
        blk[...] = np.tril(blk) + np.tril(blk, -1).T
        P[:i0, i0:i1] = P[i0:i1, :i0].T
    return P


def cholesky_in_place(A: np.ndarray) -> np.ndarray | None:
    """Lower Cholesky factor of the C-ordered symmetric A, computed in A's memory (LAPACK
    potrf on A' = U), or None when A is not positive definite."""
    U, info = sla.lapack.dpotrf(A.T, lower=0, clean=1, overwrite_a=1)
    if info != 0:
        return None
    return U.T

"""From the cells' cross-products to the engine: units, aliased columns, blocked products.

Each model part (X, each Z_k, y) is a linear image of the aggregated columns
U = [1, u_1..u_k] (:mod:`.aggregate`): a column v_i is m_i + s_i u_i.  A part with an
intercept is centred (its columns are U's columns and the centring is undone by an
upper-triangular map, so the engine's X° and Z°_k are those of the QR of the raw
columns); a part without one is only scaled.  :meth:`Conditioning.from_moments` turns the
Gram of U into the engine's units and the map T° from U to the engine's columns, and the
per-cell Gram matrices T°'G_cT° are summed into :class:`~..engine.blocks.CrossProducts`
level by level, as :func:`~..engine.blocks.cross_products` sums rows.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..engine.blocks import CrossProducts, TermLayout
from ..engine.conditioning import Moments
from ..rank import RANK_TOL
from .aggregate import Cells

__all__ = ["cross_products_from_cells", "dependent_in_gram", "part_map", "response_map"]


def part_map(cells: Cells, exprs: tuple[str | None, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(T, M⁻¹) with the part's centred/scaled columns U T and the part = U T M⁻¹."""
    k1 = len(cells.exprs) + 1
    q = len(exprs)
    T = np.zeros((k1, q))
    back = np.zeros((q, q))
    centred = q > 0 and exprs[0] is None
    for j, e in enumerate(exprs):
        i = cells.index(e)
        if e is None:
            T[0, j] = 1.0
            back[j, j] = 1.0
            continue
        m, s = cells.mean[i - 1], cells.scale[i - 1]
        T[i, j] = 1.0
        back[j, j] = s
        if centred:
            back[0, j] = m
        else:
            T[0, j] = m / s
    return T, back


def response_map(cells: Cells, y_expr: str, x_exprs: tuple[str | None, ...],
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """(t_y, g, s_y) with y = X g + s_y U t_y."""
    i = cells.index(y_expr)
    m, s = cells.mean[i - 1], cells.scale[i - 1]
    t = np.zeros(len(cells.exprs) + 1)
    t[i] = 1.0
    g = np.zeros(len(x_exprs))
    if x_exprs and x_exprs[0] is None:
        g[0] = m
    else:
        t[0] = m / s
    return t, g, float(s)


def dependent_in_gram(C: np.ndarray, constant: np.ndarray) -> np.ndarray:
    """:func:`mlm_jupyter.rank.dependent_columns` from a Gram matrix of centred columns.

    Columns are scaled to unit length; a column is dependent when the length of its part
    orthogonal to the earlier kept columns (the diagonal of a Cholesky factor that skips
    dependent columns, as R's pivoting moves them last) is below 1e-7.  ``constant``
    marks columns that do not vary (dependent on the intercept).
    """
    k = C.shape[0]
    out = np.array(constant, dtype=bool)
    norms = np.sqrt(np.maximum(np.diag(C), 0.0))
    out |= norms == 0
    Cn = C / np.outer(np.where(norms > 0, norms, 1.0), np.where(norms > 0, norms, 1.0))
    L = np.zeros((k, k))
    kept: list[int] = []
    for j in range(k):
        if out[j]:
            continue
        lj = Cn[j, kept] if kept else np.zeros(0)
        if kept:
            lj = np.linalg.solve(L[np.ix_(kept, kept)], lj)
        d2 = Cn[j, j] - float(lj @ lj)
        if d2 < RANK_TOL**2:
            out[j] = True
            continue
        L[j, kept] = lj
        L[j, j] = np.sqrt(d2)
        kept.append(j)
    return out


def cross_products_from_cells(cells: Cells, T_engine: np.ndarray, p: int,
                              q: list[int], levels: list[np.ndarray],
                              n_levels: list[int]) -> CrossProducts:
    """The engine's blocked cross-products from the cells (terms in lme4's order).

    ``T_engine`` maps U to [X° Z°_1 .. Z°_K y°]; ``levels[k][c]`` is cell c's level of
    term k.  Sums over cells replace the sums over rows of :func:`..engine.blocks.
    cross_products`: every cell lies in one level of every term.
    """
    W = np.einsum("ai,cab,bj->cij", T_engine, cells.gram, T_engine, optimize=True)
    offsets = np.cumsum([p] + q)
    z_cols = [np.arange(offsets[t], offsets[t] + q[t]) for t in range(len(q))]
    xy = np.concatenate([np.arange(p), [W.shape[1] - 1]])
    z0, lev0, l1, q1 = z_cols[0], levels[0], n_levels[0], q[0]
    A11 = np.zeros((l1, q1, q1))
    np.add.at(A11, lev0, W[:, z0[:, None], z0[None, :]])
    Dl = np.zeros((l1, p + 1, q1))
    np.add.at(Dl, lev0, W[:, xy[:, None], z0[None, :]])
    D = Dl.transpose(1, 0, 2).copy()
    layouts = [TermLayout(q1, l1, 0)]
    offset = 0
    rest_rows = []
    for t in range(1, len(q)):
        layouts.append(TermLayout(q[t], n_levels[t], offset))
        # rest-block row of (cell, component a): offset + level * q + a
        rest_rows.append(offset + levels[t][:, None] * q[t] + np.arange(q[t])[None, :])
        offset += q[t] * n_levels[t]
    m_rest = offset
    m = m_rest + p + 1
    A22 = np.zeros((m, m))
    A22[m_rest:, m_rest:] = W[:, xy[:, None], xy[None, :]].sum(axis=0)
    if m_rest:
        flat = np.zeros(m * m)
        s_rows, s_cols, s_vals = [], [], []
        first_cols = lev0[:, None] * q1 + np.arange(q1)[None, :]
        for a, ra in enumerate(rest_rows, start=1):
            za = z_cols[a]
            for b, rb in enumerate(rest_rows, start=1):
                zb = z_cols[b]
                idx = ra[:, :, None] * m + rb[:, None, :]
                np.add.at(flat, idx.ravel(), W[:, za[:, None], zb[None, :]].ravel())
            ixy = ra[:, :, None] * m + (m_rest + np.arange(p + 1))[None, None, :]
            np.add.at(flat, ixy.ravel(), W[:, za[:, None], xy[None, :]].ravel())
            s_rows.append(np.broadcast_to(ra[:, :, None], (len(lev0), len(za), q1)).ravel())
            s_cols.append(np.broadcast_to(first_cols[:, None, :],
                                          (len(lev0), len(za), q1)).ravel())
            s_vals.append(W[:, za[:, None], z0[None, :]].ravel())
        block = flat.reshape(m, m)
        A22[:m_rest, :] += block[:m_rest, :]
        A22[m_rest:, :m_rest] = A22[:m_rest, m_rest:].T
        S = sp.coo_matrix((np.concatenate(s_vals), (np.concatenate(s_rows),
                                                     np.concatenate(s_cols))),
                          shape=(m_rest, l1 * q1)).tocsr()
        S.sum_duplicates()
    else:
        S = sp.csr_matrix((0, l1 * q1))
    return CrossProducts(A11, S, D, A22, int(cells.n), int(p), tuple(layouts))


def moments_for(cells: Cells, x_exprs: tuple[str | None, ...], y_expr: str,
                z_exprs: list[tuple[str | None, ...]]) -> Moments:
    """The :class:`~..engine.conditioning.Moments` of a model's parts."""
    TX, MX = part_map(cells, x_exprs)
    maps = [part_map(cells, z) for z in z_exprs]
    t_y, g, s_y = response_map(cells, y_expr, x_exprs)
    return Moments(gram=cells.total, n=cells.n, x_map=TX, x_back=MX,
                   z_maps=tuple(m[0] for m in maps), z_back=tuple(m[1] for m in maps),
                   y_map=t_y, y_shift=g, y_scale=s_y)

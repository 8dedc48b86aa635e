"""Residuals and hat values of a fitted model (lme4's ``residuals()`` and ``hatvalues()``).

Everything is computed from the blocked Cholesky factor of the fit (no n x n matrix).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.linalg as sla

from ..engine.smallblocks import lower_inverse

if TYPE_CHECKING:  # pragma: no cover
    from ..results import MixedModelResult

RESIDUAL_KINDS = ("conditional", "pearson", "marginal", "scaled")
_CHUNK = 8192  # rows per block when forming L^{-1} w_i (bounds memory at large n)


def residuals(res: MixedModelResult, kind: str = "conditional") -> pd.Series:
    """Residuals indexed by the user's rows that were used in the fit.

    Parameters
    ----------
    res : MixedModelResult
    kind : {"conditional", "pearson", "marginal", "scaled"}
        ``"conditional"``: e_ij = y_ij - x_ij'γ - z_ij'u_j (lme4's ``residuals(m)``).
        ``"pearson"``: lme4's ``residuals(m, type = "pearson")``, i.e. √w_ij e_ij; without
        prior weights (always here) it equals the conditional residual.
        ``"marginal"``: y_ij - x_ij'γ (the population-level residual).
        ``"scaled"``: e_ij / σ (lme4's ``residuals(m, scaled = TRUE)``), the scale on which
        ``check()`` counts |residual| > 3.

    Returns
    -------
    pandas.Series
    """
    design = res.design
    if kind in ("conditional", "pearson", "scaled"):
        values = design.y - res.fitted(include_re=True).to_numpy()
        if design.offset is not None:  # design.y is already the response minus the offset
            values = values + design.offset
        if kind == "scaled":
            values = values / res.sigma
    elif kind == "marginal":
        values = design.y - design.X @ res.fixef.to_numpy()
    else:
        raise ValueError(
            f"unknown residual kind {kind!r}; use one of "
            f"{', '.join(repr(k) for k in RESIDUAL_KINDS)}."
        )
    return pd.Series(values, index=design.row_index, name=f"{kind}_residual")


def _rest_rows(res: MixedModelResult, T: list[np.ndarray], rows: slice, m_rest: int) -> np.ndarray:
    """Rows of Z_rest Λ_rest (dense, chunk of observations) in the engine's column order."""
    cp = res.engine.cp
    n_rows = rows.stop - rows.start
    out = np.zeros((n_rows, m_rest))
    ar = np.arange(n_rows)
    for term, layout, Tk in zip(res.engine_design.terms[1:], cp.terms[1:], T[1:], strict=True):
        zl = term.Z[rows] @ Tk  # z_i' T_k: the row of Z Λ for this term's level
        base = layout.offset + term.codes[rows] * term.q
        for a in range(term.q):
            out[ar, base + a] = zl[:, a]
    return out


def hatvalues(res: MixedModelResult) -> pd.Series:
    """Diagonal of the hat matrix, lme4's ``hatvalues()``.

    The fitted values solve the penalised least-squares problem in (u, β), so
    ŷ = H y with

        H = [ZΛ X] M^{-1} [ZΛ X]',   M = [[Λ'Z'ZΛ + I, Λ'Z'X], [X'ZΛ, X'X]] = L L'.

    Hence h_i = ||L^{-1} w_i||² with w_i = (Λ'z_i, x_i).  With the blocked factor
    L = [[L11, 0], [L21, L22]] (L11 block diagonal over the first term's levels),
    a_i = L11_j^{-1} T_1' z_1i for the level j of row i and c_i = L22^{-1}(v_i - L21_j a_i),
    where v_i holds the other terms' Λ'z and x_i; then h_i = |a_i|² + |c_i|².
    Rows are processed in chunks, so memory stays O(chunk x (m_rest + p)).  H is the same
    in the engine's units (the column spaces of X and ZΛ do not change), where the factor
    of the fit lives.
    """
    design, cp = res.engine_design, res.engine.cp
    f = res.factor
    first = design.terms[0]
    q1, m_r, p = first.q, cp.m_rest, cp.p
    T1 = f.T[0]
    L11inv = lower_inverse(f.L11)  # (l1, q1, q1)
    Lzz = f.L22[:-1, :-1]  # rest terms and X, without the y row
    S_dense = f.S.toarray().reshape(m_r, first.n_levels, q1) if m_r else None
    DX = f.D[:p]  # X rows of L21: (p, l1, q1)
    out = np.empty(design.n)
    for start in range(0, design.n, _CHUNK):
        rows = slice(start, min(start + _CHUNK, design.n))
        codes = first.codes[rows]
        zt = first.Z[rows] @ T1  # T_1' z_i as rows
        a = np.einsum("nab,nb->na", L11inv[codes], zt)
        v = design.X[rows]
        sub_x = np.einsum("pna,na->np", DX[:, codes, :], a)
        if S_dense is not None:
            v = np.column_stack([_rest_rows(res, f.T, rows, m_r), v])
            sub_r = np.einsum("rna,na->nr", S_dense[:, codes, :], a)
            sub = np.column_stack([sub_r, sub_x])
        else:
            sub = sub_x
        c = sla.solve_triangular(Lzz, (v - sub).T, lower=True)
        out[rows] = np.einsum("na,na->n", a, a) + np.einsum("mn,mn->n", c, c)
    return pd.Series(out, index=res.design.row_index, name="hat")

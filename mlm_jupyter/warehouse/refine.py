"""A second cross-products pass in pre-orthogonalised columns, when X is ill-conditioned.

Centring removes offsets, not collinearity: ``x * w`` with x near 10⁶ has columns w and
x:w nearly parallel even after centring, and a Cholesky factor of X'X loses twice the
digits a QR of X would (its condition number is squared).  When the centred, scaled X'X
of the first pass has a condition number above :data:`REFINE_CONDITION` (or y is nearly a
linear function of X), the rows are aggregated once more with the columns the first pass
found, X° = X_c A₁ and y° = (y - Xγ̂₁)/s₁, computed in SQL: their Gram matrix is close to
n I, so its Cholesky factor is accurate, and the engine's units follow from it (the
CholeskyQR2 idea: two Cholesky passes give a QR's accuracy).  The random terms' columns
are carried along: columns shared with X through X_c = X° R₁/√n, the others as they are.
"""

from __future__ import annotations

import numpy as np

from ..engine.conditioning import Conditioning, Moments
from .aggregate import Cells, cell_grams
from .moments import part_map
from .plan import ModelPlan, frame_sql

__all__ = ["REFINE_CONDITION", "needs_refinement", "refine"]

#: Condition number of the centred, scaled X'X above which a second pass is made
#: (κ(X) ≈ 1000: a single Cholesky would keep ~10 of the 16 digits).
REFINE_CONDITION = 1e6
#: Residual sum of squares of y on X, as a fraction of y's, below which the same is done.
REFINE_RESIDUAL = 1e-6


def needs_refinement(moments: Moments) -> bool:
    """Whether the first pass's X (or y's residual on X) is too ill-conditioned to trust."""
    G, TX = moments.gram, moments.x_map
    C = TX.T @ G @ TX
    d = np.sqrt(np.maximum(np.diag(C), 1e-300))
    if np.linalg.cond(C / np.outer(d, d)) > REFINE_CONDITION:
        return True
    b = TX.T @ G @ moments.y_map
    delta = np.linalg.lstsq(C, b, rcond=None)[0]
    r = moments.y_map - TX @ delta
    total = float(moments.y_map @ G @ moments.y_map)
    return total > 0 and float(r @ G @ r) < REFINE_RESIDUAL * total


def _u_sql(plan: ModelPlan, cells: Cells, i: int) -> str:
    """SQL of the first pass's u_i (i >= 1) or of the constant (i = 0)."""
    d = plan.source.dialect
    if i == 0:
        return "1.0"
    e, m, s = cells.exprs[i - 1], cells.mean[i - 1], cells.scale[i - 1]
    return f"((({e}) - {d.number(m)}) / {d.number(s)})"


def _combination(plan: ModelPlan, cells: Cells, coef: np.ndarray) -> str:
    d = plan.source.dialect
    terms = [f"{d.number(c)} * {_u_sql(plan, cells, i)}" if i else d.number(c)
             for i, c in enumerate(coef) if c != 0.0]
    return "(" + " + ".join(terms or ["0.0"]) + ")"


def refine(plan: ModelPlan, cells: Cells, moments: Moments, cond: Conditioning,
           engine_map: np.ndarray, z_exprs: list[tuple[str | None, ...]],
           ) -> tuple[Cells, Moments]:
    """The second pass: cells in the columns V = [1, X°₁, y°₁, Z-only u] and the model's
    :class:`Moments` in them (see the module docstring)."""
    p = moments.x_map.shape[1]
    TX = moments.x_map
    x_of = {}  # U index -> X column j when X_c[:, j] = u_i + c·1
    for j in range(p):
        nz = np.flatnonzero(TX[1:, j]) + 1
        x_of[int(nz[0]) if nz.size else 0] = j
    z_maps = [part_map(cells, z) for z in z_exprs]
    z_used = sorted({int(i) for T, _ in z_maps for i in np.flatnonzero(np.any(T != 0, axis=1))}
                    - set(x_of) - {0})
    columns = [_combination(plan, cells, engine_map[:, j]) for j in range(p)]
    columns.append(_combination(plan, cells, engine_map[:, -1]))
    columns += [_u_sql(plan, cells, i) for i in z_used]
    _, G = cell_grams(plan, frame_sql(plan), columns, order=cells.keys)
    k1 = len(columns) + 1
    # u_i in V's coordinates: X_c = X° R₁/√n, i.e. u_i = Σ_l V_X[l] (R₁/√n)[l, j] - c·1
    C = TX.T @ moments.gram @ TX
    R1 = np.linalg.cholesky((C + C.T) / 2.0).T / np.sqrt(moments.n)
    phi = np.zeros((k1, len(cells.exprs) + 1))
    phi[0, 0] = 1.0
    for i, j in x_of.items():
        if i == 0:
            continue
        phi[1 : 1 + p, i] = R1[:, j]
        phi[0, i] = -TX[0, j]
    for pos, i in enumerate(z_used):
        phi[2 + p + pos, i] = 1.0
    x_map = np.zeros((k1, p))
    x_map[1 : 1 + p] = np.eye(p)
    y_map = np.zeros(k1)
    y_map[1 + p] = 1.0
    refined = Moments(
        gram=G.sum(axis=0), n=moments.n, x_map=x_map, x_back=cond.A_inv,
        z_maps=tuple(phi @ T for T, _ in z_maps), z_back=tuple(b for _, b in z_maps),
        y_map=y_map, y_shift=cond.gamma, y_scale=cond.scale,
    )
    v_cells = Cells(tuple(columns), np.zeros(len(columns)), np.ones(len(columns)),
                    cells.keys, G, cells.n, cells.n_total)
    return v_cells, refined

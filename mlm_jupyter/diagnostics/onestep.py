"""The one-step deletion fit (θ held at θ̂) of every cluster at once, for one random term.

With θ fixed, deleting level j of the only random term changes the blocked factor in one
place: L11_j becomes I and level j's column of L21 vanishes.  The Schur complement of
the [X y] block (before its Cholesky) is Ω = [X y]'[X y] - Σ_k W_k W_k' with
W_k = L21's columns for level k, so without cluster j

    Ω_(j) = Ω + W_j W_j' - [X y]_j'[X y]_j,

a (p+1) x (p+1) update.  One batched Cholesky of all Ω_(j) gives every γ̂_(j), σ̂_(j) and
vcov: O(G p³) in total instead of G refactorisations of the whole model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..results import MixedModelResult


def per_level_xy_gram(res: MixedModelResult, codes: np.ndarray, n_levels: int) -> np.ndarray:
    """[X y]_j'[X y]_j for every level j, in the engine's units: (n_levels, p+1, p+1)."""
    W = np.column_stack([res.engine_design.X, res.engine_design.y])
    m = W.shape[1]
    out = np.empty((n_levels, m, m))
    for a in range(m):
        for b in range(a + 1):
            out[:, a, b] = out[:, b, a] = np.bincount(codes, weights=W[:, a] * W[:, b],
                                                      minlength=n_levels)
    return out


def one_step_all(res: MixedModelResult, gram: np.ndarray, n_obs: np.ndarray,
                 todo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """γ̂_(j), σ̂_(j), vcov_(j) at θ̂ for the clusters ``todo`` (single random term only).

    Returns beta (G, p), sigma (G,), V (G, p, p) and ``ok`` (G,) marking rows computed
    (others are NaN: not requested, or the reduced problem is not positive definite).
    """
    f = res.factor
    p = res.engine.cp.p
    G = gram.shape[0]
    beta = np.full((G, p), np.nan)
    sigma = np.full(G, np.nan)
    V = np.full((G, p, p), np.nan)
    ok = np.zeros(G, dtype=bool)
    if todo.size == 0:
        return beta, sigma, V, ok
    omega = f.L22 @ f.L22.T
    Wj = f.D.transpose(1, 0, 2)[todo]  # (g, p+1, q1): level j's columns of L21
    om = omega[None] + Wj @ Wj.transpose(0, 2, 1) - gram[todo]
    L = np.full_like(om, np.nan)
    try:
        L[:] = np.linalg.cholesky(om)
    except np.linalg.LinAlgError:  # one bad cluster must not spoil the others
        for k in range(om.shape[0]):
            try:
                L[k] = np.linalg.cholesky(om[k])
            except np.linalg.LinAlgError:
                pass
    good = np.all(np.isfinite(L.reshape(L.shape[0], -1)), axis=1)
    L, idx = L[good], todo[good]
    Lxx = L[:, :p, :p]
    b = np.linalg.solve(Lxx.transpose(0, 2, 1), L[:, p, :p, None])[..., 0]
    dof = res.engine.cp.n - n_obs[idx] - (p if res.reml else 0)
    s2 = L[:, p, p] ** 2 / dof
    inv = np.linalg.inv(Lxx)
    cond = res.conditioning  # back to the user's units
    beta[idx] = cond.gamma + cond.scale * b @ cond.A.T
    sigma[idx] = cond.scale * np.sqrt(s2)
    V[idx] = cond.scale**2 * (cond.A @ ((inv.transpose(0, 2, 1) @ inv) * s2[:, None, None])
                              @ cond.A.T)
    ok[idx] = True
    return beta, sigma, V, ok

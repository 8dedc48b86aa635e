"""The exact gradient of the adaptive-quadrature criterion (:mod:`.agq`).

For level j (one term, q random effects), with nodes u_jk = û_j + L_j⁻ᵀ z_k and their
posterior weights π_jk ∝ w_k exp(z_k'z_k/2 + h_j(u_jk)),

    d log L_j = -½ tr(L_j⁻¹ dA_j L_j⁻ᵀ) + Σ_k π_jk ∂h_j/∂φ(u_jk)
                + ā_j' dû_j + <d(L_j⁻ᵀ), B_j>,

    ā_j = Σ_k π_jk ∇h_j(u_jk),   B_j = Σ_k π_jk ∇h_j(u_jk) z_k',   ∇h_j(u) = T'Σ_i z_i s_i(u) - u,

(the last two terms vanish for the exact integral; for the quadrature they are small but
not zero).  The node placement moves with the parameters φ = (θ, β[, log θ_nb]):

- the mode equation R_j(û, φ) = T'Σ_i z_i s_i - û = 0 gives dû_j = A_o,j⁻¹ ∂R_j/∂φ
  (A_o with the observed weights -∂²ℓ/∂η²; A itself for canonical links);
- η̂_i moves by dη̂_i = ∂η_i/∂φ + z_i'T dû_j, the Fisher weights by W'_i dη̂_i, so
  dA_j = dT'G_j T + T'G_j dT + T'(Σ_i W'_i dη̂_i z_i z_i')T  (G_j = Σ_i W_i z_i z_i');
- the Cholesky factor by dL = L Φ(L⁻¹ dA L⁻ᵀ) (Φ: lower triangle, half diagonal), so
  d(L⁻ᵀ) = -L⁻ᵀ Φ(L⁻¹ dA L⁻ᵀ)'.

Everything is per row or per level with the parameters along the last axis: no Python
loop over levels.
"""

from __future__ import annotations

import numpy as np

from .resystem import level_sums
from .rowops import cross, rmatvec, small_product
from .theta import lower_tri_index


def gradient(crit, params: np.ndarray, mode, state) -> np.ndarray:
    """∂(-2 log L)/∂(θ, β[, log θ_nb]) of an :class:`~.agq.AGQCriterion` at ``params``.

    ``state`` is its :meth:`~.agq.AGQCriterion.nodes_at` with the node scores kept.
    """
    from .agq import sum_rows_2d

    lap = crit.laplace
    term = crit.term
    _, _, family = lap.split(params)
    f = mode.factor
    T = f.T[0]
    q, n_lev = term.q, term.n_levels
    n = term.codes.size
    Linv = f.L11inv
    Linv_t = Linv.transpose(0, 2, 1)
    u_hat = mode.u.reshape(n_lev, q)
    pi, nodes = state.pi, crit.nodes
    nt, p, P = lap.n_theta, lap.p, lap.n_params
    rows_i, cols_i = lower_tri_index(q)

    # node averages per row: r_i = Σ_k π s_ik, m_i = Σ_k π s_ik z_k
    r = np.zeros(n)
    m = np.zeros((n, q))
    for s, start in zip(state.scores, state.starts, strict=True):
        sp = s * term.expand(pi[:, start : start + s.shape[1]])
        r += sp.sum(axis=1)
        m += sp @ nodes[start : start + s.shape[1]]
    uh_rows = term.expand(u_hat)
    t = r[:, None] * uh_rows + np.einsum("nab,nb->na", term.expand(Linv_t), m)
    zbar = pi @ nodes
    zz = np.einsum("lk,ka,kb->lab", pi, nodes, nodes)
    abar = (np.einsum("ba,lb->la", T, level_sums(term, r)) - u_hat
            - np.einsum("lab,lb->la", Linv_t, zbar))
    B = (np.einsum("ba,lbc->lac", T, level_sums(term, m))
         - u_hat[:, :, None] * zbar[:, None, :] - Linv_t @ zz)

    # the direct derivatives at fixed nodes
    grad = np.zeros(P)
    grad[:nt] = cross(np.asarray(term.Z), t)[rows_i, cols_i]
    grad[nt : nt + p] = rmatvec(lap.X, r)
    nb = lap.estimate_nb
    if nb:
        lz = crit.row_directions(mode)
        total = 0.0
        for s, start in zip(state.scores, state.starts, strict=True):
            block = nodes[start : start + s.shape[1]]
            dll = family.theta_score_rows(mode.eta[:, None] + lz @ block.T)
            total += float((dll * term.expand(pi[:, start : start + s.shape[1]])).sum())
        grad[-1] = family.theta * total

    # how the mode moves: dû = A_o⁻¹ ∂R/∂φ
    rows = mode.rows
    der = family.derivatives(mode.eta, rows.mu)
    E = np.zeros((n, P), order="F")  # ∂η_i/∂φ at fixed u
    for c, (a, b) in enumerate(zip(rows_i, cols_i, strict=True)):
        E[:, c] = term.Z[:, a] * uh_rows[:, b]
    E[:, nt : nt + p] = lap.X
    g = level_sums(term, rows.score)
    dR = -np.einsum("ba,lbc->lac", T, level_sums(term, der.observed[:, None] * E))
    for c, (a, b) in enumerate(zip(rows_i, cols_i, strict=True)):
        dR[:, b, c] += g[:, a]
    if nb:
        _, ds, dW_theta = family.theta_derivatives(rows.mu)
        dR[:, :, -1] += family.theta * np.einsum("ba,lb->la", T, level_sums(term, ds))
    if family.canonical:
        du = Linv_t @ (Linv @ dR)
    else:
        Ao = T.T @ crit.system.first_gram(der.observed) @ T
        Ao[:, np.arange(q), np.arange(q)] += 1.0
        du = np.linalg.solve(Ao, dR)

    # how A moves: dη̂, then dG, then dA
    ZT = small_product(term.Z, T)
    deta = E + np.einsum("nb,nbc->nc", ZT, term.expand(du))
    wd = der.dweight[:, None] * deta
    if nb:
        wd[:, -1] += family.theta * dW_theta
    dG = np.empty((n_lev, q, q, P))
    ones = term.ones
    for a in range(q):
        for b in range(a + 1):
            vals = wd if ones[a] and ones[b] else wd * (term.Z[:, a] * term.Z[:, b])[:, None]
            dG[:, a, b] = sum_rows_2d(term, vals)
            dG[:, b, a] = dG[:, a, b]
    GT = crit.system.first_gram(rows.weight) @ T
    dA = np.einsum("ba,lbcx,cd->ladx", T, dG, T)
    for c, (a, b) in enumerate(zip(rows_i, cols_i, strict=True)):
        dA[:, b, :, c] += GT[:, a, :]
        dA[:, :, b, c] += GT[:, a, :]
    C = np.einsum("lab,lbcx,ldc->ladx", Linv, dA, Linv)  # L⁻¹ dA L⁻ᵀ
    half = np.tril(np.ones((q, q)), -1) + 0.5 * np.eye(q)
    D = -np.einsum("lab,lcbx->lacx", Linv_t, C * half[None, :, :, None])  # d(L⁻ᵀ)

    grad += (-0.5 * np.einsum("laax->x", C) + np.einsum("la,lax->x", abar, du)
             + np.einsum("labx,lab->x", D, B))
    return -2.0 * grad


def check_gradient(crit, params: np.ndarray, step: float = 1e-6) -> float:
    """Largest |exact - central difference| / (1 + |exact|) (for tests and diagnostics)."""
    _, g = crit.value_and_gradient(params)
    worst = 0.0
    for i in range(params.size):
        h = step * max(1.0, abs(params[i]))
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        fd = (crit(up) - crit(down)) / (2 * h)
        worst = max(worst, abs(fd - g[i]) / (1.0 + abs(g[i])))
    return worst


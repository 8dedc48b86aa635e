"""Kenward-Roger adjusted covariance and df, as pbkrtest's ``vcovAdj`` and ``Lb_ddf``.

pbkrtest writes the marginal covariance as a sum Σ = Σ_r γ_r G_r over the variance
parameters γ (every entry of each term's covariance matrix, lower triangle, then σ²):
G_r = Z M_r Z' for a random-effect parameter (M_r puts 1 at (i, j) and (j, i) in every
level's block) and G = I for σ².  With Φ = vcov(β̂) = (X'Σ⁻¹X)⁻¹ it forms

    P_r = -X'Σ⁻¹G_rΣ⁻¹X,   Q_rs = X'Σ⁻¹G_rΣ⁻¹G_sΣ⁻¹X,   K_rs = tr(Σ⁻¹G_rΣ⁻¹G_s),
    IE2_rs = K_rs - 2 tr(Φ Q_rs) + tr(Φ P_r Φ P_s),    W = 2 IE2⁻¹,
    Φ_A = Φ + 2 Φ [Σ_rs W_rs (Q_rs - P_r Φ P_s)] Φ.

pbkrtest builds the n x n matrices.  Here every product is moved into the space of the m
random effects with the Woodbury identity Σ⁻¹ = σ⁻² N, N = I - Z H Z',
H = Λ(Λ'Z'ZΛ + I)⁻¹Λ', and N Z = Z E with E = I - H Z'Z, so that Z'Σ⁻¹Z = Z'Z E / σ²,
Z'Σ⁻²Z = E'Z'Z E / σ⁴, Z'Σ⁻¹X = E'Z'X / σ² and so on.  Cost: O(m³) time and a few
m x m matrices (m = Σ levels·q: 320 for hsb with a random slope, ~3,600 for the
three-level egsingle model), never O(n²).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..caching import cache_per_result
from ..engine.dense import dense_omega
from ..engine.objective import split_theta, unscaled_vcov
from ..engine.theta import lower_tri_index


@dataclass(frozen=True)
class KenwardRogerParts:
    """pbkrtest's adjusted covariance Φ_A with its ``P`` list and ``W`` matrix."""

    vcov: np.ndarray  # Φ
    vcov_adj: np.ndarray  # Φ_A
    P: np.ndarray  # (M, p, p)
    W: np.ndarray  # (M, M)

    def ddf(self, L: np.ndarray) -> float:
        """pbkrtest's ``Lb_ddf(L, Φ, Φ_A)`` for a contrast matrix L (q x p) or vector."""
        return kr_adjust(self, np.atleast_2d(np.asarray(L, dtype=float)))[0]


def kr_adjust(parts: KenwardRogerParts, L: np.ndarray) -> tuple[float, float]:
    """(ddf, F scaling) of pbkrtest's ``.KR_adjust`` for the restriction L β = 0."""
    Phi = parts.vcov
    Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
    ThetaPhi = Theta @ Phi
    u = np.einsum("ab,rbc,cd->rad", ThetaPhi, parts.P, Phi)
    tr_u = np.trace(u, axis1=1, axis2=2)
    W = parts.W
    A1 = float(np.einsum("ij,i,j->", W, tr_u, tr_u))
    A2 = float(np.einsum("ij,iab,jba->", W, u, u))
    q = L.shape[0]
    B = (A1 + 6 * A2) / (2 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    c1 = g / (3 * q + 2 * (1 - g))
    c2 = (q - g) / (3 * q + 2 * (1 - g))
    c3 = (q + 2 - g) / (3 * q + 2 * (1 - g))
    V0 = 1 + c1 * B
    V1 = 1 - c2 * B
    V2 = 1 - c3 * B
    V0 = 0.0 if abs(V0) < 1e-10 else V0
    ratio = 1.0 if abs(1 - A2 / q) < 1e-14 and abs(V1) < 1e-14 else (1 - A2 / q) / V1
    rho = ratio**2 * V0 / V2 / q
    df2 = 4 + (q + 2) / (q * rho - 1)
    scaling = 1.0 if abs(df2 - 2) < 1e-2 else df2 * (1 - A2 / q) / (df2 - 2)
    return float(df2), float(scaling)


#: Random effects above which the dense m x m matrices of the adjustment are refused.
KR_MAX_RANDOM_EFFECTS = 20_000


def compute_kr(res: Any) -> KenwardRogerParts:
    """pbkrtest's ``vcovAdj`` for a REML fit (see the module docstring for the algebra).

    Computed in the engine's units (:mod:`..engine.conditioning`: X° = X A, Z°_k = Z_k B_k,
    y° = (y - Xγ̂)/s), then mapped back: Φ = s² A Φ° A', Φ_A likewise and
    P_r = s⁻² A⁻ᵀ P°_r A⁻¹, which leaves every ``kr_adjust`` quantity of a contrast L
    equal to that of L° = s L A in the engine's units.  The variance parameters of the
    two parametrisations are linear images of each other, under which the adjustment is
    invariant.
    """
    if not res.reml:
        raise ValueError(
            "Kenward-Roger needs a REML fit (pbkrtest refits ML models with REML); "
            "use res.refit(reml=True).coefficients(ddf='kenward-roger')."
        )
    # Z'Z, Z'X and X'X in the engine's units are blocks of the fit's cross-products, so
    # the adjustment needs no rows (fits on data that stay in a database have none).
    cp = res.engine.cp
    n, p = cp.n, cp.p
    m = cp.A11.shape[0] * cp.A11.shape[1] + cp.m_rest
    if m > KR_MAX_RANDOM_EFFECTS:
        raise ValueError(
            f"Kenward-Roger needs dense {m:,} x {m:,} matrices for this model's {m:,} random "
            "effects (more than the "
            f"{KR_MAX_RANDOM_EFFECTS:,} allowed, about {8 * m * m * 6 / 1e9:.0f} GB); use "
            "ddf='satterthwaite', which needs no such matrices."
        )
    omega = dense_omega(cp)
    s2 = float(res.engine_sigma) ** 2
    K = omega[:m, :m]
    ZX = omega[:m, m : m + p]
    XX = omega[m : m + p, m : m + p]

    # Relative factor Λ (block diagonal) and the per-parameter index pairs of M_r.
    T = split_theta(res.engine.cp, np.asarray(res.engine_theta, dtype=float))
    lam = np.zeros((m, m))
    params: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, cols) of M_r's ones
    offset = 0
    for term, Tk in zip(cp.terms, T, strict=False):
        q, nl = term.q, term.n_levels
        base = offset + q * np.arange(nl)
        for a in range(q):
            for b in range(q):
                lam[base + a, base + b] = Tk[a, b]
        rows, cols = lower_tri_index(q)
        for i, j in zip(rows, cols, strict=False):
            r, c = base + i, base + j
            if i == j:
                params.append((r, c))
            else:
                params.append((np.concatenate([r, c]), np.concatenate([c, r])))
        offset += q * nl

    M = lam.T @ K @ lam
    M[np.diag_indices(m)] += 1.0
    H = lam @ np.linalg.solve(M, lam.T)
    HK = H @ K
    E = np.eye(m) - HK
    C1 = K @ E / s2  # Z'Σ⁻¹Z
    C1 = (C1 + C1.T) / 2
    C2 = E.T @ K @ E / s2**2  # Z'Σ⁻²Z
    B1 = E.T @ ZX / s2  # Z'Σ⁻¹X
    B2 = (E @ E).T @ ZX / s2**2  # Z'Σ⁻²X
    Wx = H @ ZX  # N X = X - Z Wx
    XNX = XX - ZX.T @ Wx
    XN2X = XX - 2 * ZX.T @ Wx + Wx.T @ K @ Wx
    XN3X = XNX - ZX.T @ E @ Wx - (ZX.T @ E @ Wx).T + Wx.T @ K @ E @ Wx
    tr_hk = float(np.trace(HK))
    tr_N2 = n - 2 * tr_hk + float(np.sum(HK * HK.T))

    def msel(idx: tuple[np.ndarray, np.ndarray], Y: np.ndarray) -> np.ndarray:
        """M_r Y as a dense matrix (rows of Y moved to M_r's row positions)."""
        out = np.zeros((m, Y.shape[1]))
        np.add.at(out, idx[0], Y[idx[1]])
        return out

    n_re = len(params)
    M_total = n_re + 1
    P = np.empty((M_total, p, p))
    Q = np.empty((M_total, M_total, p, p))
    Kt = np.empty((M_total, M_total))
    MB = [msel(idx, B1) for idx in params]  # M_r Z'Σ⁻¹X
    for r, idx in enumerate(params):
        P[r] = -B1.T @ MB[r]
        Kt[r, n_re] = Kt[n_re, r] = float(np.sum(C2[idx[1], idx[0]]))
        Q[r, n_re] = MB[r].T @ B2
        Q[n_re, r] = Q[r, n_re].T
        for s in range(r, n_re):
            a_s, b_s = params[s]
            # tr(M_r C M_s C) = Σ over M_s's (a, b) and M_r's (c, d) of C[b, c] C[d, a]
            Kt[r, s] = Kt[s, r] = float(np.sum(C1[np.ix_(b_s, idx[0])] * C1[np.ix_(idx[1], a_s)].T))
            Q[r, s] = MB[r].T @ C1 @ MB[s]
            Q[s, r] = Q[r, s].T
    P[n_re] = -XN2X / s2**2
    Q[n_re, n_re] = XN3X / s2**3
    Kt[n_re, n_re] = tr_N2 / s2**2
    P = (P + P.transpose(0, 2, 1)) / 2

    Phi = s2 * unscaled_vcov(res.factor, cp.m_rest, cp.p)  # the fit's own vcov(β°)
    IE2 = np.empty((M_total, M_total))
    for r in range(M_total):
        PhiPr = Phi @ P[r]
        for s in range(r, M_total):
            IE2[r, s] = IE2[s, r] = (
                Kt[r, s] - 2 * np.sum(Phi * Q[r, s]) + np.sum(PhiPr * (P[s] @ Phi))
            )
    evals = np.linalg.eigvalsh(IE2)
    W = 2 * (np.linalg.inv(IE2) if np.min(np.abs(evals)) > 1e-10 else np.linalg.pinv(IE2))
    W = (W + W.T) / 2
    U = np.zeros((p, p))
    for r in range(M_total):
        for s in range(M_total):
            U += W[r, s] * (Q[r, s] - P[r] @ Phi @ P[s])
    Phi_A = Phi + 2 * Phi @ U @ Phi
    cond = res.conditioning
    back = cond.A_inv / cond.scale  # β° = back (β - γ̂): P_r = back' P°_r back
    P_user = np.einsum("ai,rab,bj->rij", back, P, back)
    return KenwardRogerParts(cond.vcov(Phi), cond.vcov((Phi_A + Phi_A.T) / 2), P_user, W)


#: ``compute_kr(res)``, computed once per result object.
cached_kr = cache_per_result(compute_kr)

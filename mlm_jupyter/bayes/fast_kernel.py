""":func:`.kernel.marginal` for one grouping factor, compiled with numba (one pass per level).

The same formulas as :mod:`.kernel` (its docstring has the derivation), written as loops
over levels and the tiny q x q blocks, so one evaluation costs microseconds instead of the
~100 NumPy calls of the reference implementation (which NUTS would repeat ~30,000 times).
The tests hold this kernel to the NumPy one; without numba the NumPy one is used.
"""

from __future__ import annotations

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - the NumPy kernel is used instead
    njit = None


def _chol_inv(M: np.ndarray, q: int) -> tuple[np.ndarray, float, bool]:
    """(M⁻¹, log|M|, ok) of a small symmetric positive definite matrix by Cholesky."""
    L = np.zeros((q, q))
    logdet = 0.0
    for i in range(q):
        for k in range(i + 1):
            s = M[i, k]
            for m in range(k):
                s -= L[i, m] * L[k, m]
            if i == k:
                if not s > 0.0:
                    return L, 0.0, False
                L[i, i] = np.sqrt(s)
                logdet += 2.0 * np.log(L[i, i])
            else:
                L[i, k] = s / L[k, k]
    Li = np.zeros((q, q))
    for i in range(q):
        Li[i, i] = 1.0 / L[i, i]
        for k in range(i):
            s = 0.0
            for m in range(k, i):
                s -= L[i, m] * Li[m, k]
            Li[i, k] = s / L[i, i]
    inv = np.zeros((q, q))
    for a in range(q):
        for b in range(q):
            s = 0.0
            for m in range(max(a, b), q):
                s += Li[m, a] * Li[m, b]
            inv[a, b] = s
    return inv, logdet, True


def _single_factor(A, G, WW, n, lam, tau, P0, h0, k0, half_logdet_pi):
    nl, q, r = G.shape
    p = r - 1
    C = WW.copy()
    logdet_M = 0.0
    Q = np.empty((nl, q, r))
    AL = np.empty((nl, q, q))
    Minv = np.empty((nl, q, q))
    M = np.empty((q, q))
    K = np.empty((q, r))
    for j in range(nl):
        for a in range(q):
            for b in range(q):
                s = 0.0
                for c in range(q):
                    s += A[j, a, c] * lam[c, b]
                AL[j, a, b] = s
        for a in range(q):
            for b in range(q):
                s = 1.0 if a == b else 0.0
                for c in range(q):
                    s += lam[c, a] * AL[j, c, b]
                M[a, b] = s
        Mi, ld, ok = _chol_inv(M, q)
        if not ok:
            return -np.inf, np.zeros((q, q)), 0.0, np.zeros(p), np.zeros((p, p)), False
        logdet_M += ld
        Minv[j] = Mi
        for a in range(q):
            for x in range(r):
                s = 0.0
                for c in range(q):
                    s += lam[c, a] * G[j, c, x]
                K[a, x] = s
        for a in range(q):
            for x in range(r):
                s = 0.0
                for c in range(q):
                    s += Mi[a, c] * K[c, x]
                Q[j, a, x] = s
        for x in range(r):
            for y in range(r):
                s = 0.0
                for a in range(q):
                    s += K[a, x] * Q[j, a, y]
                C[x, y] -= s
    w = np.empty(r)
    w[p] = -1.0
    if p > 0:
        H = tau * C[:p, :p] + P0
        Hi, logdet_H, ok = _chol_inv(H, p)
        if not ok:
            return -np.inf, np.zeros((q, q)), 0.0, np.zeros(p), np.zeros((p, p)), False
        hv = tau * C[:p, p] + h0
        mu = Hi @ hv
        quad = tau * C[p, p] + k0 - mu @ hv
        w[:p] = mu
    else:
        Hi, logdet_H, mu = np.zeros((0, 0)), 0.0, np.zeros(0)
        quad = tau * C[0, 0]
    value = 0.5 * n * np.log(tau) - 0.5 * logdet_M - 0.5 * quad - 0.5 * logdet_H + half_logdet_pi
    outer = np.zeros((q, q))
    trace = np.zeros((q, q))
    R = np.empty((q, r))
    Rw = np.empty(q)
    Qw = np.empty(q)
    RH = np.empty((q, p))
    for j in range(nl):
        for a in range(q):
            for x in range(r):
                s = G[j, a, x]
                for c in range(q):
                    s -= AL[j, a, c] * Q[j, c, x]
                R[a, x] = s
        for a in range(q):
            s1 = 0.0
            s2 = 0.0
            for x in range(r):
                s1 += R[a, x] * w[x]
                s2 += Q[j, a, x] * w[x]
            Rw[a] = s1
            Qw[a] = s2
        for a in range(q):
            for x in range(p):
                s = 0.0
                for y in range(p):
                    s += R[a, y] * Hi[y, x]
                RH[a, x] = s
        for a in range(q):
            for b in range(q):
                s = Rw[a] * Qw[b]
                for x in range(p):
                    s += RH[a, x] * Q[j, b, x]
                outer[a, b] += s
                t = 0.0
                for c in range(q):
                    t += AL[j, a, c] * Minv[j, c, b]
                trace[a, b] += t
    wCw = w @ C @ w
    grad_tau = 0.5 * n / tau - 0.5 * wCw
    for x in range(p):
        for y in range(p):
            grad_tau -= 0.5 * Hi[x, y] * C[x, y]
    return value, tau * outer - trace, grad_tau, mu, Hi, True


if njit is not None:
    _chol_inv = njit(cache=True)(_chol_inv)
    single_factor = njit(cache=True)(_single_factor)
else:  # pragma: no cover
    single_factor = None

"""Satterthwaite's degrees of freedom exactly as lmerTest computes them.

lmerTest (Kuznetsova, Brockhoff & Christensen 2017) works with the variance parameters
``varpar = (θ, σ)`` and the *unprofiled* criterion

    d(θ, σ) = log|L_Z|² [+ log|RX|²] + ν log(2πσ²) + r²(θ) / σ²,   ν = n - p (REML) or n,

where r²(θ) is the penalised residual sum of squares at β̂(θ).  With H the Hessian of d at
the estimates, the asymptotic covariance of varpar is ``A = 2 H⁻¹`` (Moore-Penrose inverse
over eigenvalues above 1e-8, as lmerTest), and with ``J_k = ∂ vcov(β) / ∂ varpar_k``,
for a contrast l

    var(l'β̂) = l' V l,   g_k = l' J_k l,   df = 2 (l' V l)² / (g' A g).

Derivatives in σ are analytic (vcov(β) = σ² U(θ), U = (RX'RX)⁻¹).  In θ, the engine's
exact gradients of log|L_Z|² [+ log|RX|²] and r² are differenced centrally (second
derivatives to O(h²) from 2k gradient evaluations for k = dim θ, with U read off the
same factorisations).  lmerTest differences the criterion itself with numDeriv's
Richardson scheme; both agree to ~1e-6 relative.  When a model has no exact gradient
(a coupling pattern too dense to plan) Richardson differences of the values are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..caching import cache_per_result
from ..engine.objective import unscaled_vcov
from ..engine.threads import blas_limit
from ..messages import satterthwaite_not_minimum, warn

EIGEN_TOL = 1e-8  # lmerTest's tolerance for zero / negative Hessian eigenvalues


@dataclass(frozen=True)
class SatterthwaiteParts:
    """Everything Satterthwaite's df needs for any contrast of one fit.

    Attributes
    ----------
    vcov : ndarray (p, p)
        vcov(β̂) = σ² U(θ̂).
    vcov_grad : ndarray (k, p, p)
        ∂ vcov(β̂) / ∂ varpar_k, varpar = (θ, σ).
    varpar_cov : ndarray (k, k)
        A = 2 H⁻¹, the asymptotic covariance of varpar.
    hessian_eigenvalues : ndarray (k,)
        Eigenvalues of H (negative or near-zero ones mean the optimum is not a proper
        minimum, as lmerTest warns).
    """

    vcov: np.ndarray
    vcov_grad: np.ndarray
    varpar_cov: np.ndarray
    hessian_eigenvalues: np.ndarray

    def df(self, L: np.ndarray) -> float:
        """Satterthwaite df of the single contrast ``L`` (length p)."""
        L = np.asarray(L, dtype=float)
        var = float(L @ self.vcov @ L)
        g = np.einsum("i,kij,j->k", L, self.vcov_grad, L)
        denom = float(g @ self.varpar_cov @ g)
        if denom <= 0:
            return float("inf")
        return 2.0 * var**2 / denom


def _pieces(obj: Any, theta: np.ndarray) -> np.ndarray:
    """(log|L_Z|² [+ log|RX|²], r², U.ravel()) at θ, from one factorisation."""
    cp = obj.cp
    f = obj.factor(theta)
    if f is None:
        raise np.linalg.LinAlgError(f"the model is not positive definite at θ = {theta}")
    m_r, p = cp.m_rest, cp.p
    d22 = np.diag(f.L22)
    logdet = f.logdet_Z(m_r)
    if obj.reml:
        logdet += 2.0 * float(np.log(d22[m_r : m_r + p]).sum())
    U = unscaled_vcov(f, m_r, p)
    return np.concatenate([[logdet, d22[-1] ** 2], U.ravel()])


def _derivatives(
    fun: Any, x: np.ndarray, rel_step: float = 2e-3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value, gradient (k, m) and Hessian (k, k, m) of a vector function by Richardson.

    Central differences at steps h and h/2 are combined as (4 D(h/2) - D(h)) / 3, which
    cancels the O(h²) error; h is relative to |x| with a floor so that parameters at 0
    (boundary fits) still get a useful step.
    """
    k = x.size
    f0 = fun(x)
    base = rel_step * np.maximum(np.abs(x), 0.05)

    def at_step(scale: float) -> tuple[np.ndarray, np.ndarray]:
        h = base * scale
        grad = np.empty((k, f0.size))
        hess = np.empty((k, k, f0.size))
        plus, minus = [], []
        for i in range(k):
            e = np.zeros(k)
            e[i] = h[i]
            fp, fm = fun(x + e), fun(x - e)
            plus.append(fp)
            minus.append(fm)
            grad[i] = (fp - fm) / (2 * h[i])
            hess[i, i] = (fp - 2 * f0 + fm) / h[i] ** 2
        for i in range(k):
            for j in range(i):
                ei = np.zeros(k)
                ej = np.zeros(k)
                ei[i], ej[j] = h[i], h[j]
                val = (
                    fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej) + fun(x - ei - ej)
                ) / (4 * h[i] * h[j])
                hess[i, j] = hess[j, i] = val
        return grad, hess

    g1, h1 = at_step(1.0)
    g2, h2 = at_step(0.5)
    return f0, (4 * g2 - g1) / 3, (4 * h2 - h1) / 3


def _gradient_differences(
    obj: Any, theta: np.ndarray, rel_step: float = 1e-4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Same output as :func:`_derivatives` of :func:`_pieces`, from exact gradients.

    Value and gradient of (log-determinant, r²) are exact at θ; their Hessians and the
    Jacobian of U are central differences of exact quantities at θ ± h e_i.
    """
    k = theta.size
    centre = obj.gradient_parts(theta)
    if centre is None:
        raise np.linalg.LinAlgError(f"the model is not positive definite at θ = {theta}")
    p = centre.vcov_unscaled.shape[0]
    f0 = np.concatenate([[centre.logdet, centre.r2], centre.vcov_unscaled.ravel()])
    grad = np.empty((k, f0.size))
    hess = np.zeros((k, k, f0.size))
    steps = rel_step * np.maximum(np.abs(theta), 0.05)
    for i in range(k):
        up, down = theta.copy(), theta.copy()
        up[i] += steps[i]
        down[i] -= steps[i]
        plus, minus = obj.gradient_parts(up), obj.gradient_parts(down)
        if plus is None or minus is None:
            raise np.linalg.LinAlgError(f"the model is not positive definite near θ = {theta}")
        h2 = 2 * steps[i]
        hess[:, i, 0] = (plus.grad_logdet - minus.grad_logdet) / h2
        hess[:, i, 1] = (plus.grad_r2 - minus.grad_r2) / h2
        grad[i, 2:] = ((plus.vcov_unscaled - minus.vcov_unscaled) / h2).reshape(p * p)
    grad[:, 0] = centre.grad_logdet
    grad[:, 1] = centre.grad_r2
    hess[:, :, :2] = (hess[:, :, :2] + hess[:, :, :2].transpose(1, 0, 2)) / 2
    return f0, grad, hess


def compute_parts(res: Any) -> SatterthwaiteParts:
    """Hessian of d(θ, σ) and Jacobian of vcov(β) at the estimates of ``res``.

    Computed in the engine's units (θ°, σ°, β°; :mod:`..engine.conditioning`), where the
    Hessian's entries are of comparable size whatever the data's units, then mapped to
    the user's β: vcov(β) = s² A vcov(β°) A'.  The df of any contrast are invariant under
    this linear map (l'Vl and every l'J_k l scale by the same s²), so they do not depend on
    the units of y or of any predictor.
    """
    obj = res.engine
    cp = obj.cp
    theta = np.asarray(res.engine_theta, dtype=float)
    sigma = float(res.engine_sigma)
    p, k = cp.p, theta.size
    nu = cp.n - p if obj.reml else cp.n

    with blas_limit(obj):
        if getattr(obj, "has_gradient", False):
            f0, grad, hess = _gradient_differences(obj, theta)
        else:
            f0, grad, hess = _derivatives(lambda t: _pieces(obj, t), theta)
    r2 = f0[1]
    U = f0[2:].reshape(p, p)
    s2 = sigma**2
    H = np.empty((k + 1, k + 1))
    H[:k, :k] = hess[:, :, 0] + hess[:, :, 1] / s2
    H[:k, k] = H[k, :k] = -2.0 * grad[:, 1] / sigma**3
    H[k, k] = -2.0 * nu / s2 + 6.0 * r2 / s2**2
    H = (H + H.T) / 2
    evals, evecs = np.linalg.eigh(H)
    if np.any(evals < -EIGEN_TOL):
        # lmerTest's warning: the estimates are not a minimum of d(θ, σ), so A is suspect.
        warn(satterthwaite_not_minimum(evals[evals < -EIGEN_TOL]), stacklevel=3)
    pos = evals > EIGEN_TOL
    h_inv = (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
    jac = np.empty((k + 1, p, p))
    jac[:k] = s2 * grad[:, 2:].reshape(k, p, p)
    jac[k] = 2.0 * sigma * U
    jac = (jac + jac.transpose(0, 2, 1)) / 2
    cond = res.conditioning
    vcov = cond.vcov(s2 * U)
    jac = np.stack([cond.vcov(J) for J in jac]) if k + 1 else jac
    return SatterthwaiteParts(vcov, jac, 2.0 * h_inv, evals)


#: ``compute_parts(res)``, computed once per result object.
cached_parts = cache_per_result(compute_parts)


def hessian_message(res: Any) -> str:
    """The plain-words message when the df rest on a Hessian that is not positive definite
    ('' otherwise), for the displays (the warning itself is emitted once, when computed)."""
    evals = cached_parts(res).hessian_eigenvalues
    bad = evals[evals < -EIGEN_TOL]
    return satterthwaite_not_minimum(bad) if bad.size else ""


def satterthwaite_parts(res: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(vcov_grad (k, p, p), varpar_cov (k, k))`` for the explorer widget.

    The df of any contrast l is ``2 (l'Vl)² / (g'Ag)`` with ``g_k = l' vcov_grad[k] l`` and
    ``A = varpar_cov``; varpar = (θ, σ) as in lmerTest.
    """
    parts = cached_parts(res)
    return parts.vcov_grad.copy(), parts.varpar_cov.copy()

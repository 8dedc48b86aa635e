"""Simulate responses from a fit and refit cheaply (parametric bootstrap).

A new response only changes the y row/column of the cross-products of ``[Z X y]``:
``D[-1]`` (y'Z1 per level), ``A22[-1, :]`` and ``A22[:, -1]`` (y'Z_rest, y'X, y'y).
``ResponseUpdater`` keeps Z and X and recomputes those O(n·q) numbers per replicate,
so a bootstrap refit never rebuilds the design or the other cross-products.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from .blocks import CrossProducts, term_sparse
from .coupling import CouplingPlan, adopt_plan, plan_for
from .objective import ProfiledDeviance, split_theta


class ResponseUpdater:
    """Cross-products of one design with the response swapped for another vector."""

    def __init__(self, design: Any, cp: CrossProducts):
        self.cp = cp
        self.X = design.X
        first = design.terms[0]
        self.codes1, self.Z1 = first.codes, first.Z
        self.n_levels1 = first.n_levels
        rest = [term_sparse(t) for t in design.terms[1:]]
        self.R = sp.hstack(rest, format="csr") if rest else None
        self._plans: dict[bool, CouplingPlan | None] = {}

    def objective(self, y: np.ndarray, reml: bool) -> ProfiledDeviance:
        """The criterion for response ``y``, sharing one gradient plan across replicates.

        The plan lists the pattern and values of Z_rest'Z1 and X'Z1, which a new
        response does not change (building it is the costly part for crossed designs).
        """
        obj = ProfiledDeviance(self.cross_products(y), reml=reml)
        if obj.cp.m_rest:
            if reml in self._plans:
                adopt_plan(obj, self._plans[reml])
            else:
                self._plans[reml] = plan_for(obj)
        return obj

    def cross_products(self, y: np.ndarray) -> CrossProducts:
        cp = self.cp
        D = cp.D.copy()
        for a in range(self.Z1.shape[1]):
            D[-1, :, a] = np.bincount(
                self.codes1, weights=y * self.Z1[:, a], minlength=self.n_levels1
            )
        A22 = cp.A22.copy()
        m_r = cp.m_rest
        col = np.empty(A22.shape[0])
        if self.R is not None:
            col[:m_r] = self.R.T @ y
        col[m_r:-1] = self.X.T @ y
        col[-1] = y @ y
        A22[:, -1] = col
        A22[-1, :] = col
        return replace(cp, D=D, A22=A22)


def simulate_responses(res: Any, nsim: int, rng: np.random.Generator) -> np.ndarray:
    """``nsim`` responses from the fitted model (lme4's ``simulate``): (nsim, n).

    y* = X γ̂ + Σ_k Z_k b*_k + ε*,  b*_kj = σ̂ T_k u,  u ~ N(0, I),  ε* ~ N(0, σ̂² I).
    """
    design = res.design
    sigma = float(res.sigma)
    mean = design.X @ res.fixef.to_numpy()
    T = split_theta(res.engine.cp, np.asarray(res.theta, dtype=float))
    out = np.empty((nsim, design.n))
    for i in range(nsim):
        y = mean + sigma * rng.standard_normal(design.n)
        for term, Tk in zip(design.terms, T, strict=False):
            b = sigma * rng.standard_normal((term.n_levels, term.q)) @ Tk.T
            y = y + np.einsum("nq,nq->n", term.Z, b[term.codes])
        out[i] = y
    return out


@dataclass(frozen=True)
class QuickFit:
    """What a bootstrap replicate keeps: θ, objective and convergence."""

    theta: np.ndarray
    objective: float
    converged: bool
    message: str


def quick_refit(obj: ProfiledDeviance, theta0: np.ndarray) -> QuickFit:
    """Minimise the profiled objective from a warm start (L-BFGS-B, exact gradient).

    Lighter than ``engine.fit.optimize`` (no Newton polish or convergence report), which
    is what a parametric bootstrap needs: the warm start is already near the optimum.
    Models without an exact gradient use forward differences.
    """
    lower = obj.lower
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    # Forward differences: k + 1 evaluations per gradient instead of 2k + 1.  With a step
    # of 1e-7 the gradient error (~ h f'' + eps f / h) is far below what moves the optimum
    # of a deviance in the thousands by more than 1e-8 (checked against the full optimizer).
    step = 1e-7
    exact = obj.has_gradient

    def fun_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        if exact:
            value, grad = obj.value_and_gradient(theta)
            return (value, grad) if np.isfinite(value) else (1e300, np.zeros_like(theta))
        value = obj(theta)
        if not np.isfinite(value):
            return 1e300, np.zeros_like(theta)
        grad = np.empty_like(theta)
        for i in range(theta.size):
            h = step * max(1.0, abs(theta[i]))
            up = theta.copy()
            up[i] += h
            grad[i] = (obj(up) - value) / h
        return value, grad

    try:
        out = minimize(
            fun_and_grad,
            np.asarray(theta0, dtype=float),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-6},
        )
    except (np.linalg.LinAlgError, ValueError) as err:
        return QuickFit(np.asarray(theta0, dtype=float), float("nan"), False, str(err))
    finite = bool(np.isfinite(out.fun) and out.fun < 1e299)
    # L-BFGS-B stops with "ABNORMAL" when the line search cannot improve at machine
    # precision: that is an optimum, not a failure, if the projected gradient is small.
    x = np.asarray(out.x, dtype=float)
    free = ~((x <= lower + 1e-10) & (out.jac > 0))
    small_grad = bool(np.all(np.abs(out.jac[free]) < 1e-2 * max(1.0, abs(out.fun)) ** 0.5))
    converged = finite and (bool(out.success) or small_grad)
    return QuickFit(x, float(out.fun), converged, str(out.message))

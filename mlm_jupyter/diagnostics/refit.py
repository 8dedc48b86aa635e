"""Fast exact refits without a cluster: subtract its cross-products, warm-start from θ̂.

Deleting cluster j removes its rows from ``[Z X y]'[Z X y]``; the cross-products of the
reduced data are the full ones minus the cluster's own, so a refit never touches the N
rows.  The deleted levels keep zero blocks: their factor block is I (log|I| = 0) and their
conditional modes are 0, so the criterion is exactly lme4's on the reduced data.

The optimum moves little when one of G clusters goes (O(1/G)), so a quasi-Newton
iteration started at θ̂ with the full fit's inverse Hessian (BFGS-updated) converges in
two to four steps; each step costs one gradient (analytic when the engine has it, else
2k evaluations).  Parameters on their bound in the full fit stay there unless the
one-sided derivative says the deletion pulls them off; that case, a step heading for a
bound, or no convergence falls back to the general optimiser started at θ̂.

:class:`DeletionRefitter` is the one place that turns "the model without these rows" into
estimates: cluster influence (``influence.py``) and cross-validation (``crossval.py``) both
call it, so neither touches the engine's cross-products or factors itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ..engine.blocks import CrossProducts, cross_products
from ..engine.fit import numeric_gradient, numeric_hessian, optimize
from ..engine.objective import ProfiledDeviance, solve, unscaled_vcov
from ..rank import dependent_columns

if TYPE_CHECKING:  # pragma: no cover
    from ..results import MixedModelResult

STEP_TOL = 1e-7  # stop when every |Δθ| < STEP_TOL (1 + |θ|): statistics then exact to ~1e-6
MAX_STEPS = 10
BOUND_TOL = 1e-4  # lme4's singular tolerance: a bounded θ below it is on its bound
_RANK_TOL = 1e-10  # squared relative length of a column's part orthogonal to earlier ones


def subtract(cp: CrossProducts, part: CrossProducts) -> CrossProducts:
    """Cross-products of the data without the rows that formed ``part``."""
    S = sp.csr_matrix(cp.S - part.S) if cp.S.shape[0] else cp.S
    return CrossProducts(
        A11=cp.A11 - part.A11, S=S, D=cp.D - part.D, A22=cp.A22 - part.A22,
        n=cp.n - part.n, p=cp.p, terms=cp.terms,
    )


def _gradient(obj: ProfiledDeviance, theta: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Gradient of the criterion over the free parameters ``idx``."""
    if getattr(obj, "has_gradient", False):
        return np.asarray(obj.value_and_gradient(theta)[1])[idx]

    def sub(t: np.ndarray) -> float:
        full = theta.copy()
        full[idx] = t
        return obj(full)

    return numeric_gradient(sub, theta[idx], obj.lower[idx])


@dataclass(frozen=True)
class WarmStart:
    """What every deletion refit reuses from the full fit."""

    theta: np.ndarray
    free: np.ndarray  # indices of θ not on a bound
    hessian_inv: np.ndarray | None  # over ``free``; None: use the general optimiser


def warm_start(obj: ProfiledDeviance, theta: np.ndarray) -> WarmStart:
    """Inverse Hessian of the full fit's criterion at θ̂ over the parameters off their bounds."""
    theta = np.asarray(theta, dtype=float)
    free = np.flatnonzero(~((obj.lower == 0) & (theta < BOUND_TOL)))
    if free.size == 0:
        return WarmStart(theta, free, np.zeros((0, 0)))

    def sub(t: np.ndarray) -> float:
        full = theta.copy()
        full[free] = t
        return obj(full)

    H = numeric_hessian(sub, theta[free], sub(theta[free]))
    try:
        np.linalg.cholesky(H)
        Hinv = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return WarmStart(theta, free, None)
    return WarmStart(theta, free, Hinv)


def _leaves_bound(obj: ProfiledDeviance, theta: np.ndarray, free: np.ndarray) -> bool:
    """True when the criterion decreases as some bounded θ_i (= 0) moves into the interior."""
    at_bound = np.setdiff1d(np.flatnonzero(obj.lower == 0), free)
    if at_bound.size == 0:
        return False
    f0 = obj(theta)
    for i in at_bound:
        up = theta.copy()
        up[i] = 1e-3
        if obj(up) < f0 - 1e-10:
            return True
    return False


def refit_theta(obj: ProfiledDeviance, start: WarmStart) -> tuple[np.ndarray, bool]:
    """θ̂ of ``obj`` (a deletion criterion) from the full fit's θ̂ and Hessian.

    Returns (θ, converged).  Steps θ_F ← θ_F - B g_F on the free set F, with B the full
    fit's inverse Hessian refined by BFGS updates (it stays positive definite).
    """
    theta = start.theta.copy()
    free, B = start.free, start.hessian_inv
    if B is not None:
        lower = obj.lower
        if free.size == 0:
            if not _leaves_bound(obj, theta, free):
                return theta, True
        else:
            g = _gradient(obj, theta, free)
            for _ in range(MAX_STEPS):
                step = -B @ g
                new = theta.copy()
                new[free] += step
                to_bound = (lower == 0) & (new < BOUND_TOL) & (theta >= BOUND_TOL)
                if not np.all(np.isfinite(new)) or np.any(to_bound):
                    break  # heading for a bound: let the bounded optimiser decide
                if np.all(np.abs(step) < STEP_TOL * (1 + np.abs(theta[free]))):
                    if _leaves_bound(obj, new, free):
                        theta = new
                        break
                    return new, True
                g_new = _gradient(obj, new, free)
                y = g_new - g
                sy = float(step @ y)
                if sy > 1e-300:
                    rho = 1.0 / sy
                    V = np.eye(free.size) - rho * np.outer(step, y)
                    B = V @ B @ V.T + rho * np.outer(step, step)
                theta, g = new, g_new
    record = optimize(obj, theta0=theta if np.isfinite(obj(theta)) else start.theta)
    return record.theta, record.converged


def aliased_columns(xtx: np.ndarray, names: tuple[str, ...]) -> list[str]:
    """Columns of X that are (numerically) combinations of earlier ones, from X'X alone."""
    d = np.sqrt(np.clip(np.diag(xtx), 0.0, None))
    scale = np.where(d > 0, d, 1.0)
    G = xtx / np.outer(scale, scale)
    keep: list[int] = []
    bad = []
    for k in range(G.shape[0]):
        if d[k] == 0:
            bad.append(names[k])
            continue
        if keep:
            sol = np.linalg.lstsq(G[np.ix_(keep, keep)], G[keep, k], rcond=None)[0]
            resid = G[k, k] - G[k, keep] @ sol
        else:
            resid = G[k, k]
        if resid < _RANK_TOL:
            bad.append(names[k])
        else:
            keep.append(k)
    return bad


class RefitError(ValueError):
    """The model cannot be refitted without these rows; the message says why."""


@dataclass(frozen=True)
class DeletionFit:
    """The model refitted without some rows, in the user's units.

    Attributes
    ----------
    theta : ndarray
        Relative covariance parameters (lme4's order and meaning).
    beta : ndarray
        Fixed effects γ.
    sigma : float
        Residual SD.
    vcov : ndarray (p, p)
        Covariance of γ, σ² (RX'RX)⁻¹.
    factors : list of ndarray
        Per random term the lower-triangular T_k (Λ's block; Σ_k = σ² T_k T_k').
    converged : bool
        False when the refit stopped short of the convergence test.
    """

    theta: np.ndarray
    beta: np.ndarray
    sigma: float
    vcov: np.ndarray
    factors: list[np.ndarray]
    converged: bool


class DeletionRefitter:
    """Refits of one fitted model without given rows (cross-products subtracted, warm start).

    Parameters
    ----------
    res : MixedModelResult
    exact : bool, default True
        True: θ re-estimated for every refit (warm-started from θ̂ with the full fit's
        inverse Hessian, computed once here).  False: θ held at θ̂, γ and σ recomputed.
    """

    def __init__(self, res: MixedModelResult, exact: bool = True):
        self.res = res
        self.exact = exact
        self._cp = res.engine.cp
        self._start = warm_start(res.engine, res.engine_theta) if exact else None
        self._level_counts = [np.bincount(t.codes, minlength=t.n_levels) for t in res.design.terms]

    def blocker(self, rows: np.ndarray, n_left: int, xtx_left: np.ndarray,
                what: str = "this cluster") -> str:
        """Why the model cannot be refitted without ``rows`` ('' when it can)."""
        design = self.res.design
        for term, counts in zip(design.terms, self._level_counts, strict=True):
            left = counts - np.bincount(term.codes[rows], minlength=term.n_levels)
            if np.count_nonzero(left) < 2:
                return (f"removing {what} leaves grouping factor '{term.group}' with "
                        f"{np.count_nonzero(left)} level(s); a variance needs at least two")
        p = design.p
        if n_left - p <= 0:
            return f"only {n_left} observations would remain for {p} fixed effects"
        # The check runs on the engine's X'X (well conditioned); a deficiency is then named
        # from the user's columns of the rows that remain.
        if aliased_columns(xtx_left, design.fixed_names):
            keep = np.ones(design.n, dtype=bool)
            keep[rows] = False
            dependent = dependent_columns(design.X[keep])
            bad = [n for n, d in zip(design.fixed_names, dependent, strict=True) if d] or [
                "a combination of columns"]
            return (f"without {what} X is rank deficient: "
                    + ", ".join(f"'{b}'" for b in bad)
                    + " would be constant or a combination of other columns (lme4 would drop it)")
        return ""

    def refit(self, rows: np.ndarray, what: str = "this cluster") -> DeletionFit:
        """The fit without ``rows`` (indices into the design's rows).

        Raises :class:`RefitError` (naming ``what`` was removed) when the reduced model
        cannot be fitted: a grouping factor left with one level, too few rows, X rank
        deficient, or a failed factorisation.
        """
        cp = self._cp
        m_r, p = cp.m_rest, cp.p
        cp_minus = subtract(cp, cross_products(self.res.engine_design, rows=rows))
        why = self.blocker(rows, cp_minus.n, cp_minus.A22[m_r:m_r + p, m_r:m_r + p], what)
        if why:
            raise RefitError(why)
        obj = ProfiledDeviance(cp_minus, reml=self.res.reml)
        try:
            if self._start is not None:
                theta, converged = refit_theta(obj, self._start)
            else:
                theta, converged = self.res.engine_theta, True
            sol = solve(obj, theta)
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise RefitError(f"the refit without {what} failed: {exc}") from exc
        cond = self.res.conditioning  # the full fit's map: exact for the reduced data too
        vcov = cond.vcov(unscaled_vcov(sol.factor, m_r, p) * sol.sigma**2)
        return DeletionFit(cond.theta(np.asarray(theta, dtype=float), cp), cond.beta(sol.beta),
                           float(cond.scale * sol.sigma), vcov, cond.T(list(sol.factor.T)),
                           bool(converged))

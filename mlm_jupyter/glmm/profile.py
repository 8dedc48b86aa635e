"""Likelihood-profile intervals for GLMMs (lme4's ``confint(m)``, ``method = "profile"``).

For each parameter ψ (a random-effect SD or correlation, or a fixed effect) the deviance
is minimised over all the others with ψ held fixed; the signed root
ζ(ψ) = sign(ψ - ψ̂) √(F(ψ) - F̂) is inverted at ±z_{(1+level)/2}.  The other parameters
are moved in lme4's profile coordinates (SDs, correlations, β in the user's units); the
negative binomial θ is held at its estimate (lme4 profiles glmer.nb's final glmer fit).
Both criteria (Laplace and quadrature) have an exact gradient, used through the chain
rule of the coordinate map.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..engine.theta import lower_tri_index
from ..engine.threads import single_blas_thread
from ..inference.confint import sdcor_to_theta, theta_to_sdcor
from .bootstrap import parameter_names

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult


class _Coordinates:
    """Profile coordinates φ = (SDs/correlations, β) <-> the criterion's parameters."""

    def __init__(self, res: GLMMResult):
        self.state = res.fit_state
        crit = self.state.criterion
        self.system = crit.system
        self.k = crit.n_theta
        self.p = crit.p
        self.nb = float(res.dispersion) if crit.estimate_nb else None
        self.criterion = self.state.quadrature or crit
        self.exact = hasattr(self.criterion, "value_and_gradient")
        self.hat = np.concatenate([theta_to_sdcor(self.system, res.theta, 1.0)[:-1],
                                   res.fixef.to_numpy()])
        bounds = []
        for term in self.system.terms:
            rows, cols = lower_tri_index(term.q)
            bounds += [(0.0, None) if r == c else (-1.0, 1.0) for r, c in zip(rows, cols,
                                                                               strict=True)]
        self.bounds = bounds + [(None, None)] * self.p

    def params(self, phi: np.ndarray) -> np.ndarray | None:
        sdcor = phi[: self.k]
        if np.any(sdcor[[b[0] == 0.0 for b in self.bounds[: self.k]]] < 0):
            return None
        theta = sdcor_to_theta(self.system, np.r_[sdcor, 1.0])
        if theta is None:
            return None
        return self.state.internal_params(theta, phi[self.k :], self.nb)

    def value(self, phi: np.ndarray) -> float:
        x = self.params(phi)
        return np.inf if x is None else float(self.criterion(x))

    def value_and_gradient(self, phi: np.ndarray) -> tuple[float, np.ndarray]:
        """F and dF/dφ = J'∇F (J by differences of the cheap coordinate map)."""
        x = self.params(phi)
        if x is None:
            return np.inf, np.zeros_like(phi)
        value, grad_x = self.criterion.value_and_gradient(x)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(phi)
        J = np.empty((x.size, phi.size))
        for i in range(phi.size):
            h = 1e-7 * max(1.0, abs(phi[i]))
            up = phi.copy()
            up[i] += h
            xu = self.params(up)
            if xu is None:
                up[i] -= 2 * h
                xu = self.params(up)
                h = -h
            J[:, i] = (xu - x) / h if xu is not None else 0.0
        return value, J.T @ grad_x


def profile_confint(res: GLMMResult, level: float = 0.95) -> pd.DataFrame:
    """Profile intervals for every SD/correlation and fixed effect (see module docstring)."""
    coords = _Coordinates(res)
    z = stats.norm.ppf(0.5 + level / 2)
    base = coords.value(coords.hat)
    se = np.sqrt(np.diag(res.vcov.to_numpy()))
    rows = []
    # scipy's L-BFGS-B calls BLAS on tiny vectors: one thread (many threads cost 6 ms a step)
    with single_blas_thread(), warnings.catch_warnings(), \
            np.errstate(invalid="ignore", over="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        for i, (readable, lme4) in enumerate(parameter_names(res)):
            lo_b, hi_b = coords.bounds[i]
            scale = se[i - coords.k] if i >= coords.k else (
                0.5 * abs(coords.hat[i]) if coords.hat[i] != 0 else 0.1)
            zeta = _zeta_function(coords, i, base)
            lo = _limit(zeta, coords.hat[i], scale, -z, lo_b)
            hi = _limit(zeta, coords.hat[i], scale, z, hi_b)
            rows.append((readable, lme4, lo, hi))
    table = pd.DataFrame(rows, columns=["parameter", "lme4_name", "lower", "upper"])
    table = table.set_index("parameter")
    table.attrs["level"] = level
    return table


def _zeta_function(coords: _Coordinates, i: int, base: float):
    """ζ(value) for parameter i, warm-starting each inner optimisation at the last one."""
    others = [b for j, b in enumerate(coords.bounds) if j != i]
    start = np.delete(coords.hat, i)
    hat = coords.hat[i]

    def zeta(value: float) -> float:
        def full(free: np.ndarray) -> np.ndarray:
            return np.insert(free, i, value)

        if coords.exact:
            def fg(free: np.ndarray):
                v, g = coords.value_and_gradient(full(free))
                return (1e300, np.zeros_like(free)) if not np.isfinite(v) else (v, np.delete(g, i))

            fit = optimize.minimize(fg, start, jac=True, method="L-BFGS-B", bounds=others,
                                    options={"ftol": 1e-11, "gtol": 1e-5})
        else:
            fit = optimize.minimize(lambda f: coords.value(full(f)), start, method="L-BFGS-B",
                                    bounds=others, options={"ftol": 1e-12})
        val = float(fit.fun)
        if np.isfinite(val) and val < 1e299:
            start[:] = fit.x
        return float(np.sign(value - hat) * np.sqrt(max(val - base, 0.0)))

    return zeta


def _limit(zeta, est: float, step: float, target: float, bound: float | None) -> float:
    """ψ where ζ(ψ) = target, bracketing outward from ``est`` (the bound if never reached;
    NaN when the profile cannot be followed)."""
    direction = np.sign(target)
    a, step = est, max(step, 1e-8)
    for _ in range(60):
        b = est + direction * step
        if bound is not None and (b - bound) * direction >= 0:
            b = bound
        zb = zeta(b)
        if not np.isfinite(zb):
            return float("nan")
        if (zb - target) * direction >= 0:
            # ζ is smooth and monotone here: a secant-type search to 1e-6 of the step size
            return float(optimize.brentq(lambda x: zeta(x) - target, a, b,
                                         xtol=1e-6 * max(step, 1e-8)))
        if bound is not None and b == bound:
            return float(bound)
        a, step = b, step * 1.6
    return float("nan")

"""Is θ̂ a minimum of the criterion?  First- and second-order checks, including the boundary.

An optimiser's "success" only says that it stopped.  Here the stopping point is checked
against the conditions that define a local minimum of d(θ) subject to lme4's bounds:

* **Interior coordinates** (every θ of a multi-column term, whose criterion is even in the
  sign of each column of T and is optimised without bounds, and scalar terms away from 0):
  lme4's scaled gradient max |H⁻¹g| below its tolerance, and a Hessian with no negative
  curvature.  A negative eigenvalue is a saddle: the criterion decreases along its
  eigenvector, which is probed.
* **Scalar terms at 0** (θ_k = 0, a variance on its bound): d is even in θ_k, so its
  θ-gradient vanishes there whatever the data say, and a gradient method that lands on 0
  cannot see that the criterion decreases off it.  The informative derivative is the one in
  φ_k = θ_k²: ∂d/∂φ_k = ½ ∂²d/∂θ_k² at 0, which must be ≥ 0.  Moving every such θ_k to a
  small h at once gives all of them from one gradient, because the mixed second
  derivatives with a coordinate at 0 vanish by the same symmetry.

Any direction in which the criterion really decreases (checked by evaluating it) is
returned as a better point, from which the optimiser restarts: lme4's ``restart_edge`` idea,
generalised to every bound and to saddles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SINGULAR_TOL = 1e-4  # lme4's isSingular(): a bounded θ below this is on the boundary
GRAD_TOL = 2e-3  # lme4's check.conv.grad tolerance on the scaled gradient
CURVATURE_TOL = 1e-6  # relative: eigenvalues below -tol·max(1, λ_max) are negative curvature
FLAT_TOL = 1e-8  # relative: |λ| below tol·max(1, λ_max) is a (numerically) flat direction
BOUNDARY_STEP = 1e-5  # θ_k = h where the φ-derivative of a scalar term at 0 is read off
PROBES = (1e-3, 1e-2, 0.05, 0.2, 0.5, 1.0)


@dataclass(frozen=True)
class OptimumCheck:
    """What the checks found at one θ.

    Attributes
    ----------
    max_scaled_gradient : float
        lme4's convergence measure over the interior coordinates.
    min_curvature : float
        Smallest Hessian eigenvalue over the interior coordinates, relative to
        max(1, largest); negative means a saddle.
    boundary_slopes : ndarray
        ∂d/∂φ_k for every scalar θ_k at 0 (negative: the criterion decreases off 0).
    better : ndarray or None
        A point with a lower criterion, when one was found.
    flat_ratio : float or None
        Smallest |Hessian eigenvalue| relative to the largest when below :data:`FLAT_TOL`
        (some combination of the variance parameters is hardly determined), else None.
    """

    max_scaled_gradient: float
    min_curvature: float
    boundary_slopes: np.ndarray
    better: np.ndarray | None
    flat_ratio: float | None = None

    @property
    def first_order(self) -> bool:
        return bool(self.max_scaled_gradient < GRAD_TOL)

    @property
    def second_order(self) -> bool:
        return bool(self.min_curvature >= -CURVATURE_TOL)

    @property
    def boundary(self) -> bool:
        return bool(np.all(self.boundary_slopes >= 0) or self.better is None)

    @property
    def ok(self) -> bool:
        return self.first_order and self.second_order and self.better is None


def scalar_term_mask(obj: Any) -> np.ndarray:
    """True for the θ of single-column terms (a scalar T_k, bounded at 0)."""
    return np.concatenate([np.full(t.n_theta, t.q == 1) for t in obj.cp.terms])


def boundary_coordinates(obj: Any, theta: np.ndarray) -> np.ndarray:
    """Indices of scalar-term θ at (numerically) 0."""
    return np.flatnonzero(scalar_term_mask(obj) & (theta < SINGULAR_TOL))


def interior_coordinates(obj: Any, theta: np.ndarray) -> np.ndarray:
    """Indices checked by the gradient and the Hessian: all but scalar terms at 0.

    The diagonal of a multi-column term at 0 (a rank-deficient covariance) is not a bound
    in the engine's parametrisation: the criterion is even in each column's sign, so the
    coordinate is interior and its gradient must vanish like any other.
    """
    at_bound = np.zeros(theta.size, dtype=bool)
    at_bound[boundary_coordinates(obj, theta)] = True
    return np.flatnonzero(~at_bound)


def gradient_at(obj: Any, theta: np.ndarray) -> np.ndarray:
    """Exact gradient when the engine has one, else central differences."""
    if obj.has_gradient:
        return np.asarray(obj.value_and_gradient(theta)[1], dtype=float)
    from .fit import numeric_gradient

    lower = np.full(theta.size, -np.inf)  # even in every coordinate: differences across 0
    return numeric_gradient(obj, theta, lower)


def hessian_at(obj: Any, theta: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Hessian over ``idx``: differences of exact gradients, or of values without them."""
    from .fit import _gradient_hessian, _stencil

    if obj.has_gradient:
        return _gradient_hessian(obj, theta, idx)
    return _stencil(obj, theta, idx, obj(theta))[1]


def check_optimum(obj: Any, theta: np.ndarray, value: float) -> OptimumCheck:
    """First- and second-order conditions at θ (see the module docstring).

    Costs one gradient and a Hessian over the interior coordinates (k gradients, or 2k²
    evaluations without an exact gradient), plus one gradient for the boundary and a few
    evaluations per suspect direction.
    """
    theta = np.asarray(theta, dtype=float)
    flat_ratio = None
    better, better_value = None, value
    tol_value = 1e-9 * max(1.0, abs(value))

    def consider(candidate: np.ndarray) -> None:
        nonlocal better, better_value
        new = obj(candidate)
        if np.isfinite(new) and new < better_value - tol_value:
            better, better_value = candidate, new

    # Scalar variances on the boundary: the φ-derivative at 0.
    bound = boundary_coordinates(obj, theta)
    slopes = np.zeros(bound.size)
    if bound.size:
        probe = theta.copy()
        probe[bound] = BOUNDARY_STEP
        g = gradient_at(obj, probe)
        slopes = g[bound] / (2.0 * BOUNDARY_STEP)
        for i in bound[slopes < 0]:
            for h in PROBES:
                candidate = theta.copy()
                candidate[i] = h
                consider(candidate)

    # Interior coordinates: scaled gradient and curvature.
    idx = interior_coordinates(obj, theta)
    max_grad, min_curv = 0.0, 0.0
    if idx.size:
        g = gradient_at(obj, theta)[idx]
        H = hessian_at(obj, theta, idx)
        evals, evecs = np.linalg.eigh(H)
        top = max(1.0, float(np.max(np.abs(evals))))
        min_curv = float(evals[0] / top)
        try:
            max_grad = float(np.max(np.abs(np.linalg.solve(H, g))))
        except np.linalg.LinAlgError:
            max_grad = float(np.max(np.abs(g)))
        if not np.isfinite(max_grad):
            max_grad = float(np.max(np.abs(g)))
        scalar = scalar_term_mask(obj)
        for lam, v in zip(evals, evecs.T, strict=True):
            if lam / top >= -CURVATURE_TOL:
                break
            for h in PROBES:
                for sign in (1.0, -1.0):
                    candidate = theta.copy()
                    candidate[idx] += sign * h * v
                    # A scalar term's criterion is even in θ_k: |θ_k| is the same point.
                    consider(np.where(scalar, np.abs(candidate), candidate))
        smallest = float(np.min(np.abs(evals)) / top)
        if smallest < FLAT_TOL and min_curv >= -CURVATURE_TOL:
            flat_ratio = smallest
    return OptimumCheck(max_grad, min_curv, slopes, better, flat_ratio)

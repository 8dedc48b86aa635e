"""glmer's Laplace criterion -2 log L(θ, β) and its exact gradient.

With û the conditional mode (:mod:`.pirls`) and A = Λ'Z'WZΛ + I at Fisher weights W(η̂),

    F(θ, β) = -2 ℓ(y | η̂) + û'û + log|A|,          η̂ = offset + Xβ + ZΛû,

the Laplace approximation of -2 log ∫ f(y | u) φ(u) du that glmer minimises (nAGQ = 1),
with every normalising constant of f.  Its gradient follows from the envelope theorem
(û minimises G = -2ℓ + u'u, so G's derivative through û vanishes) and implicit
differentiation of û for log|A|.  With per-row score s, observed weight W_o, leverages
h_i = r_i'A⁻¹r_i (r_i the i-th row of ZΛ), c = h ∘ dW/dη, v = A_o⁻¹Λ'Z'c (A_o the observed-
weight analogue of A; A itself for canonical links) and e = c - W_o ∘ ZΛv,

    ∂F/∂β = X'(e - 2s),
    ∂F/∂T_rc = Σ_i z_ir [(e_i - 2s_i) û_{j(i)c} + 2 W_i (A⁻¹r_i)_{j(i)c} + s_i v_{j(i)c}],

and for the negative binomial shape, ∂F/∂θ_nb = -2 ∂ℓ/∂θ_nb + Σ h_i ∂W_i/∂θ_nb
+ (ZΛv)'∂s/∂θ_nb.  One gradient costs about two PIRLS iterations.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from .families import Family
from .pirls import Mode, pirls
from .resystem import RandomEffectsSystem
from .rowops import dot, matvec, rmatvec
from .theta import lower_tri_index


class LaplaceCriterion:
    """Callable parameters -> F with a warm-started PIRLS and an exact gradient.

    Parameters are stacked as ``[θ, β, log θ_nb]`` (the last only when ``estimate_nb``).

    Parameters
    ----------
    system : RandomEffectsSystem
    X : ndarray (n, p)
        Fixed-effects matrix (the engine passes its centred and scaled copy).
    offset : ndarray (n,)
    family : Family
    estimate_nb : bool
        Treat log θ_nb of the negative binomial as a parameter.
    """

    def __init__(
        self,
        system: RandomEffectsSystem,
        X: np.ndarray,
        offset: np.ndarray,
        family: Family,
        estimate_nb: bool = False,
    ):
        self.system = system
        self.X = np.asfortranarray(X, dtype=float)  # columns contiguous (see .rowops)
        self.offset = offset
        self.family = family
        self.estimate_nb = estimate_nb
        self.n_theta = system.n_theta
        self.p = X.shape[1]
        self.n_params = self.n_theta + self.p + int(estimate_nb)
        self.n_evals = 0
        self._u: np.ndarray | None = None
        self._u_T: tuple[np.ndarray, ...] | None = None  # the T at which _u is the mode
        self._last: tuple[np.ndarray, Mode | None] | None = None
        self.lower = np.concatenate(
            [self._theta_lower(), np.full(self.p + int(estimate_nb), -np.inf)]
        )

    def _theta_lower(self) -> np.ndarray:
        out = []
        for term in self.system.terms:
            rows, cols = lower_tri_index(term.q)
            out.append(np.where(rows == cols, 0.0, -np.inf))
        return np.concatenate(out)

    # -- parameters --------------------------------------------------------------------
    def split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, Family]:
        params = np.asarray(params, dtype=float)
        theta = params[: self.n_theta]
        beta = params[self.n_theta : self.n_theta + self.p]
        family = self.family
        if self.estimate_nb:
            family = family.with_theta(float(np.exp(params[-1])))
        return theta, beta, family

    # -- evaluation --------------------------------------------------------------------
    def mode(self, params: np.ndarray, u0: np.ndarray | None = None) -> Mode | None:
        """PIRLS at ``params`` (warm-started from the last mode unless ``u0`` is given)."""
        params = np.asarray(params, dtype=float)
        last = self._last
        if last is not None and u0 is None and np.array_equal(last[0], params):
            return last[1]
        theta, beta, family = self.split(params)
        if not np.all(np.isfinite(params)):
            return None
        T = self.system.split_theta(theta)
        fixed_eta = self.offset + matvec(self.X, beta)
        start = self._carried(T) if u0 is None else u0
        mode = pirls(self.system, T, fixed_eta, family, start)
        if mode is None and start is not None:
            mode = pirls(self.system, T, fixed_eta, family, None)
        self.n_evals += 1
        if mode is not None and np.isfinite(mode.laplace):
            self._u, self._u_T = mode.u, T
        self._last = (params.copy(), mode)
        return mode

    def _carried(self, T: tuple[np.ndarray, ...]) -> np.ndarray | None:
        """The last mode as a start for new factors T: its random effects b = Λ_old u kept,
        u = Λ_new⁻¹ b (a cluster's b̂ is fixed by its data far more than its spherical û,
        so a long step in θ costs PIRLS few iterations); a term whose new T is (nearly)
        singular keeps its u."""
        u, T_old = self._u, self._u_T
        if u is None or T_old is None:
            return u
        out = u.copy()
        for term, Ta, Tb in zip(self.system.terms, T_old, T, strict=True):
            diag = np.abs(np.diag(Tb))
            if diag.min() <= 1e-6 * max(1.0, float(np.abs(Tb).max())):
                continue
            sl = slice(term.offset, term.offset + term.size)
            b = u[sl].reshape(term.n_levels, term.q) @ Ta.T
            out[sl] = solve_triangular(Tb, b.T, lower=True).T.ravel()
        return out

    def __call__(self, params: np.ndarray) -> float:
        mode = self.mode(params)
        if mode is None:
            return np.inf
        value = mode.laplace
        return value if np.isfinite(value) else np.inf

    def value_and_gradient(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        mode = self.mode(params)
        if mode is None or not np.isfinite(mode.laplace):
            return np.inf, np.zeros(self.n_params)
        return mode.laplace, self.gradient(params, mode)

    # -- gradient ----------------------------------------------------------------------
    def gradient(self, params: np.ndarray, mode: Mode) -> np.ndarray:
        """Exact ∂F/∂(θ, β[, log θ_nb]) at a converged mode (see the module docstring)."""
        system = self.system
        _, _, family = self.split(params)
        f = mode.factor
        T = f.T
        rows = mode.rows
        s, W = rows.score, rows.weight
        der = family.derivatives(mode.eta, rows.mu)
        h, gs, _ = system.row_inverse_products(f, T)
        c = h * der.dweight
        lzc = system.lambda_t_z_t(T, c)
        if family.canonical:
            v = system.solve(f, lzc)
        else:
            fo = system.factor(T, der.observed)
            v = system.solve(fo if fo is not None else f, lzc)
        zv = system.z_lambda(T, v)
        e = c - der.observed * zv
        a0 = e - 2.0 * s
        grad = np.empty(self.n_params)
        grad[self.n_theta : self.n_theta + self.p] = rmatvec(self.X, a0)
        start = 0
        W2 = 2.0 * W
        for term, g in zip(system.terms, gs, strict=True):
            u_l = mode.u[term.offset : term.offset + term.size].reshape(term.n_levels, term.q)
            v_l = v[term.offset : term.offset + term.size].reshape(term.n_levels, term.q)
            M = np.empty((term.q, term.q))
            for c in range(term.q):
                a = a0 * term.expand(u_l[:, c])
                a += W2 * g[:, c]
                a += s * term.expand(v_l[:, c])
                for r in range(term.q):
                    M[r, c] = a.sum() if term.ones[r] else dot(term.Z[:, r], a)
            rows_i, cols_i = lower_tri_index(term.q)
            grad[start : start + term.n_theta] = M[rows_i, cols_i]
            start += term.n_theta
        if self.estimate_nb:
            dll, ds, dW = family.theta_derivatives(rows.mu)
            d_theta = -2.0 * dll + dot(h, dW) + dot(zv, ds)
            grad[-1] = d_theta * family.theta
        return grad

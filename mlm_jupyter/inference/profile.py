"""Likelihood-profile intervals, as lme4's ``confint(method = "profile")``, exact and robust.

For a parameter ψ (a random-effect SD or correlation, σ, or a fixed effect) the profile is
the ML deviance minimised over all other parameters with ψ held fixed, and the interval
is where the signed root ζ(ψ) = sign(ψ - ψ̂) √(d(ψ) - d̂) crosses ∓z_{(1+level)/2}.  REML
fits are refitted with ML first, as lme4 does.  lme4 interpolates a spline through a grid
of ζ values; here each limit is a root of ζ found by bracketing and Brent's method, with
the inner minimisation exact:

* **An SD** sd_i = v: with θ free, σ is determined (σ = v / t_i(θ), t_i the relative SD
  of column i), so the inner problem is an unconstrained minimisation over θ with an
  exact gradient from the engine.
* **σ** = v: the deviance d(θ, v) over θ, exact gradient.
* **A correlation** ρ_ij = r: that term's relative covariance is written D R D with R's
  Cholesky rows after the first two free unit vectors and R_ij fixed, so every point is
  a valid covariance (r = ±1 included); σ is profiled out.
* **A fixed effect** β_j = v: a linear constraint on the engine's β°, imposed exactly by
  a Householder change of basis and an offset (:func:`fixed_combination`).

Everything runs in the engine's units (:mod:`..engine.conditioning`), so the inner
problems are well scaled whatever the data's units.  A single free parameter is minimised
by a bounded scalar method.  Intervals stop at the parameter's bounds (an SD's lower limit
can be 0, a correlation's limits ±1); a parameter whose profile cannot be computed gets
NA and a note saying why, never an exception.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..engine.blocks import CrossProducts
from ..engine.conditioning import lower_factor
from ..engine.objective import LOG_2PI, ProfiledDeviance
from ..engine.simulate import quick_refit
from ..engine.theta import lower_tri_index, pack_theta, unpack_theta
from ..engine.threads import single_blas_thread
from ..engine.verify import scalar_term_mask

INNER_FTOL = 1e-14
BRACKET_GROWTH = 1.6
MAX_BRACKET_STEPS = 60


class ProfileFailure(RuntimeError):
    """The profile of one parameter could not be computed (the reason is the message)."""


@dataclass(frozen=True)
class VarParameter:
    """One SD, correlation or σ in lme4's order (``.sig01`` ...), located in the terms."""

    kind: str  # "sd", "cor" or "sigma"
    term: int  # term index (-1 for sigma)
    i: int  # column (sd) or row of the pair (cor)
    j: int  # column of the pair (cor)


def var_parameters(layout: Any) -> list[VarParameter]:
    """lme4's ``.sig`` parameters of every term (θ's order), then σ."""
    out = []
    for k, term in enumerate(layout.terms):
        rows, cols = lower_tri_index(term.q)
        for i, j in zip(rows, cols, strict=True):
            out.append(VarParameter("sd" if i == j else "cor", k, int(i), int(j)))
    out.append(VarParameter("sigma", -1, 0, 0))
    return out


def fixed_combination(cp: CrossProducts, c: np.ndarray, value: float) -> CrossProducts:
    """Cross-products of the model with c'β = ``value`` imposed (one fewer fixed effect).

    A Householder reflection H (orthogonal, H = H') maps c/|c| to ±e_0; with δ = Hβ the
    constraint is δ_0 = ±value/|c|, and X H δ = X β.  The reflected first column goes into
    the offset (y ← y - δ_0 (XH)_0) and the others remain: the conditioning of X is kept.
    """
    m_r, p = cp.m_rest, cp.p
    u = np.asarray(c, dtype=float) / np.linalg.norm(c)
    w = u.copy()
    sign = 1.0 if u[0] >= 0 else -1.0
    w[0] += sign
    H = np.eye(p) - 2.0 * np.outer(w, w) / float(w @ w)  # H u = -sign e_0
    delta0 = -sign * value / np.linalg.norm(c)
    m = cp.A22.shape[0]
    M = np.eye(m)
    M[m_r : m_r + p, m_r : m_r + p] = H
    keep = [i for i in range(m) if i != m_r]
    M = M[:, keep]
    # The new y is y - δ_0 (X H)_0: in the old columns, e_y - δ_0 H e_0 in the X rows.
    col = np.zeros(m)
    col[-1] = 1.0
    col[m_r : m_r + p] -= delta0 * H[:, 0]
    M[:, -1] = col
    A22 = M.T @ cp.A22 @ M
    Wt = np.zeros((p + 1, p))
    Wt[:p, : p - 1] = H[:, 1:]
    Wt[:p, -1] = -delta0 * H[:, 0]
    Wt[p, -1] = 1.0
    D = np.einsum("wjq,wv->vjq", cp.D, Wt)
    return replace(cp, A22=(A22 + A22.T) / 2, D=D, p=p - 1)


class Profiler:
    """The ML profile of every parameter of one fit, in the engine's units."""

    def __init__(self, ml: Any):
        self.ml = ml
        self.obj = ProfiledDeviance(ml.engine.cp, reml=False)
        self.cp = self.obj.cp
        self.cond = ml.conditioning
        self.n = self.cp.n
        self.theta_hat = np.asarray(ml.engine_theta, dtype=float)
        self.base = float(self.obj(self.theta_hat))
        self.scalar = scalar_term_mask(self.obj)
        self.bounds = [(0.0, None) if s else (None, None) for s in self.scalar]
        self.offsets = np.cumsum([0] + [t.n_theta for t in self.cp.terms])
        self.has_gradient = self.obj.has_gradient
        self.lower_found = np.inf  # lowest deviance met in any inner problem

    # -- generic inner minimisation --------------------------------------------------------
    def _starts(self, warm: np.ndarray) -> list[np.ndarray]:
        """Starting points for an inner problem over θ: the last solution and θ̂.

        The criterion is even in every diagonal θ of a term (in the column's sign), so its
        gradient there vanishes at 0 whatever the data say: a start with a zero diagonal
        is a trap for a gradient method.  Such diagonals start slightly inside instead.
        """
        diag = np.zeros(warm.size, dtype=bool)
        for k, term in enumerate(self.cp.terms):
            rows, cols = lower_tri_index(term.q)
            diag[self.offsets[k] : self.offsets[k + 1]] = rows == cols
        out = []
        for start in (warm, self.theta_hat):
            start = np.asarray(start, dtype=float).copy()
            small = diag & (np.abs(start) < 1e-3)
            start[small] = 0.05
            if not any(np.array_equal(start, o) for o in out):
                out.append(start)
        return out

    def _minimise_theta(self, fun: Callable, warm: np.ndarray) -> tuple[float, np.ndarray]:
        """The lower of the inner minima from :meth:`_starts`."""
        best = (np.inf, warm)
        for start in self._starts(warm):
            value, x = self._minimise(fun, start, self.bounds, self.has_gradient)
            if value < best[0]:
                best = (value, x)
        return best

    def _minimise(self, fun: Callable, x0: np.ndarray, bounds: list, exact: bool) -> tuple:
        """Minimum of ``fun`` (value, gradient) over x: scalar method in one dimension."""
        x0 = np.asarray(x0, dtype=float)
        if x0.size == 0:
            return fun(x0)[0], x0
        if x0.size == 1:
            lo = bounds[0][0]

            def f1(t: float) -> float:
                return fun(np.array([t]))[0]

            width = max(abs(x0[0]), 1.0)
            hi = x0[0] + 50.0 * width
            lo_b = lo if lo is not None else x0[0] - 50.0 * width
            res = optimize.minimize_scalar(f1, bounds=(lo_b, hi), method="bounded",
                                           options={"xatol": 1e-10 * width, "maxiter": 500})
            x = np.array([res.x])
            best = float(res.fun)
            if lo is not None and fun(np.array([lo]))[0] < best:  # the bound itself
                x, best = np.array([lo]), float(fun(np.array([lo]))[0])
            return best, x
        res = optimize.minimize(
            fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"maxiter": 5000, "ftol": INNER_FTOL, "gtol": 1e-9, "maxls": 50},
        )
        return float(res.fun), np.asarray(res.x, dtype=float)

    def _numeric(self, f: Callable[[np.ndarray], float]) -> Callable:
        """(value, central-difference gradient) of a function without an exact gradient."""

        def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            value = f(x)
            if not np.isfinite(value):
                return 1e300, np.zeros_like(x)
            g = np.empty_like(x)
            for i in range(x.size):
                h = 1e-6 * max(1.0, abs(x[i]))
                up, down = x.copy(), x.copy()
                up[i] += h
                down[i] -= h
                fu, fd = f(up), f(down)
                g[i] = (fu - fd) / (2 * h) if np.isfinite(fu + fd) else 0.0
            return value, g

        return fun

    def _parts(self, theta: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray] | None:
        """(log|L_Z|², r², their θ-gradients) at θ (gradients None without an exact one)."""
        if self.has_gradient:
            parts = self.obj.gradient_parts(theta)
            if parts is None:
                return None
            return parts.logdet, parts.r2, parts.grad_logdet, parts.grad_r2
        f = self.obj.factor(theta)
        if f is None:
            return None
        return f.logdet_Z(self.cp.m_rest), float(f.L22[-1, -1] ** 2), None, None

    def _theta_problem(self, value_and_grad: Callable) -> Callable:
        exact = self.has_gradient
        if exact:
            def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
                out = value_and_grad(theta)
                return (1e300, np.zeros_like(theta)) if out is None else out
            return fun
        return self._numeric(lambda t: (value_and_grad(t) or (np.inf,))[0])

    def _record(self, value: float) -> float:
        self.lower_found = min(self.lower_found, value)
        return value

    # -- the four kinds of profile ------------------------------------------------------------
    def sd_deviance(self, par: VarParameter, v: float, warm: np.ndarray) -> tuple[float, Any]:
        """min d subject to SD_i = v (user units); σ follows from θ."""
        k, c = par.term, par.i
        row = self.cond.B[k][c]  # b = s B b°: the SD of column c is s σ° |B[c] T°|
        w = max(v, 1e-12 * max(1.0, abs(v))) / self.cond.scale
        o = self.offsets[k]
        rows, cols = lower_tri_index(self.cp.terms[k].q)
        n = self.n

        def vg(theta: np.ndarray) -> tuple[float, np.ndarray] | None:
            parts = self._parts(theta)
            if parts is None:
                return None
            logdet, r2, g_ld, g_r2 = parts
            Tk = unpack_theta(theta, self.cp)[k]
            vec = row @ Tk
            t = float(np.linalg.norm(vec))
            if not t > 0:
                return None
            value = logdet + n * (LOG_2PI + 2 * np.log(w) - 2 * np.log(t)) + r2 * t**2 / w**2
            if g_ld is None:
                return value, np.zeros_like(theta)
            dt = np.zeros_like(theta)
            dt[o : o + rows.size] = vec[cols] * row[rows] / t  # ∂t/∂T°_rc = vec_c B_r / t
            grad = g_ld - 2 * n * dt / t + (g_r2 * t**2 + 2 * r2 * t * dt) / w**2
            return value, grad

        value, x = self._minimise_theta(self._theta_problem(vg), warm)
        return self._record(value), x

    def sigma_deviance(self, v: float, warm: np.ndarray) -> tuple[float, Any]:
        """min over θ of d(θ, σ = v)."""
        s2 = (v / self.cond.scale) ** 2
        n = self.n

        def vg(theta: np.ndarray) -> tuple[float, np.ndarray] | None:
            parts = self._parts(theta)
            if parts is None:
                return None
            logdet, r2, g_ld, g_r2 = parts
            value = logdet + n * (LOG_2PI + np.log(s2)) + r2 / s2
            return value, (np.zeros_like(theta) if g_ld is None else g_ld + g_r2 / s2)

        value, x = self._minimise_theta(self._theta_problem(vg), warm)
        return self._record(value), x

    def cor_deviance(self, par: VarParameter, r: float, warm: Any) -> tuple[float, Any]:
        """min d subject to cor_ij = r in term k's user-unit covariance; σ profiled out."""
        k = par.term
        q = self.cp.terms[k].q
        o, o_end = self.offsets[k], self.offsets[k + 1]
        B, B_inv = self.cond.B[k], self.cond.B_inv[k]
        order = [par.j, par.i] + [c for c in range(q) if c not in (par.i, par.j)]
        back = np.argsort(order)
        r = float(np.clip(r, -1.0, 1.0))
        n_extra = sum(m + 1 for m in range(2, q))  # free unit-vector rows of R's factor

        def theta_of(x: np.ndarray, rest: np.ndarray) -> np.ndarray:
            d = np.abs(x[:q])
            Lr = np.zeros((q, q))
            Lr[0, 0] = 1.0
            Lr[1, 0], Lr[1, 1] = r, np.sqrt(max(1.0 - r * r, 0.0))
            pos = q
            for m in range(2, q):
                u = x[pos : pos + m + 1]
                pos += m + 1
                norm = np.linalg.norm(u)
                Lr[m, : m + 1] = u / norm if norm > 0 else np.eye(m + 1)[m]
            chol = Lr[back]  # rows back in the term's column order: R = chol chol'
            M = d[:, None] * chol  # D R D = M M'
            Te = lower_factor(B_inv @ M)
            theta = rest.copy()
            theta[o:o_end] = pack_theta([Te])
            return theta

        def x_from(theta: np.ndarray) -> np.ndarray:
            """D and R's free rows of the term at θ, with the correlation set to r."""
            M = B @ unpack_theta(theta, self.cp)[k]
            S = M @ M.T
            sd = np.sqrt(np.maximum(np.diag(S), 0.0))
            sd = np.where(sd > 1e-8 * np.linalg.norm(B, axis=1), sd,
                          0.05 * np.linalg.norm(B, axis=1))
            corr = S / np.outer(sd, sd)
            Rp = corr[np.ix_(order, order)]
            Rp[0, 1] = Rp[1, 0] = r
            w, V = np.linalg.eigh(Rp)
            Lfull = lower_factor(V * np.sqrt(np.maximum(w, 0.0)))
            extra = [Lfull[m, : m + 1] for m in range(2, q)]
            return np.concatenate([sd, *extra])

        free_rest = np.setdiff1d(np.arange(self.theta_hat.size), np.arange(o, o_end))
        size_x = q + n_extra
        warm_rest = warm[0] if isinstance(warm, tuple) else np.asarray(warm, dtype=float)
        starts = [(w_rest, x_from(w_rest)) for w_rest in self._starts(warm_rest)]
        if isinstance(warm, tuple):
            starts.insert(0, warm)
        best: tuple[float, Any] = (np.inf, starts[0])
        for rest0, x0 in starts:
            scale = np.maximum(np.abs(x0[:q]), 1e-12)

            def f(z: np.ndarray, rest0: np.ndarray = rest0, scale: np.ndarray = scale) -> float:
                x = z[:size_x].copy()
                x[:q] = x[:q] * scale
                rest = rest0.copy()
                rest[free_rest] = z[size_x:]
                return float(self.obj(theta_of(x, rest)))

            z0 = np.concatenate([x0[:q] / scale, x0[q:], rest0[free_rest]])
            bounds = [(0.0, None)] * q + [(None, None)] * n_extra + [
                self.bounds[i] for i in free_rest
            ]
            value, z = self._minimise(self._numeric(f), z0, bounds, False)
            if value < best[0]:
                x = z[:size_x].copy()
                x[:q] *= scale
                rest = rest0.copy()
                rest[free_rest] = z[size_x:]
                best = (value, (theta_of(x, rest), x))
        value, (theta, x) = best
        return self._record(value), (theta, x)

    def fixed_deviance(self, j: int, v: float, warm: np.ndarray) -> tuple[float, Any]:
        """min d subject to β_j = v (user units), by :func:`fixed_combination`."""
        cond = self.cond
        c = cond.scale * cond.A[j]
        sub = ProfiledDeviance(fixed_combination(self.cp, c, v - cond.gamma[j]), reml=False)
        if self.theta_hat.size == 1:
            value, x = self._minimise(
                lambda t: (sub(t), np.zeros(1)), warm, self.bounds, False
            )
        else:
            fit = quick_refit(sub, warm)
            value, x = fit.objective, fit.theta
        return self._record(float(value)), x


def _bracket_root(zeta: Callable[[float], float], est: float, step: float, target: float,
                  bound: float | None) -> float:
    """ψ with ζ(ψ) = target, searching from ``est`` towards ``bound`` (None: unbounded)."""
    direction = np.sign(target)
    a = est
    step = max(step, 1e-12 * max(1.0, abs(est)))
    for _ in range(MAX_BRACKET_STEPS):
        b = est + direction * step
        if bound is not None and (b - bound) * direction >= 0:
            b = bound
        zb = zeta(b)
        if not np.isfinite(zb):
            raise ProfileFailure(f"the deviance is undefined at {b:.6g}")
        if (zb - target) * direction >= 0:
            return float(optimize.brentq(lambda x: zeta(x) - target, a, b,
                                         xtol=1e-10 * max(1.0, abs(b)), rtol=1e-12))
        if bound is not None and b == bound:
            return float(bound)  # the profile never reaches the target: limit at the bound
        a = b
        step *= BRACKET_GROWTH
    raise ProfileFailure("the profile did not reach the interval's level within the search range")


def profile_confint(res: Any, level: float = 0.95) -> pd.DataFrame:
    """lme4's profile intervals for the SDs/correlations, σ and the fixed effects.

    Returns the table of :func:`.confint.confint` with a ``note`` column: empty, or why a
    limit is NA.
    """
    from .confint import _table, theta_to_sdcor, varpar_names

    ml = res if not res.reml else res.refit(reml=False)
    prof = Profiler(ml)
    z = float(stats.norm.ppf(0.5 + level / 2))
    readable, lme4 = varpar_names(res)
    est_var = theta_to_sdcor(prof.cp, ml.theta, ml.sigma)
    se = np.sqrt(np.diag(ml.vcov.to_numpy()))
    rows: list[tuple] = []
    with single_blas_thread(), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        for idx, par in enumerate(var_parameters(prof.cp)):
            rows.append(_one(prof, par, est_var[idx], z, readable[idx], lme4[idx]))
        for j, name in enumerate(ml.fixef.index):
            rows.append(_one_fixed(prof, j, float(ml.fixef.iloc[j]), float(se[j]), z, name))
    table = _table([r[:4] for r in rows], level)
    notes = [r[4] for r in rows]
    if prof.lower_found < prof.base - 1e-6 * max(1.0, abs(prof.base)):
        notes = [n or "" for n in notes]
        table.attrs["warning"] = (
            "Profiling met a deviance lower than the fit's: the ML optimum was not the best; "
            "refit and compare with res.all_fit()."
        )
    table["note"] = notes
    return table


def _limits(prof: Profiler, deviance: Callable[[float, Any], tuple[float, Any]], est: float,
            step: float, z: float, bounds: tuple[float | None, float | None]) -> tuple:
    """(lower, upper, note) of one parameter's profile interval, from its ``deviance``.

    ζ(ψ) = sign(ψ - ψ̂) √(d(ψ) - d̂); each side starts from θ̂ and warm-starts every inner
    problem from the previous one (the profile moves smoothly along ψ).
    """
    warm: dict[str, Any] = {}

    def zeta(v: float) -> float:
        value, x = deviance(v, warm["x"])
        if np.isfinite(value) and value < 1e299:
            warm["x"] = x
        return float(np.sign(v - est) * np.sqrt(max(value - prof.base, 0.0)))

    limits, notes = [], []
    for target, bound in ((-z, bounds[0]), (z, bounds[1])):
        warm["x"] = prof.theta_hat.copy()
        try:
            limits.append(_bracket_root(zeta, est, step, target, bound))
        except (ProfileFailure, ValueError, np.linalg.LinAlgError) as err:
            limits.append(np.nan)
            notes.append(f"{'lower' if target < 0 else 'upper'} limit: {err}")
    return limits[0], limits[1], "; ".join(notes)


def _one(prof: Profiler, par: VarParameter, est: float, z: float, name: str,
         lme4: str) -> tuple:
    if par.kind == "sd":
        def deviance(v: float, warm: Any) -> tuple[float, Any]:
            return prof.sd_deviance(par, v, warm)
    elif par.kind == "sigma":
        def deviance(v: float, warm: Any) -> tuple[float, Any]:
            return prof.sigma_deviance(v, warm)
    else:
        def deviance(v: float, warm: Any) -> tuple[float, Any]:
            return prof.cor_deviance(par, v, warm)
    if par.kind == "cor":
        step, bounds = 0.25 * max(1.0 - abs(est), 0.05), (-1.0, 1.0)
    else:
        step = 0.3 * est if est > 0 else 0.1 * max(prof.ml.sigma, 1e-8)
        bounds = (0.0, None)
    return (name, lme4, *_limits(prof, deviance, est, step, z, bounds))


def _one_fixed(prof: Profiler, j: int, est: float, se: float, z: float, name: str) -> tuple:
    def deviance(v: float, warm: Any) -> tuple[float, Any]:
        return prof.fixed_deviance(j, v, warm)

    return (name, name, *_limits(prof, deviance, est, se, z, (None, None)))

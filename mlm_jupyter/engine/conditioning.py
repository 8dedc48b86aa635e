"""The engine's units: a well-conditioned copy of a design, and the exact way back.

Researchers' data come in any units: a predictor in years since 1900 or in grams, a
response near 10⁹.  Forming the cross-products ``[Z X y]'[Z X y]`` of such columns loses
the digits the criterion needs (the y'y of ``y + 1e9`` holds 18 digits of which the
residual variance needs the last few), so the engine never sees the user's units.  It
works on

    X° = X A,          A = √n R_X⁻¹         (X = Q_X R_X, thin QR: X°'X° = n I)
    Z°_k = Z_k B_k,    B_k = √n R_k⁻¹        (QR of the term's n x q_k model matrix)
    y° = (y - X γ̂) / s,                      γ̂ least squares, s the RMS of y - X γ̂,

whose columns are orthogonal with unit mean square.  The model y = Xβ + Zb + e,
b_k ~ N(0, σ² Λ_kΛ_k'), is the same model in new coordinates:

    β = γ̂ + s A β°,    b_k = s B_k b°_k,    σ = s σ°,    Λ_kΛ_k' = B_k Λ°_kΛ°_k' B_k',

because Z_kΛ_k = Z°_kΛ°_k (the penalised least-squares problem, hence every
log-determinant, is unchanged) and X β = X° β° · s + X γ̂.  The criteria differ by
constants only (Bates et al. 2015, eqs. 34 and 41, with r² = s² r°²):

    ML:    d(θ) = d°(θ°) + 2 n log s
    REML:  d(θ) = d°(θ°) + 2 (n - p) log s - 2 log|det A|.

Every optimisation, derivative and refit runs in these units; results are mapped back
exactly.  A term whose covariance matrix is a full q x q matrix accepts any invertible
B_k (the set of covariance matrices is closed under congruence), so the map never
changes the model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.linalg as sla

from .theta import pack_theta, unpack_theta

#: Residual RMS of y on X below this fraction of y's own RMS: X reproduces y exactly.
EXACT_FIT_TOL = 1e-10


class DegenerateModelError(ValueError):
    """The model cannot be estimated from these data (said in plain words)."""


def upper_inverse(R: np.ndarray) -> np.ndarray:
    """R⁻¹ for an upper-triangular R (LAPACK trtri).

    ``solve_triangular(R, I)`` gives the same but, with a matrix right-hand side, wakes
    every BLAS thread: on a busy 2-core machine 14 ms per call for a 2 x 2 R, half the
    time of a whole sleepstudy fit.
    """
    inv, info = sla.lapack.dtrtri(np.asarray(R, dtype=float), lower=0)
    if info:
        raise np.linalg.LinAlgError("singular triangular factor")
    return np.triu(inv)


def _thin_qr(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Householder QR (economic), with R's diagonal made positive (a fixed convention)."""
    Q, R = np.linalg.qr(M, mode="reduced")
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)
    return Q * signs, R * signs[:, None]


@dataclass(frozen=True)
class Conditioning:
    """Affine map between the user's units and the engine's (see the module docstring).

    Attributes
    ----------
    A : ndarray (p, p)
        Upper-triangular, ``X° = X A``.
    A_inv : ndarray (p, p)
        ``R_X / √n``, so ``β° = A_inv (β - γ̂) / s``.
    gamma : ndarray (p,)
        Least-squares coefficients of y on X (γ̂).
    scale : float
        s, the RMS of the least-squares residual.
    B : tuple of ndarray
        Per random term (lme4's order), ``Z°_k = Z_k B_k``.
    B_inv : tuple of ndarray
    log_det_A : float
        log|det A| (REML's constant).
    """

    A: np.ndarray
    A_inv: np.ndarray
    gamma: np.ndarray
    scale: float
    B: tuple[np.ndarray, ...]
    B_inv: tuple[np.ndarray, ...]
    log_det_A: float

    # -- criterion ------------------------------------------------------------------------
    def criterion(self, value: float, reml: bool, n: int) -> float:
        """The user-units criterion from the engine's (ML deviance or REML criterion)."""
        p = self.A.shape[0]
        if reml:
            return float(value + 2.0 * (n - p) * np.log(self.scale) - 2.0 * self.log_det_A)
        return float(value + 2.0 * n * np.log(self.scale))

    def criterion_to_engine(self, value: float, reml: bool, n: int) -> float:
        """Inverse of :meth:`criterion`."""
        return float(value - (self.criterion(0.0, reml, n)))

    # -- fixed effects ----------------------------------------------------------------------
    def beta(self, beta_engine: np.ndarray) -> np.ndarray:
        """β = γ̂ + s A β°."""
        return self.gamma + self.scale * (self.A @ np.asarray(beta_engine, dtype=float))

    def beta_to_engine(self, beta: np.ndarray) -> np.ndarray:
        """β° = A⁻¹ (β - γ̂) / s."""
        return self.A_inv @ (np.asarray(beta, dtype=float) - self.gamma) / self.scale

    def vcov(self, vcov_engine: np.ndarray) -> np.ndarray:
        """Covariance of β from that of β° (in the engine's units, σ°² included)."""
        V = self.scale**2 * (self.A @ vcov_engine @ self.A.T)
        return (V + V.T) / 2.0

    def contrast_to_engine(self, L: np.ndarray) -> np.ndarray:
        """Rows of L (contrasts of β) as contrasts of β°: L β = L γ̂ + s (L A) β°."""
        return self.scale * (np.asarray(L, dtype=float) @ self.A)

    def response(self, y: np.ndarray, X: np.ndarray) -> np.ndarray:
        """y° = (y - X γ̂) / s for another response on the same X (bootstrap replicates)."""
        return (np.asarray(y, dtype=float) - X @ self.gamma) / self.scale

    # -- random effects -------------------------------------------------------------------
    def T(self, T_engine: list[np.ndarray]) -> list[np.ndarray]:
        """Relative covariance factors T_k (lower triangular, diagonal ≥ 0) from T°_k."""
        return [lower_factor(B @ Te) for B, Te in zip(self.B, T_engine, strict=True)]

    def T_to_engine(self, T: list[np.ndarray]) -> list[np.ndarray]:
        return [lower_factor(Bi @ Tk) for Bi, Tk in zip(self.B_inv, T, strict=True)]

    def theta(self, theta_engine: np.ndarray, layout: Any) -> np.ndarray:
        """θ from θ° (``layout`` the cross-products' term layout)."""
        return pack_theta(self.T(unpack_theta(theta_engine, layout)))

    def theta_to_engine(self, theta: np.ndarray, layout: Any) -> np.ndarray:
        return pack_theta(self.T_to_engine(unpack_theta(theta, layout)))

    def random_effects(self, b_engine: list[np.ndarray]) -> list[np.ndarray]:
        """b_k = s B_k b°_k, per term as (levels, q) arrays."""
        return [self.scale * (b @ B.T) for b, B in zip(b_engine, self.B, strict=True)]

    def conditional_covariances(self, cov_engine: list[np.ndarray]) -> list[np.ndarray]:
        """Per term (levels, q, q): s² B_k C°_kj B_k' (C° in the engine's units)."""
        return [self.scale**2 * (B @ C @ B.T) for C, B in zip(cov_engine, self.B, strict=True)]

    # -- from aggregates --------------------------------------------------------------------
    @classmethod
    def from_moments(cls, moments: Moments) -> tuple[Conditioning, np.ndarray]:
        """The same map from cross-products alone, for data that never come into memory.

        ``moments`` holds the Gram matrix G = U'U of centred and scaled columns U (the
        constant first) and each part as a linear image of them: X = U T_X M_X⁻¹,
        Z_k = U T_k M_k⁻¹, y = X g + s_y U t_y.  With X_c = U T_X and R_X the Cholesky
        factor of X_c'X_c (the R of X_c's QR, so X° is the QR path's X° exactly),

            A = M_X R_X⁻¹ √n,   γ̂ = g + s_y M_X δ,  δ = (X_c'X_c)⁻¹ X_c'U t_y,
            s² = s_y² (t_y - T_X δ)' G (t_y - T_X δ) / n,  B_k = M_k R_k⁻¹ √n.

        Returns the map and T° ((k+1) x (p + Σq_k + 1)), the engine's columns
        [X° Z°_1 ... y°] = U T°, so that any block of rows' cross-products in the engine's
        units is T°' G_block T°.
        """
        G, n = moments.gram, moments.n
        root_n = np.sqrt(n)
        TX, MXi = moments.x_map, moments.x_back
        CX = TX.T @ G @ TX
        RX = np.linalg.cholesky((CX + CX.T) / 2.0).T
        A_c = sla.solve_triangular(RX, np.eye(RX.shape[0]), lower=False) * root_n
        A = np.linalg.solve(MXi, A_c)
        A_inv = (RX / root_n) @ MXi
        delta = sla.cho_solve((RX, False), TX.T @ G @ moments.y_map)
        gamma = moments.y_shift + moments.y_scale * np.linalg.solve(MXi, delta)
        r = moments.y_map - TX @ delta
        scale = float(moments.y_scale * np.sqrt(max(float(r @ G @ r), 0.0) / n))
        logdet_m = np.linalg.slogdet(MXi)[1]
        log_det_A = float(RX.shape[0] * np.log(root_n) - np.log(np.diag(RX)).sum() - logdet_m)
        B, B_inv, cols = [], [], [TX @ A_c]
        for T, Mi in zip(moments.z_maps, moments.z_back, strict=True):
            C = T.T @ G @ T
            if C.shape[0] == 1:
                rms = float(np.sqrt(C[0, 0] / n))
                B_c, B_c_inv = np.array([[1.0 / rms]]), np.array([[rms]])
            else:
                R = np.linalg.cholesky((C + C.T) / 2.0).T
                B_c = sla.solve_triangular(R, np.eye(R.shape[0]), lower=False) * root_n
                B_c_inv = R / root_n
            B.append(np.linalg.solve(Mi, B_c))
            B_inv.append(B_c_inv @ Mi)
            cols.append(T @ B_c)
        scaled = moments.y_scale / scale if scale > 0 else 0.0
        cols.append((r * scaled)[:, None])
        cond = cls(A, A_inv, gamma, scale, tuple(B), tuple(B_inv), log_det_A)
        return cond, np.hstack(cols)


@dataclass(frozen=True)
class Moments:
    """Cross-products of centred, scaled columns and how each model part is made of them.

    Attributes
    ----------
    gram : ndarray (k+1, k+1)
        G = U'U over all rows, U = [1, u_1, ..., u_k] (u_i centred and scaled columns).
    n : int
    x_map, x_back : ndarray (k+1, p), (p, p)
        X_c = U x_map and X = X_c x_back (x_back invertible, upper triangular when X has an
        intercept: the centring and scaling undone).
    z_maps, z_back : tuple of ndarray
        The same for every random term's Z_k, in lme4's term order.
    y_map : ndarray (k+1,)
    y_shift : ndarray (p,)
    y_scale : float
        y = X y_shift + y_scale U y_map.
    """

    gram: np.ndarray
    n: int
    x_map: np.ndarray
    x_back: np.ndarray
    z_maps: tuple[np.ndarray, ...]
    z_back: tuple[np.ndarray, ...]
    y_map: np.ndarray
    y_shift: np.ndarray
    y_scale: float


def lower_factor(M: np.ndarray) -> np.ndarray:
    """The lower-triangular L with non-negative diagonal and L L' = M M'.

    From the QR factorisation of M' (M' = Q R gives M M' = R'R), which, unlike a
    Cholesky of M M', is exact when M M' is singular (a boundary fit).
    """
    q = M.shape[0]
    if q == 1:
        return np.abs(M)
    L = np.linalg.qr(M.T, mode="r").T
    signs = np.where(np.diag(L) < 0, -1.0, 1.0)
    return np.tril(L * signs[None, :])


def _term_map(Z: np.ndarray, label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Z°, B, B⁻¹) of one random term."""
    n, q = Z.shape
    if q == 1:
        rms = float(np.sqrt(np.mean(Z[:, 0] ** 2)))
        if not rms > 0:
            raise DegenerateModelError(
                f"The random term {label} is 0 in every row used, so its variance cannot "
                "be estimated; remove it from the formula."
            )
        return Z / rms, np.array([[1.0 / rms]]), np.array([[rms]])
    Q, R = _thin_qr(Z)
    root_n = np.sqrt(n)
    B = upper_inverse(R) * root_n
    return Q * root_n, B, R / root_n


def condition(design: Any) -> tuple[Conditioning, Any]:
    """The engine's copy of ``design`` and the map back (see the module docstring).

    Raises
    ------
    DegenerateModelError
        The fixed effects reproduce the response exactly (a constant response, or y a
        linear function of the predictors): there is no residual variance to estimate.
    """
    X, y = design.X, design.y
    n, p = X.shape
    y_rms = float(np.sqrt(np.mean(y**2)))
    if p:
        Q, R = _thin_qr(X)
        root_n = np.sqrt(n)
        coef = Q.T @ y
        resid = y - Q @ coef
        A_unit = upper_inverse(R)
        gamma = A_unit @ coef
        A = A_unit * root_n
        A_inv = R / root_n
        X_engine = Q * root_n
        log_det_A = float(p * np.log(root_n) - np.log(np.abs(np.diag(R))).sum())
    else:
        resid, gamma = y.copy(), np.zeros(0)
        A = A_inv = np.zeros((0, 0))
        X_engine, log_det_A = X.copy(), 0.0
    scale = float(np.sqrt(np.mean(resid**2)))
    if not scale > EXACT_FIT_TOL * max(y_rms, np.finfo(float).tiny):
        raise _exact_fit_error(design, y)
    terms, B, B_inv = [], [], []
    for term in design.terms:
        label = f"({' + '.join(term.columns)} | {term.group})"
        Z_engine, Bk, Bk_inv = _term_map(term.Z, label)
        terms.append(replace(term, Z=Z_engine))
        B.append(Bk)
        B_inv.append(Bk_inv)
    engine_design = replace(design, X=X_engine, y=resid / scale, terms=tuple(terms))
    cond = Conditioning(A, A_inv, gamma, scale, tuple(B), tuple(B_inv), log_det_A)
    return cond, engine_design


def _exact_fit_error(design: Any, y: np.ndarray) -> DegenerateModelError:
    response = design.spec.response
    if np.ptp(y) == 0:
        return DegenerateModelError(
            f"The response '{response}' has the same value ({y[0]:.6g}) in all {y.size} rows "
            "used, so there is no variation to model. Check that the right column is on the "
            "left of '~'."
        )
    return DegenerateModelError(
        f"The fixed effects reproduce the response '{response}' exactly (the residuals of "
        "its least-squares fit are 0), so no residual or random-effect variance can be "
        "estimated. The response is probably computed from the predictors; check the "
        "formula's left side."
    )

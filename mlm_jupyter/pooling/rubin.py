"""Rubin's rules for m estimates with Barnard-Rubin degrees of freedom (as mitml, mice).

For a parameter vector with estimates Q_i and covariances U_i from m imputed data sets
(Rubin 1987; Barnard & Rubin 1999; mitml's ``testEstimates``, mice's ``pool``):

    Q̄ = mean Q_i,   W = Ū = mean U_i,   B = Σ (Q_i - Q̄)(Q_i - Q̄)' / (m - 1),
    T = W + (1 + 1/m) B                              (total covariance)
    r = (1 + 1/m) B_jj / W_jj                         (relative increase in variance)
    λ = r / (1 + r) = (1 + 1/m) B_jj / T_jj           (proportion of variance due to missingness)
    ν_old = (m - 1)(1 + 1/r)²                         (Rubin's df, = (m - 1) / λ²)
    ν_obs = (ν_com + 1)/(ν_com + 3) ν_com (1 - λ)     (ν_com: complete-data df)
    ν = 1 / (1/ν_old + 1/ν_obs)                       (Barnard-Rubin df; ν_old without ν_com)
    FMI = (r + 2/(ν + 3)) / (r + 1)
    t = Q̄_j / √T_jj,   p = 2 P(t_ν > |t|)

Without missing information in a parameter (B_jj = 0) ν_old is infinite and ν = ν_obs,
as in mitml (mice floors λ at 1e-4 instead, a difference only there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class RubinPooled:
    """Pooled estimates of one parameter vector (arrays of length p unless said)."""

    estimate: np.ndarray
    within: np.ndarray  # diag W
    between: np.ndarray  # diag B
    total: np.ndarray  # diag T
    total_cov: np.ndarray  # T, (p, p)
    riv: np.ndarray
    lam: np.ndarray
    df: np.ndarray
    fmi: np.ndarray
    std_error: np.ndarray
    t: np.ndarray
    p: np.ndarray
    df_com: float | None


def rubin_df(m: int, riv: np.ndarray, df_com: float | None) -> np.ndarray:
    """Rubin's (df_com None or infinite) or Barnard-Rubin's df for RIV values ``riv``."""
    riv = np.asarray(riv, dtype=float)
    with np.errstate(divide="ignore"):
        nu_old = (m - 1) * (1.0 + 1.0 / riv) ** 2
    if df_com is None or not np.isfinite(df_com):
        return nu_old
    lam = riv / (riv + 1.0)
    nu_obs = (1.0 - lam) * (df_com + 1.0) / (df_com + 3.0) * df_com
    with np.errstate(divide="ignore"):
        return 1.0 / (1.0 / nu_old + 1.0 / nu_obs)


def rubin_rules(Q: np.ndarray, U: np.ndarray, df_com: float | None = None) -> RubinPooled:
    """Pool estimates ``Q`` (m, p) with covariances ``U`` (m, p, p) by Rubin's rules.

    Parameters
    ----------
    Q : ndarray (m, p)
    U : ndarray (m, p, p)
    df_com : float, optional
        Complete-data degrees of freedom ν_com for Barnard-Rubin's df; None: Rubin's df.

    Returns
    -------
    RubinPooled
    """
    Q = np.asarray(Q, dtype=float)
    U = np.asarray(U, dtype=float)
    m = Q.shape[0]
    qbar = Q.mean(axis=0)
    W = U.mean(axis=0)
    dev = Q - qbar
    B = dev.T @ dev / (m - 1)
    T = W + (1.0 + 1.0 / m) * B
    w, b, total = np.diag(W), np.diag(B), np.diag(T)
    riv = (1.0 + 1.0 / m) * b / w
    df = rubin_df(m, riv, df_com)
    with np.errstate(divide="ignore", invalid="ignore"):
        fmi = (riv + 2.0 / (df + 3.0)) / (riv + 1.0)
    se = np.sqrt(total)
    t = qbar / se
    p = 2.0 * stats.t.sf(np.abs(t), df)
    return RubinPooled(qbar, w, b, total, T, riv, riv / (riv + 1.0), df, fmi, se, t, p, df_com)

"""Wald z tests and intervals for GLMM fixed effects (glmer's summary and ``confint``).

glmer reports z = β̂/SE with normal p-values; SE from ``vcov(m)``, by default the inverse
finite-difference Hessian of the deviance over (θ, β) (``vcov="hessian"``), which
accounts for the estimation of θ, and otherwise from R_X (``vcov="rx"``: conditional on
θ, what ``vcov(m, use.hessian = FALSE)`` gives).  ``"default"`` is whichever glmer would
use (the Hessian unless it is not positive definite).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from ..inference.contrasts import as_matrix

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult

VCOV_METHODS = ("default", "hessian", "rx")


def covariance(res: GLMMResult, vcov: str = "default") -> np.ndarray:
    """The requested covariance of β̂ (user's units)."""
    key = str(vcov).lower()
    if key not in VCOV_METHODS:
        raise ValueError(f"vcov must be one of {VCOV_METHODS}, not {vcov!r}.")
    if key == "rx":
        return res.vcov_rx.to_numpy()
    if key == "hessian" and res.vcov_method != "hessian":
        raise ValueError(
            "the finite-difference Hessian of this fit is not positive definite; "
            "only vcov='rx' is available (glmer falls back to it as well)."
        )
    return res.vcov.to_numpy()


def coefficient_table(res: GLMMResult, vcov: str = "default") -> pd.DataFrame:
    """``estimate, std_error, z, p`` per fixed effect (glmer's "z value", "Pr(>|z|)")."""
    V = covariance(res, vcov)
    est = res.fixef.to_numpy()
    se = np.sqrt(np.diag(V))
    z = est / se
    return pd.DataFrame(
        {"estimate": est, "std_error": se, "z": z, "p": 2 * stats.norm.sf(np.abs(z))},
        index=res.fixef.index,
    )


def contrast(res: GLMMResult, L: Any, level: float = 0.95,
             vcov: str = "default") -> pd.Series | pd.DataFrame:
    """Wald test of linear combinations L β (one: z test and interval; several: χ² test).

    Returns
    -------
    pandas.Series
        ``estimate, std_error, z, p, lower, upper`` for one combination (text such as
        ``"motiv - climate"``, a vector or a Series over the fixed effects), or
        ``chisq, df, p`` for the joint test of several rows.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    Lm, one_d, labels = as_matrix(res, L)
    V = covariance(res, vcov)
    est = Lm @ res.fixef.to_numpy()
    if not one_d:
        cov = Lm @ V @ Lm.T
        rank = np.linalg.matrix_rank(cov)
        chisq = float(est @ np.linalg.pinv(cov) @ est)
        return pd.Series({"chisq": chisq, "df": int(rank), "p": float(stats.chi2.sf(chisq, rank))},
                         name="; ".join(labels))
    vec = Lm[0]
    if not np.any(vec):
        raise ValueError("the contrast has all weights zero.")
    se = float(np.sqrt(vec @ V @ vec))
    z = float(est[0]) / se
    half = stats.norm.ppf(0.5 + level / 2) * se
    return pd.Series(
        {"estimate": float(est[0]), "std_error": se, "z": z, "p": 2 * stats.norm.sf(abs(z)),
         "lower": float(est[0]) - half, "upper": float(est[0]) + half},
        name=labels[0],
    )


def wald_confint(res: GLMMResult, level: float = 0.95, vcov: str = "default") -> pd.DataFrame:
    """``confint(m, method = "Wald")``: β̂ ± z SE; SDs and correlations NaN (as lme4)."""
    from .bootstrap import parameter_names

    table = coefficient_table(res, vcov)
    z = stats.norm.ppf(0.5 + level / 2)
    names = parameter_names(res)
    k = len(names) - len(table)
    rows = [(a, b, np.nan, np.nan) for a, b in names[:k]]
    rows += [(name, name, est - z * s, est + z * s)
             for name, est, s in zip(table.index, table["estimate"], table["std_error"],
                                     strict=True)]
    out = pd.DataFrame(rows, columns=["parameter", "lme4_name", "lower", "upper"])
    out = out.set_index("parameter")
    out.attrs["level"] = level
    return out


def confint(res: GLMMResult, method: str = "wald", level: float = 0.95,
            **kwargs: Any) -> pd.DataFrame:
    """Intervals: ``"wald"`` (fixed effects), ``"profile"`` (likelihood profile, as lme4's
    ``confint(m)``) or ``"boot"`` (parametric bootstrap percentiles; ``nsim``, ``seed``)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    key = str(method).lower()
    if key == "wald":
        return wald_confint(res, level, **kwargs)
    if key == "profile":
        from .profile import profile_confint

        return profile_confint(res, level=level, **kwargs)
    if key in ("boot", "bootstrap"):
        from .bootstrap import boot_confint

        return boot_confint(res, level=level, **kwargs)
    raise ValueError(f"method must be 'wald', 'profile' or 'boot', not {method!r}.")

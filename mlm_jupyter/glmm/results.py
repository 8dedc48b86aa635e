"""GLMMResult: the immutable fitted generalised linear mixed model users read.

It shares the LMM result's public surface where the meaning carries over
(:class:`~mlm_jupyter.result_common.FittedMixedModel`: fixef, vcov, theta, varcorr,
ranef, ranef_se, coef, loglik, aic, bic, ...; ``sigma`` is 1 as glmer's), and adds the
family, the link, the dispersion of the negative binomial and predictions on the response
scale.  Tables are built on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..result_common import RandomEffectsViews, relative_factors

if TYPE_CHECKING:  # pragma: no cover
    from ..design import Design
    from ..engine.glmm_fit import GLMMFit
    from ..engine.glmm_optimize import GLMMOptimization
    from ..spec import ModelSpec


@dataclass(frozen=True)
class GLMMResult(RandomEffectsViews):
    """A fitted GLMM (lme4's ``glmerMod``; ``glmer.nb`` for the negative binomial).

    Attributes
    ----------
    family, link : str
        ``"binomial"`` (logit, probit, cloglog), ``"poisson"`` or ``"negative_binomial"`` (log).
    nagq : int
        1 for the Laplace approximation, > 1 for adaptive Gauss-Hermite quadrature.
    fixef : pandas.Series
        Fixed effects on the link scale, in model-matrix order.
    theta : ndarray
        lme4's θ: the lower-triangular Cholesky factors of the random-effects covariances
        (no σ in a GLMM).
    loglik : float
        glmer's ``logLik``: the Laplace (or quadrature) log-likelihood with every constant;
        for nAGQ > 1, as glmer, without the saturated log-likelihood (``loglik_full`` has it).
    objective : float
        ``-2 * loglik`` (what glmer's summary prints as "deviance").
    dispersion : float
        Negative binomial θ (``getME(m, "glmer.nb.theta")``), ``nan`` otherwise.
    vcov_method : str
        ``"hessian"`` (glmer's default: finite-difference Hessian over (θ, β)) or ``"RX"``.
    """

    spec: ModelSpec
    design: Design = field(repr=False)
    data_used: pd.DataFrame | None = field(repr=False)
    family: str
    link: str
    nagq: int
    fixef: pd.Series
    theta: np.ndarray
    dispersion: float
    objective: float
    loglik: float
    loglik_full: float
    npar: int
    aic: float
    bic: float
    df_resid: int
    nobs: int
    ngroups: dict[str, int]
    n_dropped: int
    is_singular: bool
    converged: bool
    messages: tuple[str, ...]
    vcov_method: str
    optimization: GLMMOptimization = field(repr=False)
    random_effects: tuple[np.ndarray, ...] = field(repr=False)
    fit_state: GLMMFit = field(repr=False, compare=False)
    _vcov: np.ndarray = field(repr=False, compare=False)

    reml = False  # GLMMs are fitted by maximum likelihood

    @property
    def sigma(self) -> float:
        """1, as glmer's ``sigma()`` for binomial, Poisson and negative binomial fits."""
        return 1.0

    @property
    def is_glmm(self) -> bool:
        return True

    # -- covariances and variance components ----------------------------------------------
    @cached_property
    def vcov(self) -> pd.DataFrame:
        """Covariance of the fixed effects (glmer's default method, see ``vcov_method``)."""
        names = list(self.fixef.index)
        return pd.DataFrame(self._vcov, index=names, columns=names)

    @cached_property
    def vcov_rx(self) -> pd.DataFrame:
        """``vcov(m, use.hessian = FALSE)``: from R_X, conditional on θ."""
        from ..engine.glmm_vcov import rx_vcov

        names = list(self.fixef.index)
        return pd.DataFrame(rx_vcov(self.fit_state), index=names, columns=names)

    @cached_property
    def varcorr(self) -> pd.DataFrame:
        """``group, var1, var2, vcov, sdcor`` as ``as.data.frame(VarCorr(m))`` (no residual)."""
        from ..varcorr import varcorr_table

        covs = [T @ T.T for T in relative_factors(self.design, self.theta)]
        table = varcorr_table(self.design, covs, 1.0)
        return table[table["group"] != "Residual"].reset_index(drop=True)

    @cached_property
    def conditional_covariances(self) -> tuple[np.ndarray, ...]:
        """Per term, (levels, q, q) conditional covariances of b at the modes (condVar)."""
        return tuple(self.fit_state.conditional_covariances())

    # -- fitted values and predictions ---------------------------------------------------
    def fitted(self, include_re: bool = True, type: str = "response") -> pd.Series:
        """glmer's ``fitted()`` (response scale) or the linear predictor (``type="link"``)."""
        from .predict import fitted_values

        return fitted_values(self, include_re=include_re, type=type)

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        include_re: bool = True,
        type: str = "response",
        interval: str | None = None,
        level: float = 0.95,
    ) -> Any:
        """Predictions on the link or response scale (``allow.new.levels = TRUE``).

        With ``interval="confidence"`` a DataFrame ``fit, std_error, lower, upper``: the
        interval of the linear predictor from vcov(β̂) (and, with ``include_re``, the
        conditional variances of the clusters' modes), back-transformed for ``type=
        "response"``.
        """
        from .predict import predict

        return predict(self, newdata, include_re=include_re, type=type, interval=interval,
                       level=level)

    # -- inference -----------------------------------------------------------------------
    @cached_property
    def coef_table(self) -> pd.DataFrame:
        """``estimate, std_error, z, p``: glmer's Wald z tests (default vcov)."""
        return self.coefficients()

    def coefficients(self, vcov: str = "default") -> pd.DataFrame:
        """Wald z table; ``vcov`` ``"default"`` (as glmer), ``"hessian"`` or ``"rx"``."""
        from .inference import coefficient_table

        return coefficient_table(self, vcov=vcov)

    def contrast(self, L: Any, level: float = 0.95) -> pd.Series | pd.DataFrame:
        """Wald z test of a linear combination of fixed effects (vector, matrix or text)."""
        from .inference import contrast

        return contrast(self, L, level=level)

    def confint(self, method: str = "wald", level: float = 0.95, **kwargs: Any) -> pd.DataFrame:
        """Intervals for fixed effects (and, profile/boot, random-effect SDs/correlations)."""
        from .inference import confint

        return confint(self, method=method, level=level, **kwargs)

    def refit(self, y: np.ndarray | None = None, **kwargs: Any) -> GLMMResult:
        """A new fit of the same model (optionally with a new response vector)."""
        from .fitting import refit

        return refit(self, y=y, **kwargs)

    # -- display -------------------------------------------------------------------------
    def summary(self) -> str:
        """glmer-style plain-text summary."""
        from .summary import summary_text

        return summary_text(self)

    def __str__(self) -> str:
        return self.summary()

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
        average_re: bool = False,
    ) -> Any:
        """Predictions on the link or response scale (``allow.new.levels = TRUE``).

        With ``interval="confidence"`` a DataFrame ``fit, std_error, lower, upper``: the
        interval of the linear predictor from vcov(β̂) (and, with ``include_re``, the
        conditional variances of the clusters' modes), back-transformed for ``type=
        "response"``.  ``average_re=True``: population-averaged means (the mean over new
        clusters' random effects) instead of the cluster-specific (conditional) ones.
        """
        from .predict import predict

        return predict(self, newdata, include_re=include_re, type=type, interval=interval,
                       level=level, average_re=average_re)

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

    def anova(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        """Not available: F tests with Satterthwaite or Kenward-Roger df are for LMMs."""
        raise ValueError(
            "anova() gives lmerTest's F tests, which exist for linear mixed models only. For a "
            "GLMM test a term by a likelihood ratio, mlm.compare(model_without_term, res), or "
            "by a Wald χ² test, res.contrast(['coef1', 'coef2', ...]) over the term's coefficients."
        )

    def confint(self, method: str = "wald", level: float = 0.95, **kwargs: Any) -> pd.DataFrame:
        """Intervals for fixed effects (and, profile/boot, random-effect SDs/correlations)."""
        from .inference import confint

        return confint(self, method=method, level=level, **kwargs)

    def refit(self, y: np.ndarray | None = None, **kwargs: Any) -> GLMMResult:
        """A new fit of the same model (optionally with a new response vector)."""
        from .fitting import refit

        return refit(self, y=y, **kwargs)

    # -- effects on the response scale (mlm_jupyter.glmm.effects, .margins) ----------------
    def ratios(self, level: float = 0.95, method: str = "wald") -> pd.DataFrame:
        """exp(β): odds ratios (logit), rate ratios (log) or hazard ratios (cloglog)."""
        from .effects import ratios

        return ratios(self, level=level, method=method)

    def odds_ratios(self, level: float = 0.95, method: str = "wald") -> pd.DataFrame:
        """Odds ratios exp(β) with intervals (logit link)."""
        if self.link != "logit":
            raise ValueError(f"odds ratios need the logit link; this fit uses {self.link}.")
        return self.ratios(level=level, method=method)

    def rate_ratios(self, level: float = 0.95, method: str = "wald") -> pd.DataFrame:
        """Incidence-rate ratios exp(β) with intervals (log link)."""
        if self.link != "log":
            raise ValueError(f"rate ratios need the log link; this fit uses {self.link}.")
        return self.ratios(level=level, method=method)

    def icc(self) -> pd.Series:
        """Latent-scale ICC, adjusted and unadjusted (performance::icc)."""
        from .effects import icc

        return icc(self)

    def r2(self, method: str = "nakagawa") -> pd.Series:
        """Nakagawa R², marginal and conditional (performance::r2_nakagawa)."""
        if method != "nakagawa":
            raise ValueError("GLMMs have Nakagawa's R² only (method='nakagawa').")
        from .effects import r2

        return r2(self)

    def variance_components(self) -> pd.Series:
        """The variances behind icc() and r2() (insight::get_variance)."""
        from .effects import variance_components

        return variance_components(self)

    def median_odds_ratio(self) -> pd.Series:
        """Median odds ratio (Merlo) of every random intercept."""
        from .effects import median_odds_ratio

        return median_odds_ratio(self)

    def random_slope_ranges(self, level: float = 0.95) -> pd.DataFrame:
        """Fixed effect ± z·SD of every random coefficient, on the link scale and as ratios."""
        from .effects import random_slope_ranges

        return random_slope_ranges(self, level=level)

    def simple_slopes(self, of: str, at: dict[str, Any] | None = None,
                      level: float = 0.95) -> pd.DataFrame:
        """Slope of ``of`` on the link scale at moderator values (Wald z), with its ratio."""
        from .margins import simple_slopes

        return simple_slopes(self, of, at, level=level)

    def johnson_neyman(self, of: str, moderator: str, level: float = 0.95) -> pd.DataFrame:
        """Moderator regions where the link-scale slope of ``of`` is significant."""
        from ..effects import johnson_neyman

        return johnson_neyman(self, of, moderator, level=level)

    def average_marginal_effects(self, of: str, include_re: bool = True,
                                 level: float = 0.95) -> pd.Series:
        """Average of dμ/d``of`` over the rows (response scale), delta-method SE."""
        from .margins import average_marginal_effect

        return average_marginal_effect(self, of, include_re=include_re, level=level)

    def marginal_means(self, specs: Any, by: Any = None, at: dict[str, Any] | None = None,
                       type: str = "link", level: float = 0.95, offset: float | None = None,
                       ddf: str | None = None) -> pd.DataFrame:
        """emmeans' estimated marginal means (asymptotic df), link or response scale.

        ``offset`` on the grid defaults to its mean over the data (emmeans); ``ddf`` is
        accepted for the LMM's signature, but a GLMM's tests are asymptotic (z).
        """
        from .margins import marginal_means

        return marginal_means(self, specs, by=by, at=at, type=type, level=level,
                              offset=offset)

    def pairwise(self, specs: Any, by: Any = None, at: dict[str, Any] | None = None,
                 adjust: str = "tukey", type: str = "link", level: float = 0.95,
                 ddf: str | None = None) -> pd.DataFrame:
        """emmeans' ``pairs()``: link-scale differences, or odds/rate ratios (``type=
        "response"``), or differences of probabilities/means (``type="difference"``)."""
        from .margins import pairwise

        return pairwise(self, specs, by=by, at=at, adjust=adjust, type=type, level=level)

    # -- diagnostics (mlm_jupyter.glmm.diagnostics, .dharma, .influence) ---------------------
    def residuals(self, kind: str = "deviance") -> pd.Series:
        """glmer's residuals: ``deviance`` (default), ``pearson``, ``response``, ``working``."""
        from .diagnostics import residuals

        return residuals(self, kind=kind)

    def simulate_residuals(self, nsim: int = 250, seed: Any = None) -> Any:
        """Simulation-based quantile residuals (DHARMa's ``simulateResiduals``)."""
        from .dharma import simulate_residuals

        return simulate_residuals(self, nsim=nsim, seed=seed)

    def binned_residuals(self, bins: int | None = None) -> pd.DataFrame:
        """Gelman & Hill's binned residuals (binomial fits)."""
        from .dharma import binned_residuals

        return binned_residuals(self, bins=bins)

    def influence(self, group: str | None = None, exact: bool = True, **_: Any) -> pd.DataFrame:
        """Cluster influence from deletion refits (exact, or one Newton step)."""
        from .influence import influence

        return influence(self, group=group, exact=exact)

    def check(self, nsim: int = 250, seed: Any = 1) -> list:
        """Convergence, singularity, residual, dispersion, zero-inflation and influence checks."""
        from .checks import check

        return check(self, nsim=nsim, seed=seed)

    # -- display -------------------------------------------------------------------------
    def summary(self) -> str:
        """glmer-style plain-text summary."""
        from .summary import summary_text

        return summary_text(self)

    def __str__(self) -> str:
        return self.summary()

    def methods_text(self, level: float = 0.95, references: bool = False) -> str:
        """A methods paragraph: family and link, Laplace or AGQ, optimiser and checks, tests."""
        from ..display.paper.methods_glmm import methods_text_glmm

        return methods_text_glmm(self, level=level, references=references)

    def equations(self, format: str = "text") -> str:
        """The model on the link scale in Raudenbush-Bryk notation (text, latex or html):
        ``logit(p_ij) = β0j + β1j·x_ij``, with the response's distribution."""
        from ..display.paper.equations_text import equations

        return equations(self, format)

    def _repr_html_(self) -> str:
        from .display import glmm_result_html

        return glmm_result_html(self)

    def explore(self, **kwargs: Any) -> Any:
        """The interactive explorer on the response scale (anywidget, offline): probability or
        count curves by moderator with the random-effects fan, link-scale simple slopes with
        Wald z tests and their ratios, the clusters' curves, the caterpillar of the modes,
        linked selection; ``kwargs`` as :class:`~mlm_jupyter.display.widget.ModelExplorer`
        (``group``, ``predictor``, ``at``, ``tab``, ``selected``)."""
        from ..display.widget import ModelExplorer

        return ModelExplorer(self, **kwargs)

    def response_charts(self, x: str | None = None, moderator: str | None = None,
                        group: str | None = None) -> Any:
        """The same views as static Altair charts (curves with the random-effects fan,
        cluster curves, caterpillar), e.g. for print."""
        from .explore import explore

        return explore(self, x=x, moderator=moderator, group=group)

    def to_html(self, path: str | None = None, **kwargs: Any) -> str:
        """Self-contained offline HTML report; written to ``path`` when given."""
        from .report import report

        return report(self, path=path, **kwargs)

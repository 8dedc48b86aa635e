"""MixedModelResult: the immutable fitted model users read.

Fields are the estimates at the optimum; derived tables (Satterthwaite tests, effect
sizes, diagnostics, displays) are computed on demand by the modules that own them and
cached where they are costly.  ``refit`` and ``without`` return new results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .frozen import frozen_cached, make_read_only
from .result_common import RandomEffectsViews

if TYPE_CHECKING:  # pragma: no cover
    from .design import Design
    from .engine.conditioning import Conditioning
    from .engine.fit import OptimizationRecord
    from .engine.objective import Factor, ProfiledDeviance
    from .spec import ModelSpec


@dataclass(frozen=True)
class MixedModelResult(RandomEffectsViews):
    """A fitted linear mixed model (lme4's ``merMod`` with lmerTest's tests).

    Attributes
    ----------
    fixef : pandas.Series
        Fixed effects γ in lme4's model-matrix order, ``(Intercept)`` first.
    vcov : pandas.DataFrame
        Their covariance σ² (RX'RX)^{-1}.
    sigma : float
        Residual standard deviation σ.
    theta : ndarray
        Relative covariance parameters (lower-triangular Λ factors, lme4's order).
    varcorr : pandas.DataFrame
        ``group, var1, var2, vcov, sdcor`` as ``as.data.frame(VarCorr(m))``.
    ranef, ranef_se : dict of str -> DataFrame
        Conditional modes (BLUPs) u_j and their conditional SDs, levels x terms.
    objective : float
        REML criterion (REML fits) or deviance (ML fits), i.e. -2 log-likelihood.
    """

    spec: ModelSpec
    design: Design = field(repr=False)
    data_used: pd.DataFrame | None = field(repr=False)
    reml: bool
    fixef: pd.Series
    sigma: float
    theta: np.ndarray
    objective: float
    loglik: float
    npar: int
    aic: float
    bic: float
    nobs: int
    ngroups: dict[str, int]
    n_dropped: int
    is_singular: bool
    converged: bool
    messages: tuple[str, ...]
    optimization: OptimizationRecord = field(repr=False)
    random_effects: tuple[np.ndarray, ...] = field(repr=False)
    engine: ProfiledDeviance = field(repr=False, compare=False)
    factor: Factor = field(repr=False, compare=False)
    conditioning: Conditioning = field(repr=False, compare=False)
    engine_design: Design = field(repr=False, compare=False)

    # -- the engine's units (engine.conditioning): what inference and refits work with ----
    @property
    def engine_theta(self) -> np.ndarray:
        """θ° at the optimum, in the engine's units (``self.engine``'s argument)."""
        return self.optimization.theta

    @property
    def engine_sigma(self) -> float:
        """σ° = σ / s, the residual SD in the engine's units."""
        return self.sigma / self.conditioning.scale

    # -- tables built on first use (a fit on a small data set is ~1 ms of arithmetic;
    # building every pandas table eagerly cost a third of that) -------------------------
    @frozen_cached
    def vcov(self) -> pd.DataFrame:
        """Covariance of the fixed effects, σ² (RX'RX)⁻¹."""
        from .engine.objective import unscaled_vcov
        from .engine.threads import blas_limit

        names = list(self.fixef.index)
        cp = self.engine.cp
        with blas_limit(self.engine):
            U = unscaled_vcov(self.factor, cp.m_rest, cp.p)
        V = self.conditioning.vcov(U * self.engine_sigma**2)
        return pd.DataFrame(V, index=names, columns=names)

    @frozen_cached
    def varcorr(self) -> pd.DataFrame:
        """``group, var1, var2, vcov, sdcor`` as lme4's ``as.data.frame(VarCorr(m))``."""
        from .engine.theta import unpack_theta
        from .varcorr import term_covariances, varcorr_table

        covs = term_covariances(unpack_theta(self.theta, self.engine.cp), self.sigma)
        return _shown(varcorr_table(self.design, covs, self.sigma))

    @frozen_cached
    def conditional_covariances(self) -> tuple[np.ndarray, ...]:
        """Per term, (levels, q, q) conditional covariances of the random effects (condVar)."""
        from .engine.objective import conditional_variances
        from .engine.threads import blas_limit

        with blas_limit(self.engine):
            cond = conditional_variances(self.factor, self.engine.cp)
        s2 = self.engine_sigma**2
        return tuple(self.conditioning.conditional_covariances([c * s2 for c in cond]))

    # -- identity ----------------------------------------------------------------------
    @property
    def data(self) -> pd.DataFrame:
        """The user's rows used in the fit (only the model's columns, original index)."""
        if self.data_used is None:
            from .warehouse.rows import origin_of

            origin = origin_of(self)
            if origin is not None:
                raise AttributeError(
                    f"the data stay in {origin.source.label}: this fit read only aggregates "
                    "(res.data_used is None); mlm_jupyter.warehouse.sample_residuals(res) "
                    "returns a random sample of the rows")
            raise AttributeError("this result was built without its data")
        return self.data_used

    # -- fitted values ---------------------------------------------------------------------
    def fitted(self, include_re: bool = True) -> pd.Series:
        """X γ + Z u (``include_re=True``, lme4's ``fitted()``) or X γ."""
        values = self.design.X @ self.fixef.to_numpy()
        if self.design.offset is not None:  # lme4's fitted values include the offset
            values = values + self.design.offset
        if include_re:
            for term, b in zip(self.design.terms, self.random_effects, strict=True):
                values = values + np.einsum("nq,nq->n", term.Z, b[term.codes])
        return pd.Series(values, index=self.design.row_index, name="fitted")

    def predict(
        self,
        newdata: Any = None,
        include_re: bool = True,
        type: str = "response",
        interval: str | None = None,
        level: float = 0.95,
        *,
        allow_new_levels: bool = True,
        **kwargs: Any,
    ) -> np.ndarray | pd.DataFrame:
        """Predictions for new data (lme4's ``predict``; see :func:`mlm_jupyter.predict.predict`).

        A cluster id that is missing or was not in the fit gets the population prediction
        (lme4's ``allow.new.levels = TRUE``); ``allow_new_levels=False`` raises instead.  An
        unseen level of a fixed-effect factor raises; a missing predictor gives NaN.  With
        ``interval="confidence"`` or ``"prediction"`` a DataFrame ``fit, std_error, lower,
        upper`` (see :func:`mlm_jupyter.prediction_intervals.predict_interval`, which also
        takes ``method="simulation"``, ``nsim`` and ``seed``).
        """
        if interval is not None or kwargs:
            from .prediction_intervals import predict_interval

            return _shown(predict_interval(
                self, newdata, include_re=include_re, type=type, interval=interval,
                level=level, allow_new_levels=allow_new_levels, **kwargs,
            ))
        from .effects.links import check_type, link_of
        from .predict import predict

        eta = predict(self, newdata, include_re=include_re, allow_new_levels=allow_new_levels)
        return link_of(self).inverse(eta) if check_type(type) == "response" else eta

    def refit(self, reml: bool | None = None, y: np.ndarray | None = None) -> MixedModelResult:
        """A new fit of the same model (REML/ML switch, or a new response vector)."""
        from dataclasses import replace

        from .fitting import fit_design
        from .validate import check_flag

        check_flag("reml", reml, allow_none=True)
        reml = self.reml if reml is None else reml
        design = self.design if y is None else replace(self.design, y=self._new_response(y))
        return fit_design(design, reml=reml, start=self.theta, data=self.data_used)

    def _new_response(self, y: Any) -> np.ndarray:
        """``y`` for :meth:`refit`: one finite number per fitted row (minus any offset)."""
        try:
            values = np.asarray(y, dtype=float)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"y must be numbers, one per fitted row ({self.nobs}).") from exc
        if values.shape != (self.nobs,):
            raise ValueError(
                f"y must have one value per fitted row ({self.nobs}), not shape {values.shape}."
            )
        if not np.isfinite(values).all():
            raise ValueError(f"y has {int((~np.isfinite(values)).sum())} missing or infinite "
                             "value(s); refit needs a complete response.")
        if self.design.offset is not None:
            values = values - self.design.offset
        values.flags.writeable = False
        return values

    # -- inference (mlm_jupyter.inference) -------------------------------------------------
    @frozen_cached
    def coef_table(self) -> pd.DataFrame:
        """estimate, std_error, df, t, p with Satterthwaite df (lmerTest's default)."""
        return self.coefficients("satterthwaite")

    def coefficients(self, ddf: str = "satterthwaite") -> pd.DataFrame:
        """Fixed-effects table; ``ddf`` in satterthwaite, kenward-roger, residual."""
        from .inference import coefficient_table

        return _shown(coefficient_table(self, ddf=ddf))

    def anova(self, type: int | str = 3, ddf: str = "satterthwaite") -> pd.DataFrame:
        """F test of every fixed-effect term, as lmerTest's ``anova(m, type, ddf)``.

        Parameters
        ----------
        type : {3, 2, 1} or "III", "II", "I"
            Type III (default, lmerTest's), II or I (sequential) hypotheses.
        ddf : {"satterthwaite", "kenward-roger"}

        Returns
        -------
        DataFrame
            Per term: ``sum_sq, mean_sq, num_df, den_df, F, p``; each term's hypothesis
            matrix in ``attrs["hypotheses"]``.
        """
        from .inference.anova import anova_table

        return _shown(anova_table(self, type=type, ddf=ddf))

    def contrast(
        self, L: Any, level: float = 0.95, ddf: str = "satterthwaite"
    ) -> pd.Series | pd.DataFrame:
        """Test of a linear combination of fixed effects (vector, matrix or text)."""
        from .inference import contrast

        return _shown(contrast(self, L, level=level, ddf=ddf))

    def confint(self, method: str = "profile", level: float = 0.95, **kwargs: Any) -> pd.DataFrame:
        """Confidence intervals for fixed effects and random-effect SDs/correlations."""
        from .inference import confint

        return _shown(confint(self, method=method, level=level, **kwargs))

    # -- effects (mlm_jupyter.effects) -----------------------------------------------------
    def icc(self) -> pd.Series:
        from .effects import icc

        return _shown(icc(self))

    def r2(self, method: str = "nakagawa") -> pd.Series:
        from .effects import r2

        return _shown(r2(self, method=method))

    def random_slope_ranges(self, level: float = 0.95) -> pd.DataFrame:
        from .effects import random_slope_ranges

        return _shown(random_slope_ranges(self, level=level))

    def simple_slopes(
        self, of: str, at: dict[str, Any] | None = None, level: float = 0.95
    ) -> pd.DataFrame:
        from .effects import simple_slopes

        return _shown(simple_slopes(self, of, at, level=level))

    def johnson_neyman(self, of: str, moderator: str, level: float = 0.95) -> pd.DataFrame:
        from .effects import johnson_neyman

        return _shown(johnson_neyman(self, of, moderator, level=level))

    def marginal_means(self, specs: Any, by: Any = None, at: dict | None = None,
                       ddf: str = "kenward-roger", type: str = "link",
                       level: float = 0.95) -> pd.DataFrame:
        """emmeans' estimated marginal means (see :func:`mlm_jupyter.effects.marginal_means`)."""
        from .effects import marginal_means

        return _shown(marginal_means(self, specs, by=by, at=at, ddf=ddf, type=type,
                                     level=level))

    def pairwise(self, specs: Any, by: Any = None, at: dict | None = None,
                 adjust: str = "tukey", ddf: str = "kenward-roger", type: str = "link",
                 level: float = 0.95) -> pd.DataFrame:
        """emmeans' ``pairs()`` of the marginal means (see :func:`mlm_jupyter.effects.pairwise`)."""
        from .effects import pairwise

        return _shown(pairwise(self, specs, by=by, at=at, adjust=adjust, ddf=ddf, type=type,
                               level=level))

    def predict_response(self, terms: Any = None, at: dict | None = None,
                         level: float = 0.95) -> pd.DataFrame:
        """Predictions with CI and PI bands across a predictor, by a moderator (ggeffects)."""
        from .effects.response_grid import predict_response

        return _shown(predict_response(self, terms, at=at, level=level))

    def effect_plot(self, terms: Any = None, at: dict | None = None, level: float = 0.95,
                    **kwargs: Any) -> Any:
        """Altair effect plot of :meth:`predict_response` (confidence and prediction bands)."""
        from .display.effect_charts import effect_plot

        return effect_plot(self, terms, at=at, level=level, **kwargs)

    def marginal_variance(self, x: Any, group: str | None = None) -> pd.DataFrame:
        from .effects import marginal_variance

        return _shown(marginal_variance(self, x, group=group))

    def reliability(self, group: str | None = None) -> pd.DataFrame:
        from .effects import reliability

        return _shown(reliability(self, group=group))

    def advice(self) -> list:
        from .advice import advise

        return advise(self)

    # -- diagnostics (mlm_jupyter.diagnostics) ---------------------------------------------
    def residuals(self, kind: str = "conditional") -> pd.Series:
        from .diagnostics import residuals

        return residuals(self, kind=kind)

    def hatvalues(self) -> pd.Series:
        from .diagnostics import hatvalues

        return hatvalues(self)

    def influence(
        self, group: str | None = None, exact: bool = True, **kwargs: Any
    ) -> pd.DataFrame:
        from .diagnostics import influence

        return _shown(influence(self, group=group, exact=exact, **kwargs))

    def without(self, clusters: list[Any], group: str | None = None) -> Any:
        from .diagnostics import without

        return without(self, clusters, group=group)

    def all_fit(self) -> pd.DataFrame:
        """Refit with every available optimiser and other starts (lme4's ``allFit``)."""
        from .diagnostics.all_fit import all_fit

        return all_fit(self)

    def check(self) -> list:
        from .diagnostics import check

        return check(self)

    # -- display (mlm_jupyter.display) -----------------------------------------------------
    def summary(self) -> str:
        """lme4-style plain-text summary (a ``str`` that displays as its lines in notebooks)."""
        from .display.text import summary_text
        from .frames import DisplayText

        return DisplayText(summary_text(self))

    def __str__(self) -> str:
        return self.summary()

    def methods_text(self, ddf: str = "satterthwaite", level: float = 0.95,
                     references: bool = False) -> str:
        """A methods paragraph: estimation, optimiser and checks, df method, centring, software."""
        from .display.paper.methods import methods_text

        return methods_text(self, ddf=ddf, level=level, references=references)

    def equations(self, format: str = "text") -> str:
        """The model in Raudenbush-Bryk notation: ``format`` "text", "latex" or "html"."""
        from .display.paper.equations_text import equations

        return equations(self, format)

    def _repr_html_(self) -> str:
        from .display.html import result_html

        return result_html(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's text display (terminal, text/plain): the summary, not the dataclass."""
        p.text(self.summary())

    def explore(self, **kwargs: Any) -> Any:
        """The interactive explorer widget."""
        from .display.widget import ModelExplorer
        from .validate import check_count

        if "max_clusters" in kwargs:
            check_count("max_clusters", kwargs["max_clusters"], minimum=1)

        return ModelExplorer(self, **kwargs)

    def to_html(self, path: str | None = None, **kwargs: Any) -> str:
        """Self-contained offline HTML report; written to ``path`` when given."""
        from .display.report import report
        from .validate import check_output_path

        if path is not None:
            check_output_path(path)

        return report(self, path=path, **kwargs)


def _shown(table: Any) -> Any:
    """A table the API returns, as the display-friendly subclass (same values, see frames).

    Notes a table carries in ``attrs["notes"]`` (marginal means, predictions) are shown
    under it.
    """
    from .frames import as_result_frame, as_result_series

    if isinstance(table, pd.DataFrame):
        if hasattr(type(table), "display_digits"):
            return table
        return as_result_frame(table, [str(n) for n in table.attrs.get("notes", [])])
    if isinstance(table, pd.Series):
        return as_result_series(table)
    return table


make_read_only(MixedModelResult, tables=("fixef",), arrays=("theta", "random_effects"))

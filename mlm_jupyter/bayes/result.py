"""BayesianResult: the posterior of a linear mixed model, immutable, read like a REML result.

Point estimates are posterior means, intervals are equal-tailed credible intervals, and every
table carries brms' parameter names next to lme4's.  The draws themselves are an ArviZ
InferenceData (``res.idata``), so every ArviZ plot and diagnostic works on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .idata import named_draws

if TYPE_CHECKING:  # pragma: no cover
    from ..design import Design
    from ..results import MixedModelResult
    from ..spec import ModelSpec
    from .draws import Draws
    from .names import ParameterNames
    from .priors import PriorSet


@dataclass(frozen=True)
class SamplerInfo:
    """How the posterior was sampled (NUTS through nutpie)."""

    chains: int
    draws: int
    warmup: int
    seed: int | None
    target_accept: float
    divergent: int
    max_treedepth_hits: int
    max_treedepth: int
    seconds: float
    sampler: str = "NUTS (nutpie) on the marginal posterior of the covariance parameters"


@dataclass(frozen=True)
class BayesianResult:
    """A linear mixed model's posterior (brms' model with the same formula and priors).

    Attributes
    ----------
    fixef : pandas.Series
        Posterior means of the fixed effects, lme4's names and order.
    sigma : float
        Posterior mean of the residual SD.
    idata : arviz.InferenceData
        ``posterior`` (brms names, ``r_<group>`` random effects), ``sample_stats``,
        ``posterior_predictive`` (``y``), ``observed_data``.
    priors : pandas.DataFrame
        The prior of every parameter, user-given or brms' default.
    sampler : SamplerInfo
    reml_fit : MixedModelResult
        The REML fit of the same formula (starting values, units, comparison).
    """

    spec: ModelSpec
    design: Design = field(repr=False)
    data_used: pd.DataFrame | None = field(repr=False)
    names: ParameterNames = field(repr=False)
    prior_set: PriorSet = field(repr=False)
    draws: Draws = field(repr=False, compare=False)
    idata: Any = field(repr=False, compare=False)
    sampler: SamplerInfo
    nobs: int
    ngroups: dict[str, int]
    n_dropped: int
    messages: tuple[str, ...]
    reml_fit: MixedModelResult = field(repr=False, compare=False)

    method = "bayes"
    family = "gaussian"

    # -- identity ------------------------------------------------------------------------------
    @property
    def formula(self) -> str:
        return self.spec.formula

    @property
    def group_names(self) -> list[str]:
        return list(self.ngroups)

    @property
    def priors(self) -> pd.DataFrame:
        return self.prior_set.table

    @property
    def data(self) -> pd.DataFrame:
        if self.data_used is None:
            raise AttributeError("this result was built without its data")
        return self.data_used

    # -- draws and summaries ---------------------------------------------------------------------
    def draws_of(self, name: str) -> np.ndarray:
        """All draws of one parameter (brms name, e.g. ``"b_cses"``), flattened over chains."""
        table = named_draws(self.draws, self.names)
        if name not in table:
            import difflib

            hint = difflib.get_close_matches(name, list(table), n=1)
            more = f" Did you mean {hint[0]!r}?" if hint else ""
            raise KeyError(f"{name!r} is not a parameter of this model.{more} "
                           f"Parameters: {list(table)}.")
        return table[name].ravel()

    def posterior_summary(self, level: float = 0.95) -> pd.DataFrame:
        """``mean, sd, q2.5, q50, q97.5, rhat, ess_bulk, ess_tail, mcse_*`` per parameter.

        Rows are brms' names (``b_Intercept``, ``sd_g__x``, ``cor_g__Intercept__x``,
        ``sigma``); the statistics are those of R's ``posterior::summarise_draws``.
        """
        if level == 0.95:
            return self._summary95.copy()
        from .summary import summary_table

        return summary_table(named_draws(self.draws, self.names), level)

    @cached_property
    def _summary95(self) -> pd.DataFrame:
        from .summary import summary_table

        return summary_table(named_draws(self.draws, self.names), 0.95)

    @cached_property
    def fixef(self) -> pd.Series:
        """Posterior means of the fixed effects (lme4's names)."""
        return pd.Series(self.draws.beta.mean(axis=(0, 1)), index=list(self.design.fixed_names),
                         name="estimate")

    @cached_property
    def sigma(self) -> float:
        return float(self.draws.sigma.mean())

    @cached_property
    def coef_table(self) -> pd.DataFrame:
        """``estimate, std_error, lower, upper, rhat, ess_bulk`` per fixed effect.

        Posterior mean, posterior SD and the 95% equal-tailed credible interval, under
        lme4's names: the columns a paper table reads.
        """
        s = self._summary95.loc[list(self.names.fixed)]
        table = pd.DataFrame({
            "estimate": s["mean"].to_numpy(), "std_error": s["sd"].to_numpy(),
            "lower": s["q2.5"].to_numpy(), "upper": s["q97.5"].to_numpy(),
            "rhat": s["rhat"].to_numpy(), "ess_bulk": s["ess_bulk"].to_numpy(),
        }, index=list(self.design.fixed_names))
        table.attrs["interval"] = "95% credible interval (equal-tailed)"
        return table

    @cached_property
    def varcorr(self) -> pd.DataFrame:
        """lme4's ``group, var1, var2, vcov, sdcor`` rows, plus ``lower, upper`` and ``parameter``.

        ``sdcor`` is the posterior mean of the SD (or correlation), ``vcov`` the posterior
        mean of the variance (or covariance), ``lower``/``upper`` the 95% credible interval
        of ``sdcor``, ``parameter`` its brms name.
        """
        from ..varcorr import r_make_unique

        s = self._summary95
        groups = r_make_unique([t.group for t in self.design.terms])
        rows = []
        sd_of = {(n.term, n.column): i for i, n in enumerate(self.names.sds)}
        cor_of = {(c.term, c.i, c.j): i for i, c in enumerate(self.names.cors)}
        for k, (grp, term) in enumerate(zip(groups, self.design.terms, strict=True)):
            for i, col in enumerate(term.columns):
                name = self.names.sds[sd_of[(k, i)]].name
                var = float((self.draws.sd[:, :, sd_of[(k, i)]] ** 2).mean())
                rows.append((grp, col, None, var, *s.loc[name, ["mean", "q2.5", "q97.5"]], name))
            for i in range(term.q):
                for j in range(i + 1, term.q):
                    if (k, i, j) not in cor_of:
                        continue
                    c = cor_of[(k, i, j)]
                    name = self.names.cors[c].name
                    sdi = self.draws.sd[:, :, sd_of[(k, i)]]
                    sdj = self.draws.sd[:, :, sd_of[(k, j)]]
                    cov = float((self.draws.cor[:, :, c] * sdi * sdj).mean())
                    rows.append((grp, term.columns[i], term.columns[j], cov,
                                 *s.loc[name, ["mean", "q2.5", "q97.5"]], name))
        rows.append(("Residual", None, None, float((self.draws.sigma**2).mean()),
                     *s.loc["sigma", ["mean", "q2.5", "q97.5"]], "sigma"))
        return pd.DataFrame(rows, columns=["group", "var1", "var2", "vcov", "sdcor", "lower",
                                           "upper", "parameter"])

    # -- random effects ----------------------------------------------------------------------
    @cached_property
    def ranef(self) -> dict[str, pd.DataFrame]:
        """Posterior means of the random effects per grouping factor, levels x terms."""
        from ..varcorr import ranef_tables

        return ranef_tables(self.design, [r.mean(axis=(0, 1)) for r in self.draws.ranef])

    @cached_property
    def ranef_se(self) -> dict[str, pd.DataFrame]:
        """Posterior SDs of the random effects per grouping factor, levels x terms."""
        from ..varcorr import ranef_tables

        return ranef_tables(self.design, [r.std(axis=(0, 1), ddof=1) for r in self.draws.ranef])

    def ranef_summary(self, group: str | None = None, level: float = 0.95) -> pd.DataFrame:
        """Posterior of every cluster's random effects: ``level, term, mean, sd, lower, upper``.

        brms' ``ranef(fit)``; ``group`` defaults to the first grouping factor.
        """
        from .effects import ranef_summary

        return ranef_summary(self, group, level)

    @cached_property
    def coef(self) -> dict[str, pd.DataFrame]:
        """Posterior means of the cluster-specific coefficients (fixed + random)."""
        from .effects import cluster_coefficients

        return cluster_coefficients(self)

    # -- effects ---------------------------------------------------------------------------------
    def simple_slopes(self, of: str, at: dict[str, Any] | None = None,
                      level: float = 0.95) -> pd.DataFrame:
        """Posterior of the slope of ``of`` at moderator values (mean, SD, credible interval)."""
        from .effects import simple_slopes

        return simple_slopes(self, of, at, level)

    def icc(self) -> pd.Series:
        """Posterior mean of the ICC of a random-intercept model's first factor (and interval)."""
        from .effects import icc

        return icc(self)

    def fitted(self, include_re: bool = True) -> pd.Series:
        """X β̄ (+ Z b̄) at the posterior means, indexed by the rows used."""
        from .effects import fitted

        return fitted(self, include_re)

    def predict(self, newdata: pd.DataFrame | None = None, include_re: bool = True) -> np.ndarray:
        """Posterior mean predictions (at the posterior means of β and the random effects)."""
        from ..predict import predict

        return predict(self, newdata, include_re=include_re)

    @property
    def random_effects(self) -> tuple[np.ndarray, ...]:
        """Posterior means of the random effects per term (levels, q): what ``predict`` uses."""
        return tuple(r.mean(axis=(0, 1)) for r in self.draws.ranef)

    # -- display ---------------------------------------------------------------------------------
    def ppc_chart(self, n_draws: int = 40) -> Any:
        """Posterior predictive check: density of y against that of replicated data (Altair)."""
        from .display import ppc_chart

        return ppc_chart(self, n_draws)

    def summary(self) -> str:
        """brms-style plain-text summary."""
        from .display import summary_text

        return summary_text(self)

    def __str__(self) -> str:
        return self.summary()

    def methods_text(self, level: float = 0.95, references: bool = False) -> str:
        """A methods paragraph: model, priors (brms' vocabulary), sampler, convergence checks."""
        from ..display.paper.methods_bayes import methods_text_bayes

        return methods_text_bayes(self, level=level, references=references)

    def equations(self, format: str = "text") -> str:
        """The model in Raudenbush-Bryk notation with its priors (text, latex or html)."""
        from ..display.paper.equations_text import equations

        return equations(self, format)

    def _repr_html_(self) -> str:
        from .display import summary_html

        return summary_html(self)

    def to_html(self, path: str | None = None, title: str | None = None,
                paper: bool = True) -> str:
        """Self-contained offline HTML report of the posterior (with "For the paper": the
        table, methods paragraph and equations, unless ``paper=False``)."""
        from .display import report_html

        return report_html(self, path=path, title=title, paper=paper)

    def explore(self, **kwargs: Any) -> Any:
        """The explorer of the REML fit, with slopes from the posterior draws."""
        from .effects import explorer

        return explorer(self, **kwargs)

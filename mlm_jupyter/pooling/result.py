"""``pool``: one result from fits of the same model to m imputed data sets (Rubin's rules).

The fixed effects γ are pooled by Rubin's rules with Barnard & Rubin's (1999) small-sample
degrees of freedom (:mod:`.rubin`), exactly as mitml's ``testEstimates(fits, df.com = ν_com)``
and mice's ``pool()``; ν_com defaults to lme4's ``df.residual`` (N minus the number of
parameters), what ``mice::pool`` takes for an lmer fit.  Variance components are averaged
over the imputations (mitml's ``extra.pars``): every entry of every τ matrix and σ², so the
``varcorr`` table's ``vcov`` column is the mean of the m ``vcov`` columns and its ``sdcor``
column holds the SDs and correlations *of the averaged matrices* (not the mean of the m SDs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..engine.density import relative_factors
from ..varcorr import varcorr_table
from .rubin import rubin_rules

if TYPE_CHECKING:  # pragma: no cover
    from ..results import MixedModelResult
    from ..spec import ModelSpec

#: Columns of ``PooledResult.coef_table`` (ARCHITECTURE.md's contract).
COEF_COLUMNS = ["estimate", "std_error", "df", "t", "p", "riv", "fmi"]


@dataclass(frozen=True)
class PooledResult:
    """A mixed model pooled over m imputed data sets.

    Attributes
    ----------
    results : tuple of MixedModelResult
        The m fits, in the order of the data sets.
    coef_table : pandas.DataFrame
        Per fixed effect: ``estimate`` (mean of the m estimates), ``std_error`` (√T),
        ``df`` (Barnard-Rubin), ``t``, ``p``, ``riv`` (relative increase in variance due
        to missing data) and ``fmi`` (fraction of missing information).
    pooling : pandas.DataFrame
        The pieces: ``within`` (W, mean squared SE), ``between`` (B), ``total`` (T),
        ``lambda`` ((1 + 1/m) B / T) per fixed effect.
    vcov : pandas.DataFrame
        Total covariance of the pooled fixed effects, T = W̄ + (1 + 1/m) B.
    varcorr : pandas.DataFrame
        ``group, var1, var2, vcov, sdcor``: variance components averaged over imputations.
    df_com : float
        Complete-data df ν_com used for the Barnard-Rubin df.
    messages : tuple of str
        What the fits reported (singular fits, dropped rows), naming the imputations.
    """

    results: tuple[Any, ...] = field(repr=False)
    coef_table: pd.DataFrame
    pooling: pd.DataFrame = field(repr=False)
    vcov: pd.DataFrame = field(repr=False)
    varcorr: pd.DataFrame
    df_com: float
    messages: tuple[str, ...] = ()

    # -- what a single fit also has ---------------------------------------------------------
    @property
    def m(self) -> int:
        """Number of imputed data sets."""
        return len(self.results)

    @property
    def fixef(self) -> pd.Series:
        """Pooled fixed effects (the means over imputations)."""
        return self.coef_table["estimate"].rename("estimate")

    @property
    def sigma(self) -> float:
        """Residual SD of the averaged residual variance, √(mean σ²_i)."""
        return float(np.sqrt(self.varcorr["vcov"].iloc[-1]))

    @property
    def spec(self) -> ModelSpec:
        return self.results[0].spec

    @property
    def formula(self) -> str:
        return str(self.results[0].formula)

    @property
    def reml(self) -> bool:
        return bool(self.results[0].reml)

    @property
    def nobs(self) -> int:
        return int(self.results[0].nobs)

    @property
    def ngroups(self) -> dict[str, int]:
        return dict(self.results[0].ngroups)

    @property
    def group_names(self) -> list[str]:
        return list(self.ngroups)

    @property
    def n_dropped(self) -> int:
        return int(self.results[0].n_dropped)

    @cached_property
    def estimates(self) -> pd.DataFrame:
        """The fixed effects of every imputation (rows 1..m) next to each other."""
        frame = pd.DataFrame([r.fixef.to_numpy() for r in self.results],
                             columns=self.fixef.index,
                             index=pd.RangeIndex(1, self.m + 1, name="imputation"))
        return frame

    # -- display -----------------------------------------------------------------------------
    def summary(self) -> str:
        """Plain-text summary: pooling rules, averaged random effects, pooled fixed effects."""
        from ..display.pooled import pooled_text

        return pooled_text(self)

    def __str__(self) -> str:
        return self.summary()

    def methods_text(self, level: float = 0.95, references: bool = False) -> str:
        """A methods paragraph: the model, m, Rubin's rules, the df method, the fits' checks."""
        from ..display.paper.methods_pooled import methods_text_pooled

        return methods_text_pooled(self, level=level, references=references)

    def equations(self, format: str = "text") -> str:
        """The model its m fits share, in Raudenbush-Bryk notation (text, latex or html)."""
        from ..display.paper.equations_text import equations

        return equations(self, format)

    def _repr_html_(self) -> str:
        from ..display.pooled import pooled_html

        return pooled_html(self)

    def to_html(self, path: str | None = None, title: str | None = None) -> str:
        """Self-contained offline HTML report of the pooled model (written to ``path``)."""
        from ..display.pooled import pooled_report

        return pooled_report(self, path=path, title=title)


def _check_fits(results: Sequence[Any]) -> list[MixedModelResult]:
    from ..results import MixedModelResult

    if isinstance(results, MixedModelResult):
        raise TypeError("pool() takes a list of fits, one per imputed data set: "
                        "mlm.pool([fit_1, ..., fit_m]).")
    fits = list(results)
    if len(fits) < 2:
        raise ValueError(
            f"pool() needs the fits to at least two imputed data sets; got {len(fits)}. "
            "With one data set there is no between-imputation variance: use that fit itself."
        )
    for k, r in enumerate(fits, start=1):
        if not isinstance(r, MixedModelResult):
            raise TypeError(f"item {k} of pool()'s list is a {type(r).__name__}, not a fitted "
                            "model; pass the results of mlm.fit(formula, data=imputed_k).")
    first = fits[0]
    for k, r in enumerate(fits[1:], start=2):
        if r.formula != first.formula:
            raise ValueError(f"fit {k} is '{r.formula}' but fit 1 is '{first.formula}': pool "
                             "fits of the same model to the different imputed data sets.")
        if r.reml != first.reml:
            raise ValueError(f"fit {k} is {'REML' if r.reml else 'ML'} but fit 1 is "
                             f"{'REML' if first.reml else 'ML'}; fit all imputations the same way.")
        if list(r.fixef.index) != list(first.fixef.index):
            raise ValueError(
                f"fit {k} has fixed effects {list(r.fixef.index)} but fit 1 has "
                f"{list(first.fixef.index)} (a factor level missing from one imputation, or a "
                "column dropped as collinear): the pooled coefficients must be the same."
            )
        if r.nobs != first.nobs:
            raise ValueError(
                f"fit {k} used {r.nobs} observations but fit 1 used {first.nobs}: imputed data "
                "sets must have the same rows (missing values left in one of them?)."
            )
    return fits


def averaged_covariances(fits: Sequence[Any]) -> tuple[list[np.ndarray], float]:
    """Per random term the mean of σ²_i T_ik T_ik' over fits, and √(mean σ²_i)."""
    design = fits[0].design
    covs = [np.zeros((t.q, t.q)) for t in design.terms]
    for r in fits:
        for k, T in enumerate(relative_factors(r.design, r.theta)):
            covs[k] += r.sigma**2 * (T @ T.T)
    m = len(fits)
    sigma = float(np.sqrt(np.mean([r.sigma**2 for r in fits])))
    return [c / m for c in covs], sigma


def pool(results: Sequence[Any], df_com: float | None = None) -> PooledResult:
    """Pool fits of one model to m imputed data sets (Rubin's rules, Barnard-Rubin df).

    Parameters
    ----------
    results : list of MixedModelResult
        ``[mlm.fit(formula, data=d) for d in imputations]`` (same model, same rows).
    df_com : float, optional
        Complete-data degrees of freedom ν_com for the Barnard-Rubin df.  Default: lme4's
        ``df.residual`` (N minus fixed effects, θ and σ), as ``mice::pool``;
        ``float("inf")`` gives Rubin's (1987) large-sample df (mitml's default).

    Returns
    -------
    PooledResult
        ``.coef_table`` (estimate, std_error, df, t, p, riv, fmi), ``.varcorr``
        (averaged), ``.vcov``, ``.m``, the fits in ``.results``.

    Notes
    -----
    Rubin's rules: Q̄ = mean γ̂_i, W = mean SE_i², B = var(γ̂_i), T = W + (1 + 1/m) B,
    riv = (1 + 1/m) B / W, df = (1/ν_old + 1/ν_obs)⁻¹ with ν_old = (m - 1)(1 + 1/riv)² and
    ν_obs = (ν_com + 1)/(ν_com + 3) ν_com (1 - λ), λ = riv / (1 + riv);
    fmi = (riv + 2/(df + 3)) / (riv + 1) (see :mod:`mlm_jupyter.pooling.rubin`).
    """
    fits = _check_fits(results)
    first = fits[0]
    if df_com is None:
        df_com = float(first.nobs - first.npar)
    names = list(first.fixef.index)
    Q = np.array([r.fixef.to_numpy() for r in fits])
    U = np.array([r.vcov.to_numpy() for r in fits])
    pooled = rubin_rules(Q, U, df_com)
    index = pd.Index(names)
    coef = pd.DataFrame({"estimate": pooled.estimate, "std_error": pooled.std_error,
                         "df": pooled.df, "t": pooled.t, "p": pooled.p, "riv": pooled.riv,
                         "fmi": pooled.fmi}, index=index)[COEF_COLUMNS]
    parts = pd.DataFrame({"within": pooled.within, "between": pooled.between,
                          "total": pooled.total, "lambda": pooled.lam}, index=index)
    vcov = pd.DataFrame(pooled.total_cov, index=index, columns=index)
    covs, sigma = averaged_covariances(fits)
    varcorr = varcorr_table(first.design, covs, sigma)
    from ..frames import as_result_frame

    return PooledResult(tuple(fits), as_result_frame(coef), parts, vcov,
                        as_result_frame(varcorr), float(df_com), _summarise_messages(fits))


def _summarise_messages(fits: Sequence[Any]) -> tuple[str, ...]:
    """Each distinct message once, with the imputations that reported it."""
    seen: dict[str, list[int]] = {}
    for k, r in enumerate(fits, start=1):
        for message in r.messages:
            seen.setdefault(message, []).append(k)
    out = []
    m = len(fits)
    for message, where in seen.items():
        which = "every imputation" if len(where) == m else (
            f"imputation{'s' if len(where) > 1 else ''} {', '.join(map(str, where))} of {m}")
        out.append(f"{which}: {message}")
    return tuple(out)

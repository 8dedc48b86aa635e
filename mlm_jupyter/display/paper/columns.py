"""One model's numbers for a paper table (a *column*), taken from the result's own tables.

Every number comes from the code the rest of the package prints: fixed effects from
``res.coef_table`` / ``res.coefficients(ddf)`` (the ``summary()`` table), interval bounds
from the same t distribution (:func:`..effects.standardize.with_interval`, equal to
``res.contrast``), variance components from ``res.varcorr``, ICC and R² from ``res.icc()``
and ``res.r2()``, counts and likelihoods from the result's attributes.

Extension point
---------------
A table column is built by the first registered builder whose predicate accepts the result
(:func:`register_column_builder`).  The linear mixed model's builder is registered here; the
other result kinds register theirs in :mod:`.columns_glmm` (odds / rate ratios, Wald z),
:mod:`.columns_bayes` (posterior means, credible intervals) and :mod:`.columns_pooled`
(Rubin's rules, Barnard-Rubin df).  The table builder and the renderers read only
:class:`ModelColumn`, so none of them knows which kind of result a column came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...effects.standardize import standardized_coefficients, with_interval
from ...varcorr import r_make_unique

DDF_LABELS = {
    "satterthwaite": "Satterthwaite",
    "kenward-roger": "Kenward-Roger",
    "residual": "Residual",
}


@dataclass(frozen=True)
class ColumnOptions:
    """What a builder needs to know of the table's options."""

    ddf: str = "satterthwaite"
    level: float = 0.95
    std: str | None = None
    exponentiate: bool = True


@dataclass(frozen=True)
class RandomEntry:
    """One variance component: σ², a τ (variance) or a ρ (correlation) of a grouping factor.

    ``key`` identifies the row across models: ``("sigma2",)``, ``("tau", group, term)``,
    ``("rho", group, term_a, term_b)``.  ``index`` is the R-B subscript (``"00"``, ``"11"``,
    ``"01"``), the index of u in ``res.equations()``.
    """

    key: tuple[str, ...]
    index: str
    value: float


@dataclass(frozen=True)
class ModelColumn:
    """The numbers of one model, independent of any output format.

    Attributes
    ----------
    fixed : pandas.DataFrame
        Index the fixed-effect names; ``estimate, std_error, df, t, p, lower, upper`` and,
        when standardised coefficients were asked for, ``std_estimate, std_std_error,
        std_lower, std_upper``.
    random : tuple of RandomEntry
        σ², then every τ and ρ of every grouping factor (lme4's order).
    icc, nobs, ngroups
        Adjusted ICC (``res.icc()["adjusted"]``), observations, levels per factor.
    fit : dict
        ``r2_marginal, r2_conditional`` (``res.r2()``), ``reml_criterion`` (REML fits) or
        ``deviance`` (ML fits), ``aic, bic, loglik``.
    estimation, ddf : str
        ``"REML"`` or ``"ML"``; the df method's name.
    estimate_label, statistic : str
        Header of the estimate ("Estimate"; "Odds ratio" for a logit GLMM) and the test
        statistic's symbol ("t"; a GLMM column says "z").
    interval_label : str
        "CI" (confidence interval) or "CrI" (a posterior's credible interval).
    kind : str
        ``"lmm"``, ``"glmm"``, ``"bayes"`` or ``"pooled"``: what the table note explains.
    inference : str
        The sentence of the note saying how this column's tests and intervals were made
        (default: from the df method).
    notes : tuple of str
        Problems of the fit worth a footnote (singular, not converged), and what a reader
        must know of this column (m imputations, the scale of the estimates).
    """

    fixed: pd.DataFrame
    random: tuple[RandomEntry, ...]
    icc: float
    nobs: int
    ngroups: dict[str, int]
    fit: dict[str, float]
    estimation: str
    ddf: str
    estimate_label: str = "Estimate"
    statistic: str = "t"
    notes: tuple[str, ...] = ()
    std_info: dict[str, Any] = field(default_factory=dict)
    interval_label: str = "CI"
    kind: str = "lmm"
    inference: str = ""


Predicate = Callable[[Any], bool]
Builder = Callable[[Any, ColumnOptions], ModelColumn]
_BUILDERS: list[tuple[Predicate, Builder]] = []


def register_column_builder(applies: Predicate, builder: Builder) -> None:
    """Make ``builder(res, options)`` build the columns of results where ``applies(res)``.

    Builders registered later are tried first, so a specialised builder (GLMM, pooled)
    can take over from a general one.
    """
    _BUILDERS.insert(0, (applies, builder))


def model_column(res: Any, options: ColumnOptions) -> ModelColumn:
    """The column of ``res`` from the first builder that accepts it."""
    for applies, builder in _BUILDERS:
        if applies(res):
            return builder(res, options)
    kind = type(res).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    raise TypeError(
        f"{article} {kind} is not a fitted model; pass results of mlm.fit(...) or mlm.pool(...)."
    )


def _is_lmm(res: Any) -> bool:
    from ...results import MixedModelResult

    return isinstance(res, MixedModelResult) and getattr(res, "family", "gaussian") in (
        "gaussian",
        None,
    )


def random_entries(res: Any, varcorr: pd.DataFrame | None = None) -> tuple[RandomEntry, ...]:
    """σ², τ's and ρ's of ``varcorr`` (default ``res.varcorr``), indexed as the u's of
    ``res.equations()``; ``res`` gives the design (a pooled column passes its first fit)."""
    from ..equations import random_indices

    indices = random_indices(res)
    design = res.design
    unique = r_make_unique([t.group for t in design.terms])
    group_of = dict(zip(unique, (t.group for t in design.terms), strict=True))
    vc = res.varcorr if varcorr is None else varcorr
    entries = []
    for group, var1, var2, vcov, sdcor in zip(
        vc["group"], vc["var1"], vc["var2"], vc["vcov"], vc["sdcor"], strict=True
    ):
        if group == "Residual":
            entries.insert(0, RandomEntry(("sigma2",), "", float(vcov)))
            continue
        factor = group_of[group]
        i = indices[(factor, str(var1))]
        if var2 is None or (isinstance(var2, float) and np.isnan(var2)):
            entries.append(RandomEntry(("tau", factor, str(var1)), f"{i}{i}", float(vcov)))
            continue
        j = indices[(factor, str(var2))]
        a, b = sorted([(i, str(var1)), (j, str(var2))])
        entries.append(RandomEntry(("rho", factor, a[1], b[1]), f"{a[0]}{b[0]}", float(sdcor)))
    return tuple(entries)


def fit_notes(res: Any) -> tuple[str, ...]:
    notes = []
    if res.is_singular:
        notes.append(
            "singular fit (a random-effect variance estimated at 0 or a correlation at ±1)"
        )
    if not res.converged:
        notes.append("the optimiser's convergence check failed")
    return tuple(notes)


def lmm_column(res: Any, options: ColumnOptions) -> ModelColumn:
    """The column of a linear mixed model (``MixedModelResult``)."""
    ddf = options.ddf
    if ddf == "kenward-roger" and not res.reml:
        raise ValueError(
            f"Kenward-Roger df need a REML fit, but {res.formula!r} was fitted by ML; refit "
            "it with res.refit(reml=True), or use ddf='satterthwaite'."
        )
    coefs = res.coef_table if ddf == "satterthwaite" else res.coefficients(ddf)
    fixed = with_interval(coefs, options.level)
    std_info: dict[str, Any] = {}
    if options.std is not None and len(fixed):
        std = standardized_coefficients(res, options.std, ddf=ddf, level=options.level)
        for col in ("estimate", "std_error", "lower", "upper"):
            fixed[f"std_{col}"] = std[col].reindex(fixed.index).to_numpy()
        std_info = dict(std.attrs)
    icc = res.icc()
    r2 = res.r2()
    fit = {
        "r2_marginal": float(r2["marginal"]),
        "r2_conditional": float(r2["conditional"]),
        ("reml_criterion" if res.reml else "deviance"): float(res.objective),
        "aic": float(res.aic),
        "bic": float(res.bic),
        "loglik": float(res.loglik),
    }
    return ModelColumn(
        fixed=fixed,
        random=random_entries(res),
        icc=float(icc["adjusted"]),
        nobs=int(res.nobs),
        ngroups=dict(res.ngroups),
        fit=fit,
        estimation="REML" if res.reml else "ML",
        ddf=DDF_LABELS[ddf],
        notes=fit_notes(res),
        std_info=std_info,
    )


register_column_builder(_is_lmm, lmm_column)

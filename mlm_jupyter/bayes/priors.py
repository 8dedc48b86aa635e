"""Priors in brms' vocabulary, resolved for one design, with brms' data-dependent defaults.

Classes (keys of ``priors``), as in brms:

========== ================================================ ===================================
key        applies to                                        default (brms 2.18)
========== ================================================ ===================================
b          every fixed effect (also the intercept, unless    flat
           ``Intercept`` is given: brms' ``center = FALSE``)
Intercept  the intercept of the centred predictors           student_t(3, median(y), s)
           (brms' default ``center = TRUE``)
sd         every group-level SD (half-distribution, > 0)     student_t(3, 0, s)
cor        every correlation matrix                          lkj(1)
sigma      the residual SD (> 0)                             student_t(3, 0, s)
========== ================================================ ===================================

with s = max(2.5, mad(y)) and median(y), mad(y) rounded to one decimal, as brms'
``def_scale_prior``.  Single parameters take brms' names as keys: ``b_x``, ``sd_g`` (all
SDs of g), ``sd_g__x``, ``cor_g``; a specific key wins over its class.  Class keys that
name nothing in the model (``cor`` without correlations) are ignored, as brms'
``get_prior`` table would not list them; specific keys that name nothing are errors.

Centring: with an ``Intercept`` key, or without a ``b`` key, the intercept's prior is on
the intercept at the predictors' means, α = β₀ + x̄'β (brms' default); with ``b`` but no
``Intercept``, ``b`` covers β₀ on the original scale (``bf(..., center = FALSE)``, the
convention of the reference fits).  ``center=`` overrides this.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..design import Design
from .distributions import FLAT, Distribution, PriorError, parse_distribution
from .names import ParameterNames

CLASSES = ("b", "Intercept", "sd", "cor", "sigma")
REAL_FAMILIES = ("normal", "student_t", "cauchy", FLAT)  # integrable exactly for β


@dataclass(frozen=True)
class PriorSet:
    """The prior of every parameter of one model.

    Attributes
    ----------
    center : bool
        The first β component is the centred intercept α (see the module docstring).
    beta : tuple of Distribution
        One per fixed effect in the design's order (the first is α when ``center``).
    sd : tuple of Distribution
        One per SD, in ``names.sds`` order.
    cor : dict of int -> float
        LKJ η per correlated term (index into design.terms).
    sigma : Distribution
    table : pandas.DataFrame
        ``parameter, class, prior, source`` (source ``user`` or ``default``).
    """

    center: bool
    beta: tuple[Distribution, ...]
    sd: tuple[Distribution, ...]
    cor: dict[int, float]
    sigma: Distribution
    table: pd.DataFrame


def r_round(x: float, digits: int = 1) -> float:
    """R's ``round`` for the prior defaults (half to even on the decimal value)."""
    return float(np.round(x, digits))


def default_scale(y: np.ndarray) -> tuple[float, float]:
    """brms' ``def_scale_prior``: (round(median(y), 1), max(2.5, round(mad(y), 1)))."""
    med = float(np.median(y))
    mad = 1.4826 * float(np.median(np.abs(y - med)))
    return r_round(med), max(2.5, r_round(mad))


def _intercept_index(design: Design) -> int | None:
    return design.fixed_names.index("(Intercept)") if "(Intercept)" in design.fixed_names \
        else None


def resolve_priors(
    priors: dict[str, str] | None, design: Design, names: ParameterNames,
    center: bool | None = None,
) -> PriorSet:
    """Every parameter's prior from the user's dictionary and brms' defaults.

    Raises
    ------
    PriorError
        Unknown class or parameter, a distribution not available for its class, or an
        improper prior that would make the posterior improper.
    """
    if priors is not None and not isinstance(priors, dict):
        raise PriorError("priors must be a dict such as {'b': 'normal(0, 10)', 'sd': "
                         "'student_t(3, 0, 10)'}, not " f"{type(priors).__name__}.")
    given: dict[str, Any] = dict(priors or {})
    _check_keys(given, names, design)
    icpt = _intercept_index(design)
    if "Intercept" in given and icpt is None:
        raise PriorError("priors has an 'Intercept' entry, but the model has no intercept "
                         "(the formula removes it with 0 or -1); remove that entry.")
    if center is None:
        center = icpt is not None and ("Intercept" in given or
                                       ("b" not in given and "b_Intercept" not in given))
    center = bool(center) and icpt is not None
    if center and "b_Intercept" in given:
        raise PriorError("'b_Intercept' is the intercept at predictors = 0, but this prior "
                         "set centres the predictors (an 'Intercept' entry or center=True): "
                         "give the intercept's prior as 'Intercept', or pass center=False.")
    location, scale = default_scale(design.y)
    rows: list[tuple[str, str, str, str]] = []

    def pick(keys: list[str], default: str, cls: str, param: str) -> Distribution:
        for key in keys:
            if key in given:
                dist = parse_distribution(given[key], f"{param} (key {key!r})")
                rows.append((param, cls, str(dist), "user"))
                return dist
        dist = parse_distribution(default, param)
        rows.append((param, cls, str(dist), "default"))
        return dist

    beta = []
    for k, (col, bname) in enumerate(zip(design.fixed_names, names.fixed, strict=True)):
        if k == icpt and center:
            dist = pick(["Intercept"], f"student_t(3, {location}, {scale})", "Intercept",
                        "Intercept (centred)")
        elif k == icpt:
            dist = pick([bname, "Intercept", "b"], "", "b", bname)
        else:
            dist = pick([bname, "b"], "", "b", bname)
        if dist.family not in REAL_FAMILIES:
            raise PriorError(f"The prior {dist} is not available for the fixed effect "
                             f"{col!r}; use normal, student_t, cauchy or a flat prior.")
        beta.append(dist)
    sd = []
    for s in names.sds:
        dist = pick([s.name, f"sd_{s.group}", "sd"], f"student_t(3, 0, {scale})", "sd", s.name)
        _check_scale_prior(dist, s.name, "sd")
        sd.append(dist)
    cor: dict[int, float] = {}
    for k, term in enumerate(design.terms):
        if term.q > 1 and term.correlated:
            dist = pick([f"cor_{term.group}", "cor"], "lkj(1)", "cor", f"cor_{term.group}")
            if dist.family != "lkj":
                raise PriorError(f"Correlations take an LKJ prior such as 'lkj(1)' or 'lkj(2)', "
                                 f"not {dist} (cor_{term.group}).")
            cor[k] = dist.args[0]
    sigma = pick(["sigma"], f"student_t(3, 0, {scale})", "sigma", "sigma")
    _check_scale_prior(sigma, "sigma", "sigma")
    if sigma.is_flat:
        _check_flat_sigma(design)
    table = pd.DataFrame(rows, columns=["parameter", "class", "prior", "source"])
    return PriorSet(center, tuple(beta), tuple(sd), cor, sigma, table)


def _check_keys(given: dict[str, Any], names: ParameterNames, design: Design) -> None:
    specific = set(names.fixed) | {s.name for s in names.sds} | \
        {f"sd_{g}" for g in names.groups} | {f"cor_{c.group}" for c in names.cors}
    if "(Intercept)" in design.fixed_names:
        specific.add("b_Intercept")
    for key in given:
        if key in CLASSES or key in specific:
            continue
        hint = difflib.get_close_matches(str(key), [*CLASSES, *sorted(specific)], n=1)
        more = f" Did you mean {hint[0]!r}?" if hint else ""
        raise PriorError(
            f"Unknown prior class or parameter {key!r}.{more} Classes: {', '.join(CLASSES)}; "
            f"single parameters by their brms names: {', '.join(sorted(specific))}."
        )


def _check_scale_prior(dist: Distribution, name: str, cls: str) -> None:
    if dist.family == "lkj":
        raise PriorError(f"lkj() is a prior for correlations, not for {name}.")
    if dist.is_flat and cls == "sd":
        raise PriorError(
            f"A flat prior on {name} gives an improper posterior: the likelihood does not "
            "vanish as a group-level SD grows, so the posterior has no finite mass. Use a "
            "proper prior, e.g. 'student_t(3, 0, 2.5)' (brms' default scale is mad(y)) or "
            "'exponential(1)'."
        )


def _check_flat_sigma(design: Design) -> None:
    n_re = sum(t.q * t.n_levels for t in design.terms)
    if design.n <= design.p + n_re + 1:
        raise PriorError(
            f"A flat prior on sigma gives an improper posterior here: {design.n} observations "
            f"do not exceed the {design.p} fixed and {n_re} random effects, so the residual SD "
            "can go to 0. Use a proper prior such as 'student_t(3, 0, 2.5)'."
        )

"""``summary_text`` for a GLMM: lme4's ``print(summary(glmerMod))``, line for line.

Title (estimation method), family and link, formula, AIC / BIC / logLik / deviance /
df.resid, scaled (Pearson) residuals, random effects (no residual row), numbers of
observations and groups, fixed effects with Wald z tests and stars, their correlation,
and the fit's messages.  The tables come from :mod:`mlm_jupyter.display.tables`, shared
with the LMM and the HTML display.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..display.rformat import format_r, print_named, zapsmall
from ..display.tables import (
    DIGITS,
    fit_statistics_table,
    fixed_effects_table,
    random_effects_table,
)
from ..display.text import groups_and_fixed_lines

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult

FAMILY_LABELS = {"binomial": "binomial", "poisson": "poisson"}


def method_line(res: GLMMResult) -> str:
    """glmer's title: the approximation used, and the class in brackets."""
    how = ("Laplace Approximation" if res.nagq == 1
           else f"Adaptive Gauss-Hermite Quadrature, nAGQ = {res.nagq}")
    return f"Generalized linear mixed model fit by maximum likelihood ({how}) ['glmerMod']"


def family_line(res: GLMMResult) -> str:
    """`` Family: binomial  ( logit )`` (``Negative Binomial(2.2825)`` for glmer.nb)."""
    if res.family == "negative_binomial":
        name = f"Negative Binomial({format_r([res.dispersion], 5)[0].strip()})"
    else:
        name = FAMILY_LABELS[res.family]
    return f" Family: {name}  ( {res.link} )"


def pearson_residuals(res: GLMMResult) -> np.ndarray:
    """(y - μ̂) √w / √V(μ̂): glmer's ``residuals(m, "pearson")`` at the conditional modes."""
    fam = res.fit_state.family
    mu = res.fit_state.mu
    return (fam.y - mu) * np.sqrt(fam.weights) / np.sqrt(np.maximum(fam.variance(mu), 1e-300))


def summary_text(res: GLMMResult, data_name: str | None = None,
                 correlation: bool | None = None) -> str:
    """glmer-style plain-text summary of a fit (see the module docstring)."""
    out = [method_line(res), family_line(res), f"Formula: {res.formula}"]
    if data_name:
        out.append(f"   Data: {data_name}")
    out.append("")
    stats = fit_statistics_table(res)
    names = ["AIC", "BIC", "logLik", "deviance", "df.resid"]
    out += print_named([c[0] for c in stats.cells[:5]], names)
    out += ["", "Scaled residuals: "]
    q = np.quantile(pearson_residuals(res), [0.0, 0.25, 0.5, 0.75, 1.0])
    q = zapsmall(q.tolist(), DIGITS + 1)
    out += print_named(format_r(q, DIGITS), ["Min", "1Q", "Median", "3Q", "Max"])
    out += ["", "Random effects:", random_effects_table(res).to_text()]
    table = fixed_effects_table(res) if len(res.fixef) else None
    out += groups_and_fixed_lines(res, table, correlation)
    out += list(res.messages)
    return "\n".join(out)

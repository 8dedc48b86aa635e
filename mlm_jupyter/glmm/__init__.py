"""Generalised linear mixed models (glmer / glmer.nb): binary, count and overdispersed outcomes.

``mlm.fit(formula, data, family="binomial" | "poisson" | "negative_binomial")`` returns a
:class:`GLMMResult`; the engine lives in :mod:`mlm_jupyter.engine` (families, PIRLS,
Laplace, adaptive quadrature), interpretation and diagnostics in this package.
"""

from .fitting import fit_glmm
from .results import GLMMResult

__all__ = ["GLMMResult", "fit_glmm"]

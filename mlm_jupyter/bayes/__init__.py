"""Bayesian estimation of linear mixed models (``mlm.fit(..., method="bayes")``).

The posterior of brms' model for the same formula and priors, sampled by NUTS (nutpie) on
the covariance parameters only: β and the random effects integrate out exactly through the
cross-products and are drawn afterwards from their conditional normals.  Needs the optional
extra ``mlm_jupyter[bayes]`` (nutpie, arviz).
"""

from __future__ import annotations

from .distributions import PriorError
from .fit import BayesWarning, fit_bayes
from .result import BayesianResult

__all__ = ["BayesWarning", "BayesianResult", "PriorError", "fit_bayes"]

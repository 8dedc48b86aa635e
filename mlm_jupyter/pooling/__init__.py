"""Multiple imputation: fits to m imputed data sets pooled by Rubin's rules, pooled tests.

- :func:`pool` / :class:`PooledResult` (``result.py``): Rubin's rules with Barnard-Rubin df
  (``rubin.py``), averaged variance components;
- :func:`fit_imputed` (``imputations.py``): ``mlm.fit(formula, data=[df_1, ..., df_m])``,
  with checks that the data sets are copies of one frame, and how to impute multilevel data;
- :func:`test_models` (``model_tests.py``): D1, D2 and D3 comparisons of nested models.
"""

from .imputations import fit_imputed
from .model_tests import test_models
from .result import PooledResult, pool

__all__ = ["PooledResult", "fit_imputed", "pool", "test_models"]

"""mlm_jupyter: fit and understand multilevel (mixed-effects) models in Jupyter.

>>> import mlm_jupyter as mlm
>>> hsb = mlm.load_dataset("hsb")
>>> res = mlm.fit("mathach ~ cses * catholic + meanses + (1 + cses | school)", hsb)
"""

from __future__ import annotations

from typing import Any

# Imported eagerly: a lazy ``from .compare import ...`` inside a wrapper function would bind the
# submodule ``mlm_jupyter.compare`` over the wrapper on first use.
from .compare import compare
from .crossval import cross_validate
from .datasets import load_dataset
from .display.paper.table import table
from .fitting import MixedModelWarning, fit
from .formula import FormulaError, parse
from .pooling import PooledResult, pool, test_models
from .results import MixedModelResult

__version__ = "0.1.0"


def variance_explained(base: MixedModelResult, model: MixedModelResult):
    """Proportional reduction of each variance component from ``base`` to ``model``."""
    from .effects import variance_explained as _variance_explained
    from .validate import check_result

    check_result(base, "base")
    check_result(model, "model")
    return _variance_explained(base, model)


def report(*results: Any, path: str | None = None, title: str | None = None, **kwargs: Any):
    """Self-contained offline HTML report of one or more models (or of one pooled result,
    or of one Bayesian fit)."""
    if len(results) == 1 and isinstance(results[0], PooledResult):
        return results[0].to_html(path=path, title=title)
    if len(results) == 1 and getattr(results[0], "method", None) == "bayes":
        return results[0].to_html(path=path, title=title, **kwargs)
    if results and all(getattr(r, "is_glmm", False) for r in results):
        from .glmm.report import report as _glmm_report

        return _glmm_report(*results, path=path, title=title, **kwargs)
    from .display.report import report as _report
    from .validate import check_output_path

    if path is not None:
        check_output_path(path)
    return _report(*results, path=path, title=title, **kwargs)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mlm_jupyter``: register ``%%mlm`` and ``%mlm``."""
    from .magic import register

    register(ipython)


__all__ = [
    "FormulaError",
    "MixedModelResult",
    "MixedModelWarning",
    "PooledResult",
    "compare",
    "cross_validate",
    "fit",
    "load_dataset",
    "load_ipython_extension",
    "parse",
    "pool",
    "report",
    "table",
    "test_models",
    "variance_explained",
]

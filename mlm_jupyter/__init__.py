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
from .datasets import load_dataset
from .fitting import MixedModelWarning, fit
from .formula import FormulaError, parse
from .results import MixedModelResult

__version__ = "0.1.0"


def variance_explained(base: MixedModelResult, model: MixedModelResult):
    """Proportional reduction of each variance component from ``base`` to ``model``."""
    from .effects import variance_explained as _variance_explained

    return _variance_explained(base, model)


def report(*results: Any, path: str | None = None, title: str | None = None, **kwargs: Any):
    """Self-contained offline HTML report of one or more models."""
    if results and all(getattr(r, "is_glmm", False) for r in results):
        from .glmm.report import report as _glmm_report

        return _glmm_report(*results, path=path, title=title, **kwargs)
    from .display.report import report as _report

    return _report(*results, path=path, title=title, **kwargs)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mlm_jupyter``: register ``%%mlm`` and ``%mlm``."""
    from .magic import register

    register(ipython)


__all__ = [
    "FormulaError",
    "MixedModelResult",
    "MixedModelWarning",
    "compare",
    "fit",
    "load_dataset",
    "load_ipython_extension",
    "parse",
    "report",
    "variance_explained",
]

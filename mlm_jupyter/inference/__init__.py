"""Inference for fixed effects and variance parameters (lmerTest, pbkrtest, lme4's confint).

- ``coefficient_table`` / ``contrast``: t and F tests with Satterthwaite, Kenward-Roger or
  residual df (``contrasts.py``, ``satterthwaite.py``, ``kenward_roger.py``);
- ``confint``: Wald, profile and parametric-bootstrap intervals (``confint.py``);
- ``satterthwaite_parts``: the pieces the explorer widget needs to compute df in the browser.
"""

from .confint import confint
from .contrasts import coefficient_table, contrast, linear_combinations, parse_contrast
from .kenward_roger import compute_kr
from .satterthwaite import compute_parts, satterthwaite_parts

__all__ = [
    "coefficient_table",
    "compute_kr",
    "compute_parts",
    "confint",
    "contrast",
    "linear_combinations",
    "parse_contrast",
    "satterthwaite_parts",
]

"""Effect sizes and interpretation: ICC, R², reliabilities, random-slope ranges, variance
explained, marginal variance, simple slopes and Johnson-Neyman regions.

- ``r2.py``: ``icc``, ``r2`` (Nakagawa as R's performance; Rights & Sterba decomposition);
- ``components.py``: ``random_slope_ranges``, ``reliability``, ``marginal_variance``,
  ``variance_explained`` (and the scalar formulas ``slope_range``, ``proportional_reduction``);
- ``slopes.py``: ``simple_slopes`` (emmeans::emtrends), ``johnson_neyman``;
- ``refgrid.py``, ``marginal.py``: emmeans' reference grid, ``marginal_means``, ``pairwise``;
- ``links.py``: the link and response scales (``type=``) of every table above.
"""

from .components import (
    marginal_variance,
    proportional_reduction,
    random_slope_ranges,
    reliability,
    slope_range,
    variance_explained,
)
from .marginal import marginal_means, pairwise
from .r2 import icc, nakagawa_variances, r2, rights_sterba
from .slopes import johnson_neyman, simple_slopes

__all__ = [
    "icc",
    "johnson_neyman",
    "marginal_means",
    "marginal_variance",
    "nakagawa_variances",
    "pairwise",
    "proportional_reduction",
    "r2",
    "random_slope_ranges",
    "reliability",
    "rights_sterba",
    "simple_slopes",
    "slope_range",
    "variance_explained",
]

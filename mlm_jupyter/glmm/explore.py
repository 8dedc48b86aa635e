"""``res.explore()`` for a GLMM: linked Altair views on the response scale.

Response curves by moderator (click a legend entry to highlight a moderator value) with
the random-effects fan, the clusters' own curves, and the caterpillar of the conditional
modes.  Plain Vega-Lite: JupyterLab renders it offline, a report embeds it as SVG.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd

from ..naming import split_interaction
from .charts import caterpillar, cluster_curves, response_curves

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult


def default_axes(res: GLMMResult) -> tuple[str | None, str | None]:
    """(x, moderator): a numeric predictor (one with a random slope first) and a variable
    that interacts with it in the fixed part."""
    data = res.data
    from .margins import _predictors

    numeric = [v for v in _predictors(res) if pd.api.types.is_numeric_dtype(data[v])
               and data[v].nunique() > 2]
    slopes = [c for t in res.design.terms for c in t.columns if c in numeric]
    candidates = slopes or numeric
    if not candidates:
        return None, None
    x = candidates[0]
    for name in res.fixef.index:
        parts = split_interaction(name)
        if x in parts and len(parts) == 2:
            other = parts[1] if parts[0] == x else parts[0]
            base = next((v for v in _predictors(res) if other == v or other.startswith(v)), None)
            if base is not None:
                return x, base
    return x, None


def explore(res: GLMMResult, x: str | None = None, moderator: str | None = None,
            group: str | None = None) -> alt.VConcatChart:
    """Curves on the response scale, cluster curves and the caterpillar, side by side."""
    dx, dm = default_axes(res)
    x = x or dx
    moderator = moderator if moderator is not None else (dm if x == dx else None)
    views: list = []
    if x is not None:
        curves = response_curves(res, x, moderator)
        pick = alt.selection_point(fields=["moderator"], bind="legend")
        curves = curves.add_params(pick).encode(
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.25)))
        views.append(alt.hconcat(curves, cluster_curves(res, x, group)))
    views.append(caterpillar(res, group))
    return alt.vconcat(*views).properties(
        title=f"{res.formula}  ({res.family}, {res.link} link)")

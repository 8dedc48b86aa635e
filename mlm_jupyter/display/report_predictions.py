"""The report's "Predictions" part of a model: an effect plot and the factors' marginal means.

Failures never break a report: a model the effect plot cannot be drawn for (no numeric or
factor predictor, data not kept) gets a sentence saying why instead.
"""

from __future__ import annotations

import html
from typing import Any

esc = html.escape
_MAX_FACTORS = 3  # marginal-means tables shown per model


def predictions_html(res: Any) -> str:
    """``<h3>Predictions</h3>`` with the default effect plot and marginal means (HTML)."""
    from ..effects.grid_variables import fixed_variables, grid_variable
    from ..effects.response_grid import default_terms, predict_response
    from .effect_charts import effect_chart
    from .report import _table, chart_html

    parts = ["<h3>Predictions</h3>"]
    try:
        terms = default_terms(res)
        table = predict_response(res, terms)
    except (ValueError, AttributeError, KeyError) as err:
        return "".join(parts) + f'<p class="note">No effect plot: {esc(str(err))}</p>'
    parts.append(
        "<p>Population-level predictions (a new cluster) with 95% confidence bands for the "
        "mean, x′γ̂ ± z√(x′Vx), and prediction bands for a new observation, adding the "
        "random-effect variance z′Tz and σ² (<code>res.predict_response</code>, "
        "<code>res.predict(..., interval=...)</code>).</p>"
    )
    parts.append(f'<div class="charts">{chart_html(effect_chart(table))}</div>')
    factors = [n for n in fixed_variables(res) if not grid_variable(res, n).numeric][:_MAX_FACTORS]
    for name in factors:
        try:
            means = res.marginal_means(name, ddf="satterthwaite")
        except (ValueError, KeyError) as err:
            parts.append(f'<p class="note">No marginal means of {esc(name)}: {esc(str(err))}</p>')
            continue
        notes = "; ".join(str(n) for n in means.attrs.get("notes", []))
        parts.append(f"<p>Estimated marginal means of <code>{esc(name)}</code> "
                     f"(emmeans' reference grid; {esc(notes)}):</p>")
        parts.append(_table(means, index=False))
    return "".join(parts)

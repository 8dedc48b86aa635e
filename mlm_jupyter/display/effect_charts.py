"""Effect plots: predicted values with confidence and prediction bands (Altair).

A numeric x gives lines with two bands (the narrow one for the mean, the wide one for a new
observation in a new cluster); a factor x gives points with two error bars.  Groups (the
second term) are colours.  The data come from :func:`mlm_jupyter.effects.response_grid.
predict_response`; labels are data, never markup.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

WIDTH, HEIGHT = 360, 240


def _held_text(held: dict[str, Any]) -> str:
    parts = [f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in held.items()]
    return ("Held at " + ", ".join(parts)) if parts else ""


def effect_chart(
    table: pd.DataFrame, bands: tuple[str, ...] = ("confidence", "prediction"),
    width: int = WIDTH, height: int = HEIGHT,
) -> alt.LayerChart:
    """The effect plot of a :func:`predict_response` table."""
    terms = table.attrs.get("terms", ["x"])
    response = table.attrs.get("response", "y")
    level = float(table.attrs.get("level", 0.95))
    numeric = bool(table.attrs.get("x_numeric", True))
    data = table.copy()
    grouped = "group" in data
    x_title = str(terms[0])
    x_enc = alt.X("x:Q" if numeric else "x:N", title=x_title, sort=None,
                  scale=alt.Scale(zero=False) if numeric else alt.Undefined,
                  axis=alt.Undefined if numeric else alt.Axis(labelAngle=0))
    color = (alt.Color("group:N", title=str(terms[1]), sort=None,
                       legend=alt.Legend(symbolOpacity=1)) if grouped
             else alt.value("#2f6fb0"))
    base = alt.Chart(data)
    pct = f"{level:.0%}"
    tooltip = [alt.Tooltip("x", title=x_title, format=".3g" if numeric else ""),
               alt.Tooltip("fit:Q", title=f"predicted {response}", format=".4g"),
               alt.Tooltip("conf_lower:Q", title=f"{pct} CI lower", format=".4g"),
               alt.Tooltip("conf_upper:Q", title=f"{pct} CI upper", format=".4g"),
               alt.Tooltip("pred_lower:Q", title=f"{pct} PI lower", format=".4g"),
               alt.Tooltip("pred_upper:Q", title=f"{pct} PI upper", format=".4g")]
    if grouped:
        tooltip.insert(0, alt.Tooltip("group:N", title=str(terms[1])))
    y_title = f"predicted {response}"
    layers = []
    if numeric:
        if "prediction" in bands:
            layers.append(base.mark_area(opacity=0.12).encode(
                x=x_enc, y=alt.Y("pred_lower:Q", title=y_title), y2="pred_upper:Q", color=color))
        if "confidence" in bands:
            layers.append(base.mark_area(opacity=0.3).encode(
                x=x_enc, y=alt.Y("conf_lower:Q", title=y_title), y2="conf_upper:Q", color=color))
        layers.append(base.mark_line(strokeWidth=2.5).encode(
            x=x_enc, y=alt.Y("fit:Q", title=y_title), color=color))
        layers.append(base.mark_point(opacity=0, size=50).encode(
            x=x_enc, y="fit:Q", tooltip=tooltip))
    else:
        offset = alt.XOffset("group:N") if grouped else alt.Undefined
        if "prediction" in bands:
            layers.append(base.mark_rule(strokeWidth=1.5, opacity=0.5).encode(
                x=x_enc, xOffset=offset, y=alt.Y("pred_lower:Q", title=y_title),
                y2="pred_upper:Q", color=color))
        if "confidence" in bands:
            layers.append(base.mark_rule(strokeWidth=5, opacity=0.7).encode(
                x=x_enc, xOffset=offset, y=alt.Y("conf_lower:Q", title=y_title),
                y2="conf_upper:Q", color=color))
        layers.append(base.mark_point(filled=True, size=70).encode(
            x=x_enc, xOffset=offset, y="fit:Q", color=color, tooltip=tooltip))
    subtitle = [f"Bands: {pct} confidence (mean, darker) and prediction (new observation in a "
                "new cluster, lighter)."]
    held = _held_text(table.attrs.get("held", {}))
    if held:
        subtitle.append(held)
    return alt.layer(*layers).properties(
        width=width, height=height,
        title=alt.Title(f"Predicted {response} by {x_title}", subtitle=subtitle),
    )


def effect_plot(res: Any, terms: Any = None, at: dict[str, Any] | None = None,
                level: float = 0.95, **kwargs: Any) -> alt.LayerChart:
    """``predict_response(res, terms, at, level)`` drawn as :func:`effect_chart`."""
    from ..effects.response_grid import predict_response

    return effect_chart(predict_response(res, terms, at=at, level=level), **kwargs)

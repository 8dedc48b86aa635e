"""Altair charts of the diagnostics: pure functions of a result, returning ``alt.Chart``.

Nothing here writes HTML; Vega-Lite renders the (JSON-encoded) data, so user labels are
never interpreted as markup.  Large data are thinned deterministically so a chart stays
small enough to embed in a notebook or an offline report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import numpy as np
import pandas as pd

from ..diagnostics.influence import FLAG_FACTOR, group_codes, resolve_group
from ..diagnostics.residuals import residuals
from .explorer_diagnostics import qq_envelope

if TYPE_CHECKING:  # pragma: no cover
    from ..results import MixedModelResult

STAT_LABELS = {"cooks": "Cook's distance", "mdffits": "MDFFITS", "covratio": "COVRATIO",
               "covtrace": "COVTRACE", "leverage": "leverage"}
MAX_POINTS = 5000  # Altair's default row limit; thinned beyond it
QQ_POINTS = 1500  # order statistics drawn in a QQ plot (all of the tails are kept)
WIDTH, HEIGHT = 320, 240


def _thin(n: int, k: int, seed: int = 0) -> np.ndarray:
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def residuals_vs_fitted(res: MixedModelResult, max_points: int = MAX_POINTS) -> alt.Chart:
    """Scaled conditional residuals e/σ against fitted values (lme4's ``plot(m)``)."""
    fit = res.fitted().to_numpy()
    r = residuals(res, "scaled").to_numpy()
    keep = _thin(fit.size, max_points)
    data = pd.DataFrame({"fitted": fit[keep], "residual": r[keep],
                         "row": [str(i) for i in res.design.row_index[keep]]})
    points = alt.Chart(data).mark_circle(size=14, opacity=0.45).encode(
        x=alt.X("fitted:Q", title="fitted value", scale=alt.Scale(zero=False)),
        y=alt.Y("residual:Q", title="residual / σ"),
        tooltip=["row:N", alt.Tooltip("fitted:Q", format=".3g"),
                 alt.Tooltip("residual:Q", format=".3g")],
    )
    rules = alt.Chart(pd.DataFrame({"y": [-3.0, 0.0, 3.0]})).mark_rule(
        strokeDash=[4, 3], color="#888").encode(y="y:Q")
    smooth = points.transform_loess("fitted", "residual", bandwidth=0.5).mark_line(color="#d62728")
    return (points + rules + smooth).properties(
        width=WIDTH, height=HEIGHT, title="Residuals vs fitted")


def qq_frame(values: np.ndarray, level: float = 0.95, max_points: int = QQ_POINTS) -> pd.DataFrame:
    """Theoretical vs sample quantiles of standardised ``values`` with a pointwise envelope.

    The envelope is what a simulation envelope converges to: under normality the i-th of n
    ordered uniforms is Beta(i, n - i + 1), so the band is Φ⁻¹ of that Beta's (1 ± level)/2
    quantiles, exact and deterministic (no simulation noise).  Beyond ``max_points`` both
    tails are kept whole and the middle is thinned (see ``explorer_diagnostics.qq_envelope``,
    which computes it).
    """
    return pd.DataFrame(qq_envelope(values, level, max_points))


QQ_INSIDE, QQ_OUTSIDE = "inside the 95% envelope", "outside the 95% envelope"
QQ_CAPTION = ("Points should follow the dashed line. Red: outside the pointwise 95% band of "
              "normal data this size; long red runs in the tails mean heavier or lighter "
              "tails than normal.")


def _qq_layers(data: pd.DataFrame, extra_tooltip: list | None = None) -> alt.LayerChart:
    data = data.assign(where=np.where(
        (data["sample"] < data["lower"]) | (data["sample"] > data["upper"]),
        QQ_OUTSIDE, QQ_INSIDE))
    base = alt.Chart(data)
    band = base.mark_area(opacity=0.25, color="#9ecae1").encode(
        x=alt.X("theoretical:Q", title="normal quantile"), y="lower:Q", y2="upper:Q")
    line = base.mark_line(color="#888", strokeDash=[4, 3]).encode(
        x="theoretical:Q", y="theoretical:Q")
    points = base.mark_circle(size=16).encode(
        x="theoretical:Q", y=alt.Y("sample:Q", title="standardised sample quantile"),
        color=alt.Color("where:N", title=None,
                        scale=alt.Scale(domain=[QQ_INSIDE, QQ_OUTSIDE],
                                        range=["#1f77b4", "#d62728"]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=(extra_tooltip or []) + [alt.Tooltip("sample:Q", format=".3g"),
                                         alt.Tooltip("where:N", title="point")],
    )
    return band + line + points


def qq_residuals(res: MixedModelResult, level: float = 0.95) -> alt.LayerChart:
    """Normal QQ plot of the conditional residuals with a pointwise ``level`` envelope."""
    data = qq_frame(residuals(res, "conditional").to_numpy(), level)
    return _qq_layers(data).properties(
        width=WIDTH, height=HEIGHT,
        title=alt.Title("Normal QQ plot of residuals", subtitle=_wrap(QQ_CAPTION)))


def qq_random_effects(res: MixedModelResult, group: str | None = None,
                      level: float = 0.95) -> alt.LayerChart | alt.FacetChart:
    """Normal QQ plot of each random effect (BLUP column) of ``group``, faceted by term."""
    group = resolve_group(res, group)
    table = res.ranef[group]
    frames = []
    for col in table.columns:
        values = table[col].to_numpy()
        order = np.argsort(values, kind="stable")
        frame = qq_frame(values, level, max_points=max(len(values), 1))
        frame["level"] = [str(x) for x in table.index.to_numpy()[order]]
        frame["effect"] = str(col)
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    chart = _qq_layers(data, ["level:N", "effect:N"]).properties(width=WIDTH * 0.75,
                                                                 height=HEIGHT * 0.75)
    return chart.facet(column=alt.Column("effect:N", title=None)).properties(
        title=alt.Title(f"Normal QQ plots of the {group} random effects",
                        subtitle=_wrap(QQ_CAPTION))).resolve_scale(y="independent")


def _wrap(text: str, width: int = 70) -> list[str]:
    """A caption as subtitle lines (Vega-Lite does not wrap text)."""
    import textwrap

    return textwrap.wrap(text, width)


def residual_spread_by_cluster(res: MixedModelResult, group: str | None = None,
                               max_clusters: int = 10_000) -> alt.LayerChart:
    """Each cluster's residual SD (point) and middle half of its residuals (bar), sorted.

    Clusters are ranked by residual SD along the x axis with no tick labels, so the chart
    reads the same with 10 or 10,000 clusters; the id, size and numbers of each are in its
    tooltip. The dashed line is the model's σ. What to look for is in the subtitle: a few
    clusters far above the line, or a steady climb, mean the residual variance differs
    between clusters (small clusters scatter more by chance). Above ``max_clusters`` an
    evenly spaced subset of the ranking is drawn (the two ends are always kept).
    """
    group = resolve_group(res, group)
    codes, levels = group_codes(res, group)
    e = residuals(res, "conditional").to_numpy()
    by = pd.DataFrame({"g": codes, "e": e}).groupby("g")["e"]
    q = by.quantile([0.25, 0.75]).unstack()
    q.columns = ["q1", "q3"]
    q["sd"] = by.std()
    q["median"] = by.median()
    q["n"] = by.size()
    q = q.dropna(subset=["sd"]).sort_values("sd", kind="stable")
    q["rank"] = np.arange(1, len(q) + 1)
    if len(q) > max_clusters:
        q = q.iloc[np.unique(np.linspace(0, len(q) - 1, max_clusters).round().astype(int))]
    q["cluster"] = [str(levels[i]) for i in q.index]
    q = q.reset_index(drop=True)
    noun = f"{group} clusters" if len(group) < 20 else "clusters"
    x = alt.X("rank:Q", title=f"{noun}, ranked by residual SD ({len(levels):,})",
              axis=alt.Axis(labels=False, ticks=False, grid=False),
              scale=alt.Scale(domain=[0, int(q["rank"].max()) + 1], nice=False))
    base = alt.Chart(q)
    tooltip = [alt.Tooltip("cluster:N", title=group), alt.Tooltip("n:Q", title="observations"),
               alt.Tooltip("sd:Q", title="residual SD", format=".3g"),
               alt.Tooltip("median:Q", title="median residual", format=".3g")]
    if len(q) <= 200:
        iqr = base.mark_rule(color="#9ecae1", opacity=0.8).encode(
            x=x, y=alt.Y("q1:Q", title="residual"), y2="q3:Q", tooltip=tooltip)
    else:  # one shape instead of a rule per cluster keeps large reports small
        iqr = base.mark_area(color="#9ecae1", opacity=0.6, interpolate="step").encode(
            x=x, y=alt.Y("q1:Q", title="residual"), y2="q3:Q")
    size = 24 if len(q) <= 200 else 8
    sd = base.mark_circle(color="#08519c", size=size, opacity=0.9).encode(
        x=x, y="sd:Q", tooltip=tooltip)
    sigma = alt.Chart(pd.DataFrame({"y": [float(res.sigma)]})).mark_rule(
        strokeDash=[4, 3], color="#d62728").encode(y="y:Q")
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#888").encode(y="y:Q")
    caption = ("Dots: each cluster's residual SD; light blue: the middle half of its "
               "residuals; dashed line: the model's residual SD σ. Look for clusters far above the "
               "line or a steep climb at the right: the residual variance then differs "
               "between clusters. Small clusters scatter more by chance (see n).")
    return (zero + iqr + sd + sigma).properties(
        width=WIDTH * 1.5, height=HEIGHT,
        title=alt.Title(f"Residual spread by {group}", subtitle=_wrap(caption, 80)))


def influence_index_plot(table: pd.DataFrame, stat: str = "cooks",
                         cutoff: float | None = None) -> alt.LayerChart:
    """Index plot of one influence column; flagged clusters are labelled.

    ``table`` is ``res.influence(...)``.  For Cook's distance the cut-off defaults to 4/G
    (the ``flag`` column); for other columns pass ``cutoff`` to draw one.
    """
    if stat not in table.columns:
        raise KeyError(f"'{stat}' is not a column of the influence table; "
                       f"use one of {[c for c in table.columns if c not in ('flag', 'note')]}.")
    G = len(table)
    if cutoff is None and stat == "cooks":
        cutoff = FLAG_FACTOR / max(G, 1)
    data = pd.DataFrame({
        "cluster": [str(i) for i in table.index], "index": np.arange(1, G + 1),
        "value": table[stat].to_numpy(dtype=float),
        "n_obs": table["n_obs"].to_numpy() if "n_obs" in table else 0,
    })
    data["flagged"] = (data["value"] > cutoff) if cutoff is not None else table.get(
        "flag", pd.Series(False, index=table.index)).to_numpy()
    label = STAT_LABELS.get(stat, stat)
    group = table.index.name or "cluster"
    base = alt.Chart(data)
    stems = base.mark_rule(color="#9ecae1").encode(
        x=alt.X("index:Q", title=f"{group} (in data order)"),
        y=alt.Y("value:Q", title=label), y2=alt.datum(0))
    points = base.mark_circle(size=30).encode(
        x="index:Q", y="value:Q",
        color=alt.condition("datum.flagged", alt.value("#d62728"), alt.value("#1f77b4")),
        tooltip=[alt.Tooltip("cluster:N", title=group),
                 alt.Tooltip("n_obs:Q", title="observations"),
                 alt.Tooltip("value:Q", title=label, format=".3g")])
    labels = base.transform_filter("datum.flagged").mark_text(
        align="left", dx=5, dy=-5, fontSize=10).encode(x="index:Q", y="value:Q", text="cluster:N")
    layers = stems + points + labels
    if cutoff is not None:
        layers = layers + alt.Chart(pd.DataFrame({"y": [cutoff]})).mark_rule(
            color="#d62728", strokeDash=[4, 3]).encode(y="y:Q")
    caption = (f"Red: {group} clusters above the dashed cut-off (4/G = {cutoff:.3g}), whose "
               "removal moves the fixed effects most; check them, do not drop them blindly."
               if stat == "cooks" and cutoff is not None else "")
    title = alt.Title(f"Influence of each {group}: {label}",
                      subtitle=_wrap(caption, 80) if caption else alt.Undefined)
    return layers.properties(width=WIDTH * 1.5, height=HEIGHT, title=title)


def _auto_influence(res: MixedModelResult, group: str | None) -> pd.DataFrame | None:
    """The influence table when it is cheap enough to compute for a chart, else None."""
    from ..diagnostics.influence import influence

    group = resolve_group(res, group)
    G = res.ngroups[group]
    fast = bool(getattr(res.engine, "has_gradient", False))
    if G < 3 or G > (5000 if fast else 100):
        return None
    exact = G <= (500 if fast else 30)
    try:
        return influence(res, group, exact=exact, progress=False)
    except Exception:  # a chart must not fail because one diagnostic could not be computed
        return None


def diagnostic_charts(res: MixedModelResult, influence_table: pd.DataFrame | str | None = "auto",
                      group: str | None = None) -> dict[str, alt.TopLevelMixin]:
    """All diagnostic charts of a fit, by name (for the explorer panel and reports).

    ``influence_table``: a ``res.influence(...)`` table, None for no influence chart, or
    ``"auto"`` (default) to compute one when it is cheap (exact refits for one random term
    and up to 500 clusters, the one-step approximation up to 5000; multi-term models up to
    30 exact / 100 one-step).
    """
    charts: dict[str, alt.TopLevelMixin] = {
        "residuals_vs_fitted": residuals_vs_fitted(res),
        "qq_residuals": qq_residuals(res),
        "qq_random_effects": qq_random_effects(res, group),
        "residual_spread": residual_spread_by_cluster(res, group),
    }
    if isinstance(influence_table, str):
        if influence_table != "auto":
            raise ValueError("influence_table must be a table, None or 'auto', "
                             f"not {influence_table!r}.")
        influence_table = _auto_influence(res, group)
    if influence_table is not None:
        charts["influence"] = influence_index_plot(influence_table)
    return charts

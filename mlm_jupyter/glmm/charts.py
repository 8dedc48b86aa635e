"""Altair charts of a GLMM on the response scale: pure functions of a result.

- ``response_curves``: μ against a predictor (probability, count or rate), one line per
  moderator value, for a typical cluster (b = 0) with its 95% confidence band, and the
  random-effects fan: the 2.5% and 97.5% quantiles over clusters, g⁻¹(η ± 1.96 √(z'Σz))
  (exact quantiles: the link is monotone and z'b is normal).
- ``cluster_curves``: the curves of (a sample of) the clusters at their conditional modes.
- ``caterpillar``: conditional modes ± 1.96 conditional SD, sorted, with the ratio scale
  exp(b) on the axis labels for logit/log links.
- ``quantile_residual_qq`` and ``quantile_residuals_vs_predicted``: DHARMa's two panels.
- ``binned_residual_chart``: Gelman & Hill's binned residuals.

Vega-Lite renders the data (JSON), so user labels are never interpreted as markup; the
charts work offline (JupyterLab's own Vega renderer; inline SVG in reports).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import altair as alt
import numpy as np
import pandas as pd

from ..engine.families import inverse_link
from ..result_common import relative_factors
from .margins import reference_grid

if TYPE_CHECKING:  # pragma: no cover
    from .dharma import SimulatedResiduals
    from .results import GLMMResult

WIDTH, HEIGHT = 340, 240
Z95 = 1.959963984540054
SCALE_NAMES = {"binomial": "probability", "poisson": "expected count",
               "negative_binomial": "expected count"}


def response_label(res: GLMMResult) -> str:
    label = SCALE_NAMES[res.family]
    if res.family != "binomial" and res.design.offset is not None:
        label = "expected count (offset at its mean)"
    return f"{label} of {res.spec.response}"


def curve_frame(res: GLMMResult, x: str, moderator: str | None = None,
                values: list | None = None, points: int = 60) -> pd.DataFrame:
    """Typical-cluster curve, its band and the random-effects fan over a grid of ``x``."""
    data = res.data
    lo, hi = float(data[x].min()), float(data[x].max())
    xs = np.linspace(lo, hi, points)
    mods: list = [None]
    if moderator is not None:
        col = data[moderator]
        if values is not None:
            mods = list(values)
        elif pd.api.types.is_numeric_dtype(col) and col.nunique() > 5:
            m, s = float(col.mean()), float(col.std())
            mods = [m - s, m, m + s]
        else:
            mods = sorted(col.dropna().unique(), key=str)
    frames = []
    for mv in mods:
        at: dict[str, Any] = {x: list(xs)}
        if moderator is not None:
            at[moderator] = [mv]
        grid = reference_grid(res, at)
        eta, X, _ = _grid_predictor(res, grid)
        V = res.vcov.to_numpy()
        se = np.sqrt(np.einsum("ij,jk,ik->i", X, V, X))
        spread = _random_spread(res, grid)
        frames.append(pd.DataFrame({
            x: grid[x].to_numpy(float), "moderator": _label(mv),
            "fit": inverse_link(res.link, eta),
            "lower": inverse_link(res.link, eta - Z95 * se),
            "upper": inverse_link(res.link, eta + Z95 * se),
            "fan_lower": inverse_link(res.link, eta - Z95 * spread),
            "fan_upper": inverse_link(res.link, eta + Z95 * spread)}))
    out = pd.concat(frames, ignore_index=True)
    # several grid rows per x when other factors are averaged: average on the response scale
    return out.groupby([x, "moderator"], as_index=False, sort=False).mean()


def _label(value: Any) -> str:
    if value is None:
        return "all"
    if isinstance(value, (float, np.floating)):
        return f"{value:.3g}"
    return str(value)


def _grid_predictor(res: GLMMResult, grid: pd.DataFrame):
    from .predict import matrices

    X = matrices(res, grid, include_re=False).X
    offset = float(res.design.offset.mean()) if res.design.offset is not None else 0.0
    return X @ res.fixef.to_numpy() + offset, X, None


def _random_spread(res: GLMMResult, grid: pd.DataFrame) -> np.ndarray:
    """√(z'Σz) per grid row: the SD of the clusters' deviation of the linear predictor."""
    from .predict import matrices

    var = np.zeros(len(grid))
    Zs = matrices(res, grid, include_re=True).Z
    for Z, T in zip(Zs, relative_factors(res.design, res.theta), strict=True):
        var += np.einsum("ni,ij,nj->n", Z, T @ T.T, Z)
    return np.sqrt(var)


def response_curves(res: GLMMResult, x: str, moderator: str | None = None,
                    values: list | None = None, fan: bool = True) -> alt.LayerChart:
    """μ against ``x`` by ``moderator`` with confidence bands and the random-effects fan."""
    frame = curve_frame(res, x, moderator, values)
    base = alt.Chart(frame).encode(
        x=alt.X(f"{x}:Q", title=x),
        color=alt.Color("moderator:N", title=moderator or "", legend=None
                        if moderator is None else alt.Legend()))
    layers = []
    if fan:
        layers.append(base.mark_area(opacity=0.12).encode(
            y=alt.Y("fan_lower:Q"), y2="fan_upper:Q"))
    layers += [
        base.mark_area(opacity=0.3).encode(y=alt.Y("lower:Q"), y2="upper:Q"),
        base.mark_line(strokeWidth=2.5).encode(
            y=alt.Y("fit:Q", title=response_label(res)),
            tooltip=[alt.Tooltip(f"{x}:Q", format=".3g"), "moderator:N",
                     alt.Tooltip("fit:Q", format=".3g"), alt.Tooltip("lower:Q", format=".3g"),
                     alt.Tooltip("upper:Q", format=".3g")]),
    ]
    title = "Typical cluster (line, 95% CI) and 95% of clusters (fan)" if fan else \
        "Typical cluster with 95% CI"
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT, title=title)


def cluster_curves(res: GLMMResult, x: str, group: str | None = None, max_clusters: int = 40,
                   points: int = 30, seed: int = 0) -> alt.Chart:
    """Curves of a seeded sample of clusters at their conditional modes (other predictors
    at their reference values), on the response scale."""
    from .predict import linear_predictor

    terms = res.design.terms
    group = group or terms[0].group
    term = next(t for t in terms if t.group == group)
    levels = list(term.levels)
    if len(levels) > max_clusters:
        rng = np.random.default_rng(seed)
        levels = list(rng.choice(levels, size=max_clusters, replace=False))
    xs = np.linspace(float(res.data[x].min()), float(res.data[x].max()), points)
    base = reference_grid(res, {x: list(xs)})
    base = base.groupby(x, as_index=False, sort=False).first()
    frames = []
    for level in levels:
        grid = base.copy()
        for col in term.group_columns:
            grid[col] = str(level).split(":")[term.group_columns.index(col)]
        eta, _, _ = linear_predictor(res, grid, include_re=True)
        frames.append(pd.DataFrame({x: xs, "cluster": str(level),
                                    "fit": inverse_link(res.link, eta)}))
    frame = pd.concat(frames, ignore_index=True)
    return alt.Chart(frame).mark_line(opacity=0.5).encode(
        x=alt.X(f"{x}:Q", title=x), y=alt.Y("fit:Q", title=response_label(res)),
        detail="cluster:N", tooltip=["cluster:N", alt.Tooltip("fit:Q", format=".3g")],
    ).properties(width=WIDTH, height=HEIGHT, title=f"Clusters of {group} (conditional modes)")


def caterpillar(res: GLMMResult, group: str | None = None, term: str | None = None
                ) -> alt.Chart:
    """Conditional modes ± 1.96 conditional SD, sorted (link scale; ratios in tooltips)."""
    group = group or res.group_names[0]
    modes, sds = res.ranef[group], res.ranef_se[group]
    term = term or modes.columns[0]
    frame = pd.DataFrame({"level": modes.index.astype(str), "mode": modes[term].to_numpy(),
                          "sd": sds[term].to_numpy()})
    frame["lower"] = frame["mode"] - Z95 * frame["sd"]
    frame["upper"] = frame["mode"] + Z95 * frame["sd"]
    frame = frame.sort_values("mode").reset_index(drop=True)
    frame["rank"] = np.arange(len(frame))
    tips = ["level:N", alt.Tooltip("mode:Q", format=".3g"), alt.Tooltip("lower:Q", format=".3g"),
            alt.Tooltip("upper:Q", format=".3g")]
    if res.link in ("logit", "log"):
        frame["ratio"] = np.exp(frame["mode"])
        tips.append(alt.Tooltip("ratio:Q", format=".3g",
                                title="odds ratio" if res.link == "logit" else "rate ratio"))
    base = alt.Chart(frame).encode(x=alt.X("rank:Q", title=f"{group} (sorted)",
                                           axis=alt.Axis(labels=False, ticks=False)))
    return (base.mark_rule(opacity=0.5).encode(y=alt.Y("lower:Q", title=f"b ({term}), link scale"),
                                               y2="upper:Q")
            + base.mark_circle(size=18).encode(y="mode:Q", tooltip=tips)).properties(
        width=WIDTH, height=HEIGHT, title=f"Conditional modes of {group}: {term}")


def quantile_residual_qq(sim: SimulatedResiduals) -> alt.LayerChart:
    """Scaled residuals against uniform quantiles (DHARMa's QQ plot)."""
    r = np.sort(sim.residuals.to_numpy())
    n = r.size
    keep = np.unique(np.linspace(0, n - 1, min(n, 1500)).astype(int))
    frame = pd.DataFrame({"expected": (keep + 0.5) / n, "observed": r[keep]})
    line = alt.Chart(pd.DataFrame({"v": [0.0, 1.0]})).mark_line(color="#888", strokeDash=[4, 3]
                                                                  ).encode(x="v:Q", y="v:Q")
    points = alt.Chart(frame).mark_circle(size=12, opacity=0.6).encode(
        x=alt.X("expected:Q", title="expected (uniform)"),
        y=alt.Y("observed:Q", title="scaled residual"))
    return (line + points).properties(width=WIDTH, height=HEIGHT,
                                      title="Simulated quantile residuals: QQ")


def quantile_residuals_vs_predicted(sim: SimulatedResiduals, max_points: int = 5000
                                    ) -> alt.LayerChart:
    """Scaled residuals against the rank of the simulated mean, with 0.25/0.5/0.75 lines."""
    pred = sim.fitted
    rank = pd.Series(pred).rank(pct=True).to_numpy()
    idx = np.arange(pred.size)
    if idx.size > max_points:
        idx = np.sort(np.random.default_rng(0).choice(idx, max_points, replace=False))
    frame = pd.DataFrame({"predicted (rank)": rank[idx],
                          "residual": sim.residuals.to_numpy()[idx]})
    rules = alt.Chart(pd.DataFrame({"y": [0.25, 0.5, 0.75]})).mark_rule(
        strokeDash=[4, 3], color="#888").encode(y="y:Q")
    points = alt.Chart(frame).mark_circle(size=12, opacity=0.5).encode(
        x=alt.X("predicted (rank):Q"), y=alt.Y("residual:Q", title="scaled residual",
                                               scale=alt.Scale(domain=[0, 1])))
    return (rules + points).properties(width=WIDTH, height=HEIGHT,
                                       title="Simulated quantile residuals vs predicted")


def binned_residual_chart(res: GLMMResult, bins: int | None = None) -> alt.LayerChart:
    """Mean residual per bin of fitted probability with ±2 SE bounds (binomial fits)."""
    table = res.binned_residuals(bins)
    base = alt.Chart(table).encode(x=alt.X("fitted:Q", title="fitted probability (bin mean)"))
    return (base.mark_line(color="#888", strokeDash=[4, 3]).encode(y="upper:Q")
            + base.mark_line(color="#888", strokeDash=[4, 3]).encode(y="lower:Q")
            + base.mark_circle(size=30).encode(
                y=alt.Y("residual:Q", title="mean residual"),
                color=alt.Color("outside:N", legend=None),
                tooltip=[alt.Tooltip("fitted:Q", format=".3g"),
                         alt.Tooltip("residual:Q", format=".3g"), "n:Q"])
            ).properties(width=WIDTH, height=HEIGHT, title="Binned residuals")

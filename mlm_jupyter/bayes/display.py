"""Text, HTML, the posterior predictive check chart and the offline report of a posterior."""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .result import BayesianResult

_SHOWN = ["mean", "sd", "q2.5", "q97.5", "rhat", "ess_bulk", "ess_tail"]


def _sections(res: BayesianResult) -> list[tuple[str, pd.DataFrame]]:
    s = res.posterior_summary()[_SHOWN]
    out = [("Regression coefficients", s.loc[list(res.names.fixed)])]
    for group in res.names.groups:
        rows = [n.name for n in res.names.sds if n.group == group]
        rows += [c.name for c in res.names.cors if c.group == group]
        out.append((f"Group-level effects: ~{group} ({res.ngroups[group]} levels)", s.loc[rows]))
    out.append(("Residual", s.loc[["sigma"]]))
    return out


def _header(res: BayesianResult) -> list[str]:
    info = res.sampler
    return [
        f"Bayesian linear mixed model: {res.formula}",
        f"  Observations: {res.nobs}; groups: "
        + ", ".join(f"{g} {n}" for g, n in res.ngroups.items()),
        f"  Draws: {info.chains} chains x {info.draws} after {info.warmup} warmup "
        f"(NUTS, target_accept {info.target_accept:g}, seed {info.seed}); "
        f"{info.divergent} divergent transitions",
    ]


def summary_text(res: BayesianResult) -> str:
    """brms' ``summary()`` layout: header, then one table per block of parameters."""
    lines = _header(res)
    for title, table in _sections(res):
        lines += ["", title + ":", table.to_string(float_format=lambda v: f"{v:.3f}")]
    lines += ["", "Priors:", res.priors.to_string(index=False)]
    if res.messages:
        lines += ["", *(f"! {m}" for m in res.messages)]
    return "\n".join(lines)


def summary_html(res: BayesianResult) -> str:
    """The same as escaped HTML (column and parameter names escaped)."""
    from ..display.html import html_table, wrap

    parts = [f"<p><b>{escape(line.strip())}</b></p>" if i == 0 else
             f"<p>{escape(line.strip())}</p>" for i, line in enumerate(_header(res))]
    for title, table in _sections(res):
        parts.append(html_table(table.round(4), caption=title))
    parts.append(html_table(res.priors, caption="Priors"))
    parts += [f'<p class="mlmj-warn">{escape(m)}</p>' for m in res.messages]
    return wrap("".join(parts))


def ppc_chart(res: BayesianResult, n_draws: int = 40) -> Any:
    """Kernel density of the observed y against ``n_draws`` posterior predictive replicates.

    brms' ``pp_check(fit)``: replicated data sets y_rep ~ p(y_rep | y) drawn from the exact
    posterior draws (``res.idata.posterior_predictive``); systematic gaps between the dark
    observed curve and the light replicate curves show where the model misfits.
    """
    import altair as alt
    from scipy.stats import gaussian_kde

    y = np.asarray(res.design.y, dtype=float)
    reps = np.asarray(res.idata.posterior_predictive["y"].values).reshape(-1, y.size)
    reps = reps[np.linspace(0, len(reps) - 1, min(n_draws, len(reps))).round().astype(int)]
    lo, hi = float(min(y.min(), reps.min())), float(max(y.max(), reps.max()))
    # one row per grid point and curve: stay under Altair's 5,000-row inline-data limit
    grid = np.linspace(lo, hi, max(20, min(120, 4900 // (len(reps) + 1))))
    frames = []
    for i, rep in enumerate(reps):
        frames.append(pd.DataFrame({"y": grid, "density": gaussian_kde(rep)(grid),
                                    "draw": i, "series": "replicated"}))
    frames.append(pd.DataFrame({"y": grid, "density": gaussian_kde(y)(grid), "draw": -1,
                                "series": "observed"}))
    data = pd.concat(frames, ignore_index=True)
    response = res.spec.response
    color = alt.Color("series:N", scale=alt.Scale(domain=["observed", "replicated"],
                                                  range=["#1f3b73", "#9ecae1"]),
                      title=None)
    lines = alt.Chart(data).mark_line().encode(
        x=alt.X("y:Q", title=response), y=alt.Y("density:Q", title="density"),
        detail="draw:N", color=color,
        opacity=alt.condition(alt.datum.series == "observed", alt.value(1.0), alt.value(0.35)),
        strokeWidth=alt.condition(alt.datum.series == "observed", alt.value(2.5),
                                  alt.value(1.0)),
    )
    return lines.properties(width=420, height=240,
                            title=f"Posterior predictive check: {len(reps)} replicates")


def report_html(res: BayesianResult, path: str | Path | None = None,
                title: str | None = None, paper: bool = True) -> str:
    """A self-contained offline page: summary, priors, random effects, the PPC chart and
    (``paper``) "For the paper": the table with credible intervals, the methods paragraph
    and the equations, copyable."""
    from .. import __version__
    from ..display.paper.report_section import paper_section
    from ..display.report import _PAGE_CSS, _table, chart_html

    title = title or f"Posterior of {res.formula}"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [f"<header><h1>{escape(title)}</h1>",
            f'<p class="meta">made {stamp} with mlm_jupyter {escape(__version__)}.</p></header>']
    body += [f"<p>{escape(line.strip())}</p>" for line in _header(res)[1:]]
    for heading, table in _sections(res):
        body.append(f"<h2>{escape(heading)}</h2>{_table(table, 3)}")
    body.append(f"<h2>Priors</h2>{_table(res.priors, index=False)}")
    body.append(f"<h2>Posterior predictive check</h2>{chart_html(ppc_chart(res))}")
    for group in res.names.groups:
        table = res.ranef_summary(group)
        body.append(f"<h2>Cluster effects: {escape(group)}</h2>"
                    f"{_table(table.drop(columns='parameter').head(200), 3, index=False)}")
    body += [f"<p><b>Note:</b> {escape(m)}</p>" for m in res.messages]
    if paper:
        body.append(paper_section([res]))
    body.append("<footer>Self-contained report: no part of this page is loaded from the "
                "network.</footer>")
    page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_PAGE_CSS}</style></head>"
            f"<body><main>{''.join(body)}</main></body></html>")
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page

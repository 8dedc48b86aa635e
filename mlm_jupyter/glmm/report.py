"""One self-contained, offline HTML report of GLMM fits.

Per model: the summary (random effects, Wald z tests, ratios, ICC/R², MOR), the curves on
the response scale with the random-effects fan, the clusters' curves and the caterpillar,
the checks and the simulation-based residual panels; with several models the likelihood-
ratio comparison; then "For the paper" (the models' table, methods paragraphs and equations,
copyable, as the LMM report).  Charts are inline SVG rendered offline with vl-convert; the
only script is the paper section's inline copy button handler; nothing loads from the
network.  Every user string is escaped.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ..display.html import html_table
from ..display.report import chart_html, data_summary
from .charts import (
    binned_residual_chart,
    caterpillar,
    cluster_curves,
    quantile_residual_qq,
    quantile_residuals_vs_predicted,
    response_curves,
)
from .display import glmm_result_html
from .explore import default_axes

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult

esc = html.escape
_CSS = """
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:#1f2328;background:#fff}main{max-width:1120px;margin:0 auto;padding:24px 28px 64px}
h1{font-size:1.7em}h2{font-size:1.3em;border-bottom:1px solid #d1d9e0;margin-top:1.8em}
.charts{display:flex;flex-wrap:wrap;gap:16px}.finding{margin:.3em 0}.warning{color:#9a6700}
.meta{color:#59636e;font-size:.9em}
"""


def _model_section(k: int, res: GLMMResult, nsim: int, seed: int) -> str:
    parts = [f"<h2>Model {k}: <code>{esc(res.formula)}</code></h2>", glmm_result_html(res)]
    x, moderator = default_axes(res)
    charts = []
    if x is not None:
        charts += [response_curves(res, x, moderator), cluster_curves(res, x)]
    charts.append(caterpillar(res))
    parts.append("<h3>On the response scale</h3><div class='charts'>"
                 + "".join(chart_html(c) for c in charts) + "</div>")
    sim = res.simulate_residuals(nsim=nsim, seed=seed)
    diag = [quantile_residual_qq(sim), quantile_residuals_vs_predicted(sim)]
    if res.family == "binomial":
        diag.append(binned_residual_chart(res))
    findings = "".join(
        f"<div class='finding {esc(f.severity)}'><b>{esc(f.check)}</b>: {esc(f.finding)}"
        + (f" <i>Look at: {esc(f.look_at)}</i>" if f.look_at else "") + "</div>"
        for f in res.check(nsim=nsim, seed=seed))
    parts.append("<h3>Checks</h3>" + findings + "<div class='charts'>"
                 + "".join(chart_html(c) for c in diag) + "</div>")
    return "".join(parts)


def report(*results: GLMMResult, path: str | None = None, title: str | None = None,
           nsim: int = 250, seed: int = 1, paper: bool = True) -> str:
    """The report as an HTML string (also written to ``path`` when given).

    Parameters
    ----------
    *results : GLMMResult
    path : str, optional
    title : str, optional
    nsim, seed : int
        Simulations (and their seed) of the quantile residuals and checks.
    paper : bool
        Include "For the paper": :func:`mlm_jupyter.table` of the models, each model's
        ``methods_text()`` and ``equations("latex")``.
    """
    if not results:
        raise ValueError("report() needs at least one fitted model.")
    title = title or "Generalised linear mixed model report"
    first = results[0]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [f"<h1>{esc(title)}</h1><p class='meta'>{first.nobs} observations; made {stamp} "
            "by mlm_jupyter</p>", "<h2>Data</h2>", html_table(data_summary(first))]
    for k, res in enumerate(results, start=1):
        body.append(_model_section(k, res, nsim, seed))
    if len(results) > 1:
        from ..compare import compare

        body.append("<h2>Comparison</h2>" + html_table(compare(*results)))
    if paper:
        from ..display.paper.report_section import paper_section

        body.append(paper_section(results))
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}"
            f"</title><style>{_CSS}</style></head><body><main>{''.join(body)}</main></body>"
            "</html>")
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page

"""One self-contained, offline HTML report of one or more fitted models.

The file carries everything it shows: the explorer's script bundle and style sheet inline,
each model's explorer state as JSON, and static charts as inline SVG rendered with
vl-convert. It loads nothing from the network (no CDN, no web fonts), so it can be mailed to a
supervisor or attached to a journal's supplement and still be interactive.

Layout: title; data (observations, clusters per grouping factor, cluster-size distribution,
rows dropped); per model the formula, the level-1 / level-2 and combined equations, the
summary, the advice, predictions (effect plot, marginal means) and the explorer; with
several models the likelihood-ratio comparison (with the chi-bar-square mixture p-value)
and the variance explained between consecutive models; "For the paper" (the models' table,
methods paragraphs and equations, copyable); diagnostic charts of the last model.
"""

from __future__ import annotations

import base64
import html
import importlib
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..messages import MixedModelWarning
from .embed import bundle_html, explorer_div, static_explorer_html
from .export import chart_to_png, chart_to_svg
from .frame_format import frame_html
from .report_predictions import predictions_html

esc = html.escape
__all__ = ["report", "static_explorer_html", "bundle_html", "explorer_div", "data_summary",
           "cluster_sizes", "chart_html"]

_PAGE_CSS = """
:root{--fg:#1f2328;--fg2:#59636e;--bg:#fff;--bg2:#f6f8fa;--line:#d1d9e0;--accent:#2f6fb0;
--warn:#9a6700;--warnbg:#fff8c5}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,"DejaVu Sans",Helvetica,Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px 28px 64px}
header{border-bottom:1px solid var(--line);margin-bottom:8px}
h1{font-size:1.7em;margin:.2em 0 .1em}
h2{font-size:1.3em;margin:1.8em 0 .5em;padding-bottom:.2em;border-bottom:1px solid var(--line)}
h3{font-size:1.05em;margin:1.2em 0 .4em;color:var(--fg2)}
.meta{color:var(--fg2);font-size:.9em;margin:0 0 12px}
nav{font-size:.9em;margin:8px 0 0}nav a{margin-right:1em;color:var(--accent)}
code,.formula{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
.formula{background:var(--bg2);border:1px solid var(--line);border-radius:6px;padding:6px 10px;
display:inline-block;white-space:pre-wrap;word-break:break-word}
.table-wrap{overflow-x:auto;max-width:100%}
table.mlm-table{border-collapse:collapse;font-size:.9em;margin:6px 0 12px}
table.mlm-table th,table.mlm-table td{padding:3px 10px;border-bottom:1px solid var(--line);
text-align:right}
table.mlm-table th:first-child,table.mlm-table td:first-child{text-align:left}
table.mlm-table thead th{border-bottom:2px solid var(--fg2)}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}
.card{background:var(--bg2);border:1px solid var(--line);border-radius:8px;padding:8px 14px}
.card b{display:block;font-size:1.35em}.card span{color:var(--fg2);font-size:.85em}
.note{background:var(--warnbg);color:var(--warn);border-radius:6px;padding:6px 10px;
font-size:.9em}
.charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.chart svg,.chart img{max-width:100%;height:auto}
.model{margin-top:2.4em}
.mlm-static-explorer{margin:8px 0 16px;min-height:120px}
footer{margin-top:48px;color:var(--fg2);font-size:.8em}
@media print{nav{display:none}.model{break-before:page}}
"""


# ---------------------------------------------------------------------------------------
# sections
def _number(v: float, digits: int) -> str:
    """Fixed decimals, but small p-values keep significant digits (2.3e-05, not 0.0000)."""
    if v != 0 and abs(v) < 10 ** -digits:
        return f"{v:.2g}"
    if float(v).is_integer() and abs(v) < 1e15:  # counts and df read as whole numbers
        return f"{int(v):,}"
    return f"{v:,.{digits}f}"


def _table(df: pd.DataFrame, digits: int = 4, index: bool = True) -> str:
    """A pandas table as escaped HTML (scrolls sideways when wider than the page)."""
    return '<div class="table-wrap">' + df.to_html(
        classes="mlm-table", border=0, escape=True, index=index, na_rep="",
        float_format=lambda v: _number(v, digits),
    ) + "</div>"


def _optional(module: str, name: str) -> Any:
    """A function another module of the package provides, or None while it is missing."""
    try:
        return getattr(importlib.import_module(module, __package__), name)
    except (ImportError, AttributeError):
        return None


def cluster_sizes(res: Any) -> dict[str, np.ndarray]:
    """Observations per cluster of every grouping factor (lme4's order)."""
    from ..warehouse.rows import origin_of

    rowless = origin_of(res) is not None  # rows in a database: counts from its aggregates
    out: dict[str, np.ndarray] = {}
    for term in res.design.terms:
        if term.group not in out:
            if rowless:
                from ..warehouse.effects import cluster_counts

                out[term.group] = cluster_counts(res, term.group).astype(int)
            else:
                out[term.group] = np.bincount(term.codes, minlength=len(term.levels))
    return out


def data_summary(res: Any) -> pd.DataFrame:
    """Clusters and cluster-size distribution (min, quartiles, max) per grouping factor."""
    rows = {}
    for group, sizes in cluster_sizes(res).items():
        q = np.percentile(sizes, [0, 25, 50, 75, 100])
        rows[group] = {
            "clusters": len(sizes), "min": q[0], "q1": q[1], "median": q[2], "q3": q[3],
            "max": q[4], "mean": sizes.mean(),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


_SVG_LIMIT = 400_000  # bytes; denser charts (scatter of every observation) become PNG


def chart_html(chart: Any) -> str:
    """A chart as inline SVG, or as an inline PNG when the SVG would be large (many points)."""
    svg = chart_to_svg(chart)
    if len(svg) <= _SVG_LIMIT:
        return f'<div class="chart">{svg}</div>'
    # 1.5x: sharp enough on high-density screens at about half the bytes of 2x (a report
    # with the diagnostics of 1,000 clusters stays under 3 MB).
    scale = 1.5
    png = chart_to_png(chart, scale=scale)
    # Shown at the chart's own size (as the SVG would be).
    width = int(int.from_bytes(png[16:20], "big") / scale)
    data = base64.b64encode(png).decode("ascii")
    alt_text = html.escape(_chart_title(chart), quote=True)
    return (f'<div class="chart"><img alt="{alt_text}" width="{width}" '
            f'src="data:image/png;base64,{data}"></div>')


def _chart_title(chart: Any) -> str:
    """The chart's title as plain text (its image's alternative text)."""
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    title = spec.get("title") or next(
        (part.get("title") for key in ("vconcat", "hconcat", "layer", "concat")
         for part in spec.get(key, []) if isinstance(part, dict) and part.get("title")), "")
    if isinstance(title, dict):
        title = title.get("text", "")
    if isinstance(title, list):
        title = " ".join(str(t) for t in title)
    return str(title) or "chart"


def _size_chart(group: str, sizes: np.ndarray) -> str:
    import altair as alt

    df = pd.DataFrame({"size": sizes})
    chart = (
        alt.Chart(df, width=300, height=130)
        .mark_bar(color="#2f6fb0")
        .encode(
            alt.X("size:Q", bin=alt.Bin(maxbins=25), title=f"observations per {group}"),
            alt.Y("count():Q", title="clusters"),
        )
        .properties(title=f"Cluster sizes: {group}")
    )
    return chart_html(chart)


def _per_model(values: list[int]) -> str:
    """One number when every model agrees, else each model's ("model 1: 0 · model 2: 25")."""
    if len(set(values)) == 1:
        return f"{values[0]:,}"
    return " · ".join(f"model {k}: {v:,}" for k, v in enumerate(values, start=1))


def _data_section(res: Any, results: tuple[Any, ...] = ()) -> str:
    models = tuple(results) or (res,)
    cards = [("observations", _per_model([int(r.nobs) for r in models]))]
    cards += [(f"{g} clusters", f"{n:,}") for g, n in res.ngroups.items()]
    cards.append(("rows dropped (missing values)",
                  _per_model([int(r.n_dropped) for r in models])))
    html_cards = "".join(f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>'
                         for k, v in cards)
    if len({int(r.nobs) for r in models}) > 1:
        html_cards += ("<p>The models use different rows (missing values in the variables "
                       "each one uses), so their likelihoods are not directly comparable; "
                       "fit them to the same complete rows to compare them.</p>")
    sizes = cluster_sizes(res)
    # A histogram of identical sizes is one meaningless bar: say it in words instead.
    charts = "".join(
        _size_chart(g, s) if s.min() < s.max()
        else f"<p>Balanced: every {esc(g)} cluster has {int(s[0]):,} observations.</p>"
        for g, s in sizes.items()
    )
    table = _table(data_summary(res), digits=1)
    return (
        f'<section id="data"><h2>Data</h2><div class="cards">{html_cards}</div>'
        f"<h3>Cluster sizes</h3>{table}<div class=\"charts\">{charts}</div></section>"
    )


def _summary_html(res: Any) -> str:
    result_html = _optional(".html", "result_html")
    if result_html is not None:
        return result_html(res)
    summary_text = _optional(".text", "summary_text")
    if summary_text is not None:
        return f"<pre>{esc(summary_text(res))}</pre>"
    fixed = pd.DataFrame({"estimate": res.fixef, "std_error": np.sqrt(np.diag(res.vcov))})
    fit = pd.DataFrame(
        {"value": [res.objective, res.loglik, res.aic, res.bic]},
        index=["REML criterion" if res.reml else "deviance", "logLik", "AIC", "BIC"],
    )
    return (
        "<h3>Random effects</h3>" + _table(res.varcorr, index=False)
        + "<h3>Fixed effects</h3>" + _table(fixed) + "<h3>Fit</h3>" + _table(fit)
    )


def _equations_html(res: Any) -> str:
    model_equations = _optional(".equations", "model_equations")
    if model_equations is None:
        return ""
    return "<h3>The model</h3>" + model_equations(res)._repr_html_()


def _model_section(k: int, res: Any, explorer: bool, theme: str) -> str:
    parts = [
        f'<section class="model" id="model-{k}"><h2>Model {k}</h2>',
        f'<div class="formula">{esc(res.formula)}</div>',
        f"<p class=\"meta\">{'REML' if res.reml else 'Maximum likelihood'} fit, "
        f"{res.nobs:,} observations.</p>",
        _equations_html(res),
        "<h3>Summary</h3>",
        _summary_html(res),  # warnings first, advice last (once: plain titles, no ids)
        predictions_html(res),
    ]
    if explorer:
        from .explorer_state import build_state

        parts += ["<h3>Explorer</h3>", explorer_div(build_state(res), theme)]
    parts.append("</section>")
    return "".join(parts)


def _comparison_section(results: tuple[Any, ...]) -> str:
    import mlm_jupyter as mlm

    parts = ['<section id="comparison"><h2>Model comparison</h2>']
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixedModelWarning)  # shown as notes instead
            table = mlm.compare(*results)
        parts.append(
            "<p>Likelihood-ratio tests of each model against the previous one (models refitted "
            "by ML). Where a model adds random-effect variances to an otherwise equal model, "
            "<code>p_mixture</code> gives the chi-bar-square mixture p-value, which corrects "
            "the conservative chi-square p-value for a variance tested on its boundary.</p>"
        )
        # Formulas are shown with each model; "Model k" keeps the table narrow enough to read.
        names = {r.formula: f"Model {k}" for k, r in enumerate(results, start=1)}
        shown = pd.DataFrame(table).rename(index=lambda f: names.get(str(f), str(f)))
        parts.append(frame_html(shown, list(getattr(table, "notes", None) or []),
                                table.display_digits, anova=True))
    except ImportError:
        parts.append('<p class="note">Comparison tables are not available in this build.</p>')
    except ValueError as err:  # not nested, different data: say why instead of failing
        parts.append(f'<p class="note">No likelihood-ratio comparison: {esc(str(err))}</p>')
    parts.append("<h3>Variance explained</h3>")
    for k in range(1, len(results)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MixedModelWarning)  # shown as notes instead
                ve = mlm.variance_explained(results[k - 1], results[k])
        except ImportError:
            parts.append('<p class="note">Variance explained is not available in this build.</p>')
            break
        except ValueError as err:
            parts.append(f'<p class="note">Model {k} to {k + 1}: {esc(str(err))}</p>')
            continue
        parts.append(f"<p>From model {k} to model {k + 1} (reduction = 1 - model / base):</p>"
                     + frame_html(pd.DataFrame(ve).set_index(["group", "term"]),
                                  list(getattr(ve, "notes", None) or [])))
    parts.append("</section>")
    return "".join(parts)


def _fallback_diagnostics(res: Any) -> list:
    """Residuals against fitted values and a normal QQ plot (when the charts module is absent)."""
    import altair as alt
    from scipy import stats

    fitted = res.fitted().to_numpy()
    resid = res.residuals().to_numpy()
    order = np.sort(resid / resid.std())
    theo = stats.norm.ppf((np.arange(1, len(order) + 1) - 0.5) / len(order))
    df = pd.DataFrame({"fitted": fitted, "residual": resid})
    qq = pd.DataFrame({"theoretical": theo, "sample": order})
    rvf = alt.Chart(df, width=320, height=220, title="Residuals vs fitted").mark_circle(
        size=12, opacity=0.4).encode(x="fitted:Q", y="residual:Q")
    qqp = alt.Chart(qq, width=260, height=220, title="Normal QQ of residuals").mark_circle(
        size=12, opacity=0.4).encode(x="theoretical:Q", y="sample:Q")
    return [rvf, qqp]


#: Rows sampled (in the database) for the diagnostics of a fit whose rows stay there.
SAMPLE_ROWS = 5000


def _sampled_diagnostics(res: Any) -> list:
    """Residual charts of a seeded random sample of the rows (computed in the database)
    and the random effects' QQ plot, for a fit whose rows stay in a database."""
    import altair as alt
    from scipy import stats

    from ..warehouse.rowwise import sample_residuals

    sample = sample_residuals(res, n=min(SAMPLE_ROWS, res.nobs), seed=0)
    resid = sample["pearson"].to_numpy()
    order = np.sort(resid)
    theo = stats.norm.ppf((np.arange(1, len(order) + 1) - 0.5) / len(order))
    title = f"(random sample of {len(sample):,} of {res.nobs:,} rows)"
    df = pd.DataFrame({"fitted": sample["fitted"].to_numpy(), "residual": resid})
    rvf = alt.Chart(df, width=320, height=220, title=["Residuals vs fitted", title]).mark_circle(
        size=12, opacity=0.4).encode(x=alt.X("fitted:Q", scale=alt.Scale(zero=False)),
                                     y=alt.Y("residual:Q", title="residual / σ"))
    qq = pd.DataFrame({"theoretical": theo, "sample": order})
    qqp = alt.Chart(qq, width=260, height=220, title=["Normal QQ of residuals", title]
                    ).mark_circle(size=12, opacity=0.4).encode(x="theoretical:Q", y="sample:Q")
    charts = [rvf, qqp]
    qq_re = _optional(".diagnostic_charts", "qq_random_effects")
    if qq_re is not None:
        charts.append(qq_re(res))
    return charts


def _diagnostics_section(res: Any, number: int) -> str:
    from ..warehouse.rows import origin_of

    charts_fn = _optional(".diagnostic_charts", "diagnostic_charts") or _optional(
        ".charts", "diagnostic_charts")
    if origin_of(res) is not None:
        charts = _sampled_diagnostics(res)
    else:
        charts = charts_fn(res) if charts_fn is not None else _fallback_diagnostics(res)
    if isinstance(charts, dict):
        charts = list(charts.values())
    elif not isinstance(charts, (list, tuple)):
        charts = [charts]
    svgs = "".join(chart_html(c) for c in charts)
    return (
        f'<section id="diagnostics"><h2>Diagnostics of model {number}</h2>'
        f'<div class="charts">{svgs}</div></section>'
    )


# ---------------------------------------------------------------------------------------
def report(
    *results: Any,
    path: str | Path | None = None,
    title: str | None = None,
    explorer: bool = True,
    diagnostics: bool = True,
    theme: str = "light",
    paper: bool = True,
) -> str:
    """A self-contained offline HTML report of one or more fitted models.

    Parameters
    ----------
    *results : MixedModelResult
        Models in the order to compare them (e.g. empty, random slope, cross-level).
    path : str or Path, optional
        Write the report to this file (UTF-8) as well as returning it.
    title : str, optional
        Page title (default: the response and the number of models).
    explorer : bool
        Include the interactive explorer of every model.
    diagnostics : bool
        Include diagnostic charts (inline SVG) of the last model.
    theme : {"light", "dark", "auto"}
        Colour theme of the explorers.
    paper : bool
        Include "For the paper": the table of the models, methods paragraphs and LaTeX
        equations, each with a copy button.

    Returns
    -------
    str
        The HTML page (an :class:`~mlm_jupyter.frames.HTMLPage`: as the last line of a cell
        it shows its size and file instead of the markup).
    """
    from ..results import MixedModelResult

    if not results:
        raise ValueError("report() needs at least one fitted model: mlm.report(res, path=...).")
    for k, res in enumerate(results, start=1):
        if not isinstance(res, MixedModelResult):
            raise TypeError(
                f"argument {k} of report() is a {type(res).__name__}, not a fitted model; "
                "pass results of mlm.fit(...)."
            )
    first = results[0]
    if title is None:
        response = first.formula.split("~")[0].strip()
        title = f"Multilevel models of {response}" if len(results) > 1 else first.formula
    nav = "".join(f'<a href="#model-{k}">Model {k}</a>' for k in range(1, len(results) + 1))
    if len(results) > 1:
        nav += '<a href="#comparison">Comparison</a>'
    if paper:
        nav += '<a href="#paper">For the paper</a>'
    if diagnostics:
        nav += '<a href="#diagnostics">Diagnostics</a>'
    from .. import __version__

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"<header><h1>{esc(title)}</h1>",
        f'<p class="meta">{len(results)} model{"s" if len(results) > 1 else ""}, '
        f"made {stamp} with mlm_jupyter {esc(__version__)}.</p>",
        f'<nav><a href="#data">Data</a>{nav}</nav></header>',
        _data_section(first, results),
    ]
    body += [_model_section(k, r, explorer, theme) for k, r in enumerate(results, start=1)]
    if len(results) > 1:
        body.append(_comparison_section(results))
    if paper:
        from .paper.report_section import paper_section

        body.append(paper_section(results))
    if diagnostics:
        body.append(_diagnostics_section(results[-1], len(results)))
    body.append("<footer>Self-contained report: no part of this page is loaded from the "
                "network.</footer>")
    page = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_PAGE_CSS}</style>"
        f"{bundle_html() if explorer else ''}</head>"
        f"<body><main>{''.join(body)}</main></body></html>"
    )
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    from ..frames import HTMLPage

    return HTMLPage(page, None if path is None else str(path))

"""Text, notebook HTML and report page of a model pooled over multiple imputations.

The tables are lme4's (from :mod:`.tables`, so numbers read as in a single fit's summary)
with the pooled estimates: averaged variance components, and fixed effects with
Barnard-Rubin df plus two columns a single fit lacks, RIV (relative increase in variance
due to missing data) and FMI (fraction of missing information).  Every display says m and
the pooling rules.  All user text is escaped; nothing loads from the network.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from .html import table_html, wrap
from .rformat import STARS_LEGEND, format_r, round_r
from .tables import DIGITS, Table, fixed_effects_table, random_effects_table

if TYPE_CHECKING:  # pragma: no cover
    from ..pooling import PooledResult


def pooling_rules(pooled: PooledResult) -> str:
    """One sentence: what was pooled, how, with which df."""
    df_com = pooled.df_com
    df_text = (f"Barnard-Rubin df (complete-data df {df_com:g})" if df_com != float("inf")
               else "Rubin's (1987) large-sample df")
    return (f"Pooled over m = {pooled.m} imputed data sets: fixed effects by Rubin's rules "
            f"(mean estimate; total variance T = W + (1 + 1/m) B, W within, B between "
            f"imputations) with {df_text}; variance components averaged over the imputations.")


def title(pooled: PooledResult) -> str:
    method = "REML" if pooled.reml else "maximum likelihood"
    return f"Linear mixed model fit by {method}, pooled over m = {pooled.m} imputations"


def pooled_fixed_table(pooled: PooledResult) -> Table:
    """lme4's fixed-effects block of the pooled estimates, with RIV and FMI columns."""
    fixed = fixed_effects_table(pooled)  # type: ignore[arg-type]
    riv = format_r(round_r(pooled.coef_table["riv"].tolist(), DIGITS), DIGITS)
    fmi = format_r(round_r(pooled.coef_table["fmi"].tolist(), DIGITS), DIGITS)
    cut = 5  # Estimate, Std. Error, df, t value, Pr(>|t|); then the stars column, if any
    cells = tuple(row[:cut] + (r, f) + row[cut:]
                  for row, r, f in zip(fixed.cells, riv, fmi, strict=True))
    numeric = fixed._numeric()
    return Table(
        columns=fixed.columns[:cut] + ("RIV", "FMI") + fixed.columns[cut:],
        row_labels=fixed.row_labels,
        cells=cells,
        right=True,
        frame=pooled.coef_table,
        notes=fixed.notes,
        numeric=numeric[:cut] + (True, True) + numeric[cut:],
    )


def pooled_text(pooled: PooledResult) -> str:
    """Plain-text summary (lme4's layout, pooled numbers)."""
    groups = "; ".join(f"{g}, {n}" for g, n in pooled.ngroups.items())
    out = [
        title(pooled),
        f"Formula: {pooled.formula}",
        "",
        textwrap.fill(pooling_rules(pooled), width=88),
        "",
        "Random effects (averaged over imputations):",
        random_effects_table(pooled).to_text(),  # type: ignore[arg-type]
        f"Number of obs: {pooled.nobs}, groups:  {groups}",
        "",
        "Fixed effects (pooled):",
        pooled_fixed_table(pooled).to_text(),
    ]
    out += list(pooled.messages)
    return "\n".join(out)


def _per_imputation_html(pooled: PooledResult) -> str:
    est = pooled.estimates
    rows = "".join(
        f"<tr><th>{k}</th>" + "".join(
            f'<td class="mlmj-r mlmj-num">{escape(s.strip())}</td>'
            for s in format_r(est.loc[k].tolist(), DIGITS + 2)) + "</tr>"
        for k in est.index)
    head = "".join(f'<th class="mlmj-r">{escape(str(c))}</th>' for c in est.columns)
    return (f'<table class="mlmj-table"><caption>Fixed effects by imputation</caption>'
            f"<thead><tr><th>imputation</th>{head}</tr></thead><tbody>{rows}</tbody></table>")


def pooled_html(pooled: PooledResult) -> str:
    """Notebook HTML: title, pooling rules, messages, random and fixed effects, details."""
    groups = ", ".join(f"{escape(str(g))}: {n}" for g, n in pooled.ngroups.items())
    head = (
        f'<div class="mlmj-head"><div class="mlmj-title">{escape(title(pooled))}</div>'
        f'<code class="mlmj-formula">{escape(pooled.formula)}</code>'
        f'<div class="mlmj-meta">{pooled.nobs} observations &middot; groups {groups}</div></div>'
    )
    parts = [head, f'<div class="mlmj-box mlmj-info">{escape(pooling_rules(pooled))}</div>']
    parts += [f'<div class="mlmj-box" role="alert">{escape(m)}</div>' for m in pooled.messages]
    parts.append("<h4>Random effects (averaged over imputations)</h4>"
                 + table_html(random_effects_table(pooled), group_rules=True))  # type: ignore[arg-type]
    fixed = pooled_fixed_table(pooled)
    legend = (f'<div class="mlmj-note">{escape(" ".join(STARS_LEGEND.split("  ", 1)))}</div>'
              if fixed.notes else "")
    parts.append("<h4>Fixed effects (pooled)</h4>" + table_html(fixed) + legend)
    parts.append(
        '<div class="mlmj-note">RIV: relative increase in variance due to missing data, '
        "(1 + 1/m) B / W. FMI: fraction of missing information.</div>"
    )
    parts.append("<details><summary>Estimates by imputation and lme4-style text</summary>"
                 + _per_imputation_html(pooled)
                 + f"<pre>{escape(pooled_text(pooled))}</pre></details>")
    return wrap("".join(parts), "mlmj-summary")


def pooled_report(pooled: PooledResult, path: str | Path | None = None,
                  title: str | None = None) -> str:
    """A self-contained HTML page of a pooled model (no scripts, nothing from the network)."""
    from .. import __version__
    from .report import _PAGE_CSS

    heading = title or f"{pooled.formula} (m = {pooled.m} imputations)"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    vc = [r.varcorr["vcov"].to_numpy() for r in pooled.results]
    labels = [" | ".join(str(x) for x in (g, a, b) if isinstance(x, str) and x)
              for g, a, b in pooled.varcorr[["group", "var1", "var2"]].itertuples(index=False)]
    rows = "".join(
        f"<tr><th>{k}</th>" + "".join(f"<td>{escape(s.strip())}</td>"
                                      for s in format_r(list(v), DIGITS + 1)) + "</tr>"
        for k, v in enumerate(vc, start=1))
    vc_table = ('<div class="table-wrap"><table class="mlm-table"><thead><tr><th>imputation</th>'
                + "".join(f"<th>{escape(lab)}</th>" for lab in labels)
                + f"</tr></thead><tbody>{rows}</tbody></table></div>")
    body = (
        f"<header><h1>{escape(heading)}</h1><p class=\"meta\">Pooled over m = {pooled.m} "
        f"imputed data sets, made {stamp} with mlm_jupyter {escape(__version__)}.</p></header>"
        f"<section id=\"pooled\"><h2>Pooled model</h2>{pooled_html(pooled)}</section>"
        "<section id=\"imputations\"><h2>Variance components by imputation</h2>"
        f"<p class=\"meta\">vcov of every varcorr row in each imputation's fit.</p>{vc_table}"
        "</section><footer>Self-contained report: no part of this page is loaded from the "
        "network.</footer>"
    )
    page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(heading)}</title><style>{_PAGE_CSS}</style></head>"
            f"<body><main>{body}</main></body></html>")
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page

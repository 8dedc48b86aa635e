"""HTML display of a fit: warnings first, then lme4's tables, fit statistics and advice.

Self-contained (one scoped ``<style>``; no scripts, no network), readable in JupyterLab's
light and dark themes and in VS Code: colours come from JupyterLab's ``--jp-*`` variables
with fallbacks that inherit the surrounding text colour, and tinted backgrounds are
translucent so they work on any background.  Every piece of user text (formula, column and
level names, messages) goes through :func:`html.escape`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import pandas as pd

from .rformat import STARS_LEGEND, format_r
from .tables import (
    Table,
    coefficient_frame,
    ddf_label,
    fixed_correlation_table,
    fixed_effects_table,
    random_effects_table,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..results import MixedModelResult

#: Root class of every block this module writes; all CSS rules are scoped under it.
ROOT = "mlmj-view"

CSS = f"""
.{ROOT} {{ font-family: var(--jp-ui-font-family, system-ui, -apple-system, "Segoe UI", sans-serif);
  font-size: var(--jp-ui-font-size1, 13px); line-height: 1.45;
  color: var(--jp-content-font-color1, inherit); max-width: 62em; }}
.{ROOT} .mlmj-head {{ margin: 0 0 .4em 0; }}
.{ROOT} .mlmj-title {{ font-weight: 600; font-size: 1.08em; }}
.{ROOT} code, .{ROOT} .mlmj-num {{
  font-family: var(--jp-code-font-family, ui-monospace, Menlo, Consolas, monospace);
  font-size: var(--jp-code-font-size, 12.5px); }}
.{ROOT} code.mlmj-formula {{ background: rgba(127,127,127,.13); padding: 1px 5px;
  border-radius: 3px;
  color: inherit; white-space: pre-wrap; }}
.{ROOT} .mlmj-meta {{ color: var(--jp-content-font-color2, inherit); opacity: .9;
  margin-top: .15em; }}
.{ROOT} h4 {{ font-size: 1em; font-weight: 600; margin: .9em 0 .25em 0; padding: 0;
  color: inherit; }}
.{ROOT} table.mlmj-table {{ border-collapse: collapse; margin: 0; border: none;
  font-size: inherit; table-layout: auto; color: inherit; }}
.{ROOT} table.mlmj-table caption {{ text-align: left; font-weight: 600; padding: .2em 0;
  color: inherit; }}
.{ROOT} table.mlmj-table th, .{ROOT} table.mlmj-table td {{ padding: 2px 10px; border: none;
  color: inherit; background: transparent; vertical-align: baseline; text-align: left;
  white-space: nowrap; }}
.{ROOT} table.mlmj-table thead th {{ font-weight: 600;
  border-bottom: 1px solid var(--jp-border-color1, rgba(127,127,127,.6)); }}
.{ROOT} table.mlmj-table tbody tr:nth-child(even) {{ background: rgba(127,127,127,.07); }}
.{ROOT} table.mlmj-table tbody tr:hover {{ background: rgba(127,127,127,.16); }}
.{ROOT} table.mlmj-table th.mlmj-r, .{ROOT} table.mlmj-table td.mlmj-r {{ text-align: right;
  font-variant-numeric: tabular-nums; }}
.{ROOT} table.mlmj-table td.mlmj-stars {{ padding-left: 2px; font-weight: 600;
  color: var(--jp-brand-color1, inherit); }}
.{ROOT} table.mlmj-table tr.mlmj-groupstart td {{ border-top: 1px solid rgba(127,127,127,.25); }}
.{ROOT} .mlmj-note {{ color: var(--jp-content-font-color2, inherit); opacity: .85; font-size: .92em;
  margin-top: .2em; }}
.{ROOT} .mlmj-box {{ border-left: 4px solid var(--jp-warn-color1, #e08600);
  background: rgba(255,160,0,.13); padding: .35em .8em; margin: .35em 0; border-radius: 2px; }}
.{ROOT} .mlmj-box.mlmj-error {{ border-left-color: var(--jp-error-color1, #d32f2f);
  background: rgba(230,60,60,.12); }}
.{ROOT} .mlmj-box.mlmj-info {{ border-left-color: var(--jp-info-color1, #1e88e5);
  background: rgba(30,136,229,.10); }}
.{ROOT} .mlmj-box b {{ font-weight: 600; }}
.{ROOT} .mlmj-box pre {{ margin: .3em 0; white-space: pre; overflow-x: auto;
  background: transparent;
  color: inherit; font-family: var(--jp-code-font-family, ui-monospace, monospace); }}
.{ROOT} .mlmj-stats {{ display: flex; flex-wrap: wrap; gap: .2em 1.4em; }}
.{ROOT} .mlmj-stats span b {{ font-weight: 600; }}
.{ROOT} ul.mlmj-advice {{ margin: .2em 0; padding-left: 1.3em; }}
.{ROOT} ul.mlmj-advice li {{ margin: .2em 0; }}
.{ROOT} .mlmj-kind {{ font-size: .85em; padding: 0 5px; border-radius: 3px; margin-right: .4em;
  background: rgba(127,127,127,.18); }}
.{ROOT} details {{ margin-top: .6em; }}
.{ROOT} details summary {{ cursor: pointer; color: var(--jp-content-font-color2, inherit); }}
.{ROOT} details pre {{ font-size: var(--jp-code-font-size, 12px); background: rgba(127,127,127,.08);
  padding: .5em; overflow-x: auto; color: inherit; }}
"""


def wrap(body: str, extra_class: str = "") -> str:
    """A self-contained block: the scoped stylesheet plus ``body`` inside the root class."""
    cls = f"{ROOT} {extra_class}".strip()
    return f'<div class="{cls}"><style>{CSS}</style>{body}</div>'


# -- tables -----------------------------------------------------------------------------------
def table_html(table: Table, caption: str | None = None, group_rules: bool = False) -> str:
    """A :class:`~.tables.Table` as an HTML table with the same strings as the text summary."""
    numeric = table._numeric()
    head = "".join(
        f'<th class="{"mlmj-r" if n else ""}">{escape(c)}</th>'
        for c, n in zip(table.columns, numeric, strict=False)
    )
    has_labels = any(table.row_labels)
    label_head = "<th></th>" if has_labels else ""
    rows = []
    for i, (label, cells) in enumerate(zip(table.row_labels, table.cells, strict=False)):
        tds = []
        for c, n, name in zip(cells, numeric, table.columns, strict=False):
            cls = "mlmj-r mlmj-num" if n else ("mlmj-stars" if name == "" and not n else "")
            tds.append(f'<td class="{cls}">{escape(c.strip())}</td>')
        row_cls = ' class="mlmj-groupstart"' if group_rules and i > 0 and cells[0].strip() else ""
        label_td = f"<th>{escape(label)}</th>" if has_labels else ""
        rows.append(f"<tr{row_cls}>{label_td}{''.join(tds)}</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="mlmj-table">{cap}<thead><tr>{label_head}{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def html_table(df: pd.DataFrame, caption: str | None = None, digits: int = 4) -> str:
    """Any DataFrame (comparison tables, influence tables, ...) as a themed, escaped HTML table.

    Numeric columns are formatted together with R's ``format(x, digits = 4)`` rule and
    right-aligned; everything else is escaped text.
    """
    columns = [str(c) for c in df.columns]
    cells: list[list[str]] = [[] for _ in range(len(df))]
    numeric = []
    for col in df.columns:
        values = df[col]
        is_num = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        numeric.append(is_num)
        if is_num:
            floats = values.astype(float).tolist()
            if pd.api.types.is_integer_dtype(values):
                shown = [str(int(v)) for v in floats]
            else:
                shown = format_r(floats, digits)
            shown = ["" if math.isnan(v) else s for v, s in zip(floats, shown, strict=False)]
        else:
            shown = [
                "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                for v in values
            ]
        for i, s in enumerate(shown):
            cells[i].append(s)
    table = Table(
        columns=tuple(columns),
        row_labels=tuple(str(i) for i in df.index),
        cells=tuple(tuple(r) for r in cells),
        right=True,
        frame=df,
        numeric=tuple(numeric),
    )
    return wrap(table_html(table, caption))


# -- advice, findings, messages ---------------------------------------------------------------
def items_html(items: Iterable[Any], title: str | None = None) -> str:
    """Advice / check findings as a list: a plain title, the message, what to try.

    Advice has ``title``, ``message`` and ``suggestion`` (a formula is shown as code to copy);
    check findings have ``check``, ``finding``, ``look_at`` and ``severity``.
    """
    lis = []
    for item in items:
        if hasattr(item, "finding"):
            label = {"ok": "ok", "note": "note", "warning": "warning"}.get(item.severity,
                                                                          item.severity)
            message = f"{item.check}: {item.finding}"
            suggestion, prefix = item.look_at, "Look at: "
        else:
            label = getattr(item, "title", "") or str(getattr(item, "kind", "")).replace("_",
                                                                                     " ")
            message = getattr(item, "message", None) or str(item)
            suggestion, prefix = getattr(item, "suggestion", ""), "Then: "
        kind_html = f'<span class="mlmj-kind">{escape(label)}</span>' if label else ""
        sugg = escape(str(suggestion))
        if "~" in str(suggestion):  # a model to fit instead: show it as code to copy
            sugg = f'Try: <code class="mlmj-formula">{sugg}</code>'
        elif suggestion:
            sugg = f"{escape(prefix)}<code>{sugg}</code>" if "(" in str(suggestion) else (
                f"{escape(prefix)}{sugg}")
        sugg_html = f'<div class="mlmj-note">{sugg}</div>' if suggestion else ""
        lis.append(f"<li>{kind_html}{escape(str(message))}{sugg_html}</li>")
    if not lis:
        return ""
    head = f"<h4>{escape(title)}</h4>" if title else ""
    return f'{head}<ul class="mlmj-advice">{"".join(lis)}</ul>'


def advice_html(items: Iterable[Any], title: str = "Advice") -> str:
    """A standalone block for ``res.advice()`` or ``res.check()`` lists."""
    return wrap(
        items_html(items, title)
        or f'<div class="mlmj-note">{escape(title or "Advice")}: nothing to report.</div>'
    )


#: What to do for messages that do not say it themselves (the data-intake notes).
_WHAT_TO_DO = {
    "missing": (
        "Rows dropped",
        "Rows with missing values in the model's variables were left out; check that this "
        "is intended (the number of observations below counts only the rows used).",
    ),
    "rank": (
        "Columns dropped",
        "Some fixed-effect columns are combinations of others and were left out, as lme4 "
        "does; check the formula for duplicated or constant variables.",
    ),
}


def _classify(message: str) -> tuple[str, str, str]:
    """(title, message without its title, what to do) of one fit message."""
    from ..messages import CONVERGENCE_TITLE, SINGULAR_TITLE, split_title

    title, rest = split_title(message)
    if title:
        return title, rest, ""
    low = message.lower()
    if "singular" in low:
        return SINGULAR_TITLE, message, ""
    if "converge" in low or "gradient" in low:
        return CONVERGENCE_TITLE, message, ""
    if "missing" in low or ("dropped" in low and "row" in low) or "removed" in low:
        return (*_WHAT_TO_DO["missing"][:1], message, _WHAT_TO_DO["missing"][1])
    if "rank deficient" in low:
        return (*_WHAT_TO_DO["rank"][:1], message, _WHAT_TO_DO["rank"][1])
    return "Note", message, ""


def warnings_html(res: MixedModelResult, ddf: str = "satterthwaite") -> str:
    """The fit's messages (singular, convergence, dropped rows, df), each with what to do."""
    from .tables import display_messages

    boxes = []
    for message in display_messages(res, ddf):
        title, text, todo = _classify(message)
        todo_html = f'<div class="mlmj-note">{escape(todo)}</div>' if todo else ""
        colon = "" if text.startswith("(") else ":"  # "Singular fit (what was checked): ..."
        boxes.append(
            f'<div class="mlmj-box" role="alert"><b>{escape(title)}{colon}</b> {escape(text)}'
            f"{todo_html}</div>"
        )
    return "".join(boxes)


# -- the summary ------------------------------------------------------------------------------
def _stats_html(res: MixedModelResult) -> str:
    if res.reml:
        parts = [("REML criterion", format_r([res.objective], 7)[0])]
    else:
        parts = [
            ("AIC", format_r([res.aic], 7)[0]),
            ("BIC", format_r([res.bic], 7)[0]),
            ("logLik", format_r([res.loglik], 7)[0]),
            ("deviance", format_r([res.objective], 7)[0]),
        ]
    parts.append(("df.resid", str(res.nobs - res.npar)))
    if not res.converged:
        # A variance ratio from estimates the optimiser did not settle is not a finding.
        parts.append(("ICC (adjusted)", "not shown: the fit did not converge"))
    else:
        try:
            icc = res.icc()
            parts.append(("ICC (adjusted)", format_r([float(icc.iloc[0])], 3)[0]))
        except Exception:  # effects module absent or ICC undefined for this model
            pass
    spans = "".join(
        f'<span>{escape(k)}: <b class="mlmj-num">{escape(v)}</b></span>' for k, v in parts
    )
    return f'<h4>Fit</h4><div class="mlmj-stats">{spans}</div>'


def _advice_section(res: MixedModelResult) -> str:
    try:
        items = res.advice()
    except ImportError:  # the advisor is optional for the display
        return ""
    return items_html(items, "Advice")


def result_html(
    res: MixedModelResult,
    data_name: str | None = None,
    ddf: str = "satterthwaite",
    advice: bool = True,
) -> str:
    """HTML summary of a fit for notebooks (``MixedModelResult._repr_html_``).

    Parameters
    ----------
    res : MixedModelResult
    data_name : str, optional
        Name of the data frame, shown next to the formula.
    ddf : {"satterthwaite", "kenward-roger"}
        Denominator df of the fixed-effects t tests.
    advice : bool
        Append ``res.advice()`` (when the advisor is available).

    Returns
    -------
    str
        Warnings at the top, then random effects (variances τ, σ², SDs, correlations), fixed
        effects (γ, SE, df, t, p, marks), fit statistics, advice, and the plain-text summary in
        a collapsed section.
    """
    from .text import summary_text

    _, has_tests = coefficient_frame(res, ddf)
    method = "REML" if res.reml else "maximum likelihood"
    tests = f"; t-tests use {ddf_label(ddf)}'s method" if has_tests else ""
    groups = ", ".join(f"{escape(str(g))}: {n}" for g, n in res.ngroups.items())
    data = f" &middot; data <code>{escape(data_name)}</code>" if data_name else ""
    head = (
        f'<div class="mlmj-head"><div class="mlmj-title">Linear mixed model fit by {method}</div>'
        f'<code class="mlmj-formula">{escape(res.formula)}</code>'
        f'<div class="mlmj-meta">{res.nobs} observations &middot; groups {groups}{data}'
        f"{escape(tests)}</div></div>"
    )
    parts = [head, warnings_html(res, ddf)]
    parts.append(
        "<h4>Random effects</h4>" + table_html(random_effects_table(res), group_rules=True)
    )
    fixed = fixed_effects_table(res, ddf)
    legend = (
        f'<div class="mlmj-note">{escape(" ".join(STARS_LEGEND.split("  ", 1)))}</div>'
        if fixed.notes
        else ""
    )
    parts.append("<h4>Fixed effects</h4>" + table_html(fixed) + legend)
    parts.append(_stats_html(res))
    if advice:
        parts.append(_advice_section(res))
    corr = fixed_correlation_table(res)
    details = [f"<pre>{escape(summary_text(res, data_name=data_name, ddf=ddf))}</pre>"]
    if corr is not None:
        details.insert(0, table_html(corr, caption="Correlation of fixed effects"))
    parts.append(
        "<details><summary>Correlation of fixed effects and lme4-style text</summary>"
        + "".join(details)
        + "</details>"
    )
    return wrap("".join(parts), "mlmj-summary")


def error_html(title: str, message: str, where: str = "", todo: str = "", detail: str = "") -> str:
    """A short formatted error for notebook cells: what is wrong, where, what to do."""
    where_html = f"<pre>{escape(where)}</pre>" if where else ""
    todo_html = f'<div class="mlmj-note">{escape(todo)}</div>' if todo else ""
    detail_html = (
        f"<details><summary>Traceback</summary><pre>{escape(detail)}</pre></details>"
        if detail
        else ""
    )
    return wrap(
        f'<div class="mlmj-box mlmj-error" role="alert"><b>{escape(title)}:</b> {escape(message)}'
        f"{where_html}{todo_html}</div>{detail_html}",
        "mlmj-message",
    )


def comparison_html(table: pd.DataFrame, caption: str = "Model comparison") -> str:
    """``mlm.compare`` tables (likelihood-ratio tests) as HTML."""
    return html_table(table, caption)


def join_blocks(blocks: Sequence[str]) -> str:
    """Several rendered blocks in one output."""
    return "".join(blocks)

"""HTML display of a GLMM fit (``GLMMResult._repr_html_``): the LMM's layout and tables,
with the family, Wald z tests, ratios exp(β) and latent-scale effect sizes."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import pandas as pd

from ..display.html import html_table, table_html, warnings_html, wrap
from ..display.rformat import STARS_LEGEND, format_r
from ..display.tables import fixed_correlation_table, fixed_effects_table, random_effects_table
from .summary import family_line, method_line, summary_text

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult


def _stats(res: GLMMResult) -> str:
    parts = [("AIC", res.aic), ("BIC", res.bic), ("logLik", res.loglik),
             ("deviance", res.objective)]
    cells = [(k, format_r([v], 7)[0]) for k, v in parts]
    cells.append(("df.resid", str(res.df_resid)))
    try:
        icc, r2 = res.icc(), res.r2()
        cells += [("ICC (latent, adjusted)", format_r([float(icc["adjusted"])], 3)[0]),
                  ("R² marginal", format_r([float(r2["marginal"])], 3)[0]),
                  ("R² conditional", format_r([float(r2["conditional"])], 3)[0])]
    except (ValueError, FloatingPointError, ArithmeticError):
        pass  # an effect size that is undefined for this model is left out
    if res.link in ("logit", "log"):
        for group, value in res.median_odds_ratio().items():
            label = "MOR" if res.link == "logit" else "MRR"
            cells.append((f"{label} ({group})", format_r([value], 3)[0]))
    spans = "".join(f'<span>{escape(k)}: <b class="mlmj-num">{escape(v)}</b></span>'
                    for k, v in cells)
    return f'<h4>Fit</h4><div class="mlmj-stats">{spans}</div>'


def _ratios(res: GLMMResult) -> str:
    try:
        table = res.ratios()
    except ValueError:
        return ""
    kind = table.attrs["kind"].replace("_", " ")
    shown = pd.DataFrame({kind: table["ratio"], "2.5 %": table["lower"],
                          "97.5 %": table["upper"]}, index=table.index)
    return f"<h4>{escape(kind.capitalize())}s (exp of the estimates)</h4>" + html_table(shown)


def glmm_result_html(res: GLMMResult, data_name: str | None = None) -> str:
    """HTML summary: warnings, random effects, fixed effects (z tests), ratios, statistics,
    and glmer's text summary in a collapsed section.  All user text is escaped."""
    groups = ", ".join(f"{escape(str(g))}: {n}" for g, n in res.ngroups.items())
    data = f" &middot; data <code>{escape(data_name)}</code>" if data_name else ""
    title = method_line(res).replace(" ['glmerMod']", "")
    head = (
        f'<div class="mlmj-head"><div class="mlmj-title">{escape(title)}</div>'
        f'<code class="mlmj-formula">{escape(res.formula)}</code>'
        f'<div class="mlmj-meta">{escape(family_line(res).strip())} &middot; {res.nobs} '
        f"observations &middot; groups {groups}{data} &middot; Wald z tests</div></div>"
    )
    parts = [head, warnings_html(res),
             "<h4>Random effects (link scale)</h4>"
             + table_html(random_effects_table(res), group_rules=True)]
    fixed = fixed_effects_table(res)
    legend = (f'<div class="mlmj-note">{escape(" ".join(STARS_LEGEND.split("  ", 1)))}</div>'
              if fixed.notes else "")
    parts.append("<h4>Fixed effects (link scale)</h4>" + table_html(fixed) + legend)
    parts.append(_ratios(res))
    parts.append(_stats(res))
    corr = fixed_correlation_table(res)
    details = [f"<pre>{escape(summary_text(res, data_name=data_name))}</pre>"]
    if corr is not None:
        details.insert(0, table_html(corr, caption="Correlation of fixed effects"))
    parts.append("<details><summary>Correlation of fixed effects and glmer-style text"
                 "</summary>" + "".join(details) + "</details>")
    return wrap("".join(parts), "mlmj-summary")

"""``res.equations(format)`` for every kind of result: the model's Raudenbush-Bryk equations
(:mod:`..equations`) as text, LaTeX or HTML; a Bayesian fit adds its priors, a pooled
result shows the model its m fits share."""

from __future__ import annotations

from html import escape
from typing import Any

FORMATS = ("text", "latex", "html")


def _priors(res: Any) -> list[tuple[str, str]]:
    table = res.priors
    return [(str(p), "flat" if d == "(flat)" else str(d))
            for p, d in zip(table["parameter"], table["prior"], strict=True)]


def equations(res: Any, format: str = "text") -> str:
    """The model in Raudenbush-Bryk notation: ``format`` "text", "latex" or "html"."""
    from ...pooling import PooledResult
    from ..equations import model_equations
    from .render_latex import escape_latex

    if format not in FORMATS:
        raise ValueError(f"format must be 'text', 'latex' or 'html', not {format!r}.")
    if isinstance(res, PooledResult):
        return equations(res.results[0], format)
    eq = model_equations(res)
    out = {"text": eq.to_text, "latex": eq.to_latex, "html": eq._repr_html_}[format]()
    if getattr(res, "method", None) != "bayes":
        return out
    priors = _priors(res)
    items = [f"{p} ~ {d}" for p, d in priors]
    if format == "text":
        return out + "\n          Priors: " + ";  ".join(items)
    if format == "latex":  # two priors to a line
        tex = [rf"\text{{{escape_latex(p)}}} \sim \text{{{escape_latex(d)}}}" for p, d in priors]
        lines = [r",\quad ".join(tex[k:k + 2]) for k in range(0, len(tex), 2)]
        rows = [(r"\text{Priors:}\quad" if k == 0 else "") + f" & {line}"
                for k, line in enumerate(lines)]
        return out.replace("\n\\end{aligned}", " \\\\\n" + " \\\\\n".join(rows)
                           + "\n\\end{aligned}")
    row = ("<tr><th style='text-align:left;padding-right:1em;font-weight:600'>Priors</th>"
           f"<td style='text-align:left'>{escape('; '.join(items))}</td></tr>")
    return out.replace("</table>", row + "</table>")


"""A paper table as LaTeX with booktabs rules (``\\toprule``, ``\\midrule``, ``\\cmidrule``,
``\\bottomrule``) inside a ``table`` float, the note in a footnote-size block under it.

Needs only ``\\usepackage{booktabs}`` (sub- and superscripts use the kernel's
``\\textsubscript``/``\\textsuperscript``).  Every LaTeX special character of user text
(``\\ & % $ # _ { } ~ ^ < >``) is escaped; the Greek letters and symbols of the labels become
math-mode commands so the table compiles with pdflatex; minus signs of numbers are math
minus signs.
"""

from __future__ import annotations

import re

from .layout import Grid, Row
from .richtext import Rich

_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "σ": r"$\sigma$",
    "τ": r"$\tau$",
    "ρ": r"$\rho$",
    "β": r"$\beta$",
    "γ": r"$\gamma$",
    "×": r"$\times$",
    "±": r"$\pm$",
    "−": r"$-$",
    "≤": r"$\leq$",
    "≥": r"$\geq$",
    "–": "--",
    "—": "---",
    "²": r"\textsuperscript{2}",
}
_SUB_DIGITS = dict(zip("₀₁₂₃₄₅₆₇₈₉", "0123456789", strict=True))
_WRAP = {"sub": r"\textsubscript{", "sup": r"\textsuperscript{", "italic": r"\textit{",
         "bold": r"\textbf{"}
_MINUS = re.compile(r"-(?=[\d.])")


def escape_latex(text: str) -> str:
    out = []
    for char in text:
        if char in _SUB_DIGITS:
            out.append(r"\textsubscript{" + _SUB_DIGITS[char] + "}")
        else:
            out.append(_ESCAPES.get(char, char))
    return "".join(out)


def rich_latex(text: Rich, numbers: bool = False) -> str:
    """LaTeX of rich text; ``numbers``: minus signs become math minus signs."""
    out = []
    for span in text:
        body = escape_latex(span.text)
        if numbers:
            body = _MINUS.sub(r"$-$", body)
        wrap = _WRAP.get(span.style)
        out.append(wrap + body + "}" if wrap else body)
    return "".join(out)


def _row(row: Row, width: int, numbers: bool) -> str:
    if row.kind == "section":
        return rf"\multicolumn{{{width + 1}}}{{@{{}}l}}{{\textit{{{rich_latex(row.label)}}}}} \\"
    cells = [rich_latex(row.label)]
    for cell in row.cells:
        text = rich_latex(cell.text, numbers=numbers)
        cells.append(rf"\multicolumn{{{cell.span}}}{{c}}{{{text}}}" if cell.span > 1 else text)
    return " & ".join(cells) + r" \\"


def to_latex(grid: Grid) -> str:
    """The table as a LaTeX ``table`` float (needs ``\\usepackage{booktabs}``)."""
    width = grid.width
    lines = [
        r"% mlm_jupyter model table; needs \usepackage{booktabs}",
        r"\begin{table}[htbp]",
        r"\centering",
    ]
    if grid.title:
        lines.append(rf"\caption{{{escape_latex(grid.title)}}}")
    lines += [r"\begin{tabular}{@{}l" + "c" * width + "@{}}", r"\toprule"]
    for i, row in enumerate(grid.head):
        lines.append(_row(row, width, numbers=False))
        if i == 0 and len(grid.head) > 1:
            start, rules = 2, []
            for span in grid.model_spans:
                rules.append(rf"\cmidrule(lr){{{start}-{start + span - 1}}}")
                start += span
            lines.append(" ".join(rules))
    lines.append(r"\midrule")
    for k, row in enumerate(grid.body):
        if row.kind == "section" and k > 0:
            lines.append(r"\addlinespace")
        lines.append(_row(row, width, numbers=True))
    lines += [r"\bottomrule", r"\end{tabular}"]
    if grid.notes:
        lines += [
            r"\par\medskip",
            r"\begin{minipage}{\linewidth}\footnotesize",
            (r" \\" + "\n").join(rich_latex(n) for n in grid.notes),
            r"\end{minipage}",
        ]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"

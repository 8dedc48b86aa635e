"""A paper table as a Markdown pipe table (GitHub, Quarto, pandoc, Jupyter).

Pipe tables have one header row and no spanning cells, so: the header row holds the model
names (in each model's first column), the statistic names follow as the first, bold body row;
a value spanning a model's columns (a variance, a count) sits in its first column; section
titles are bold in the label column.  Sub- and superscripts become Unicode (τ₀₀, σ²), italics
``*p*``, and every Markdown character of user text is escaped.
"""

from __future__ import annotations

import re

from .layout import Grid, Row
from .richtext import Rich, plain_text

_SPECIAL = re.compile(r"([\\`*_<>|~])")
_LINK = re.compile(r"\](?=[(\[])")


def escape_markdown(text: str) -> str:
    """Backslash-escape what Markdown would read as markup (emphasis, code, HTML, cell
    separators, a link's ``](``); brackets of intervals stay readable."""
    return _LINK.sub(r"\\]", _SPECIAL.sub(r"\\\1", text))


def rich_markdown(text: Rich) -> str:
    out = []
    for span in text:
        if span.style in ("sub", "sup"):
            shown = plain_text((span,))
            out.append(escape_markdown(shown))
        elif span.style == "italic":
            out.append(f"*{escape_markdown(span.text)}*")
        elif span.style == "bold":
            out.append(f"**{escape_markdown(span.text)}**")
        else:
            out.append(escape_markdown(span.text))
    return "".join(out)


def _cells(row: Row) -> list[str]:
    out = []
    for cell in row.cells:
        out.append(rich_markdown(cell.text))
        out += [""] * (cell.span - 1)
    return out


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(c if c else " " for c in cells) + " |"


def to_markdown(grid: Grid) -> str:
    """The table as Markdown text (caption as a bold line above it, notes below)."""
    width = grid.width
    lines = []
    if grid.title:
        lines += [f"**{escape_markdown(grid.title)}**", ""]
    head = grid.head[0]
    lines.append(_line([""] + _cells(head)))
    lines.append("|:---|" + "|".join(":---:" for _ in range(width)) + "|")
    for row in grid.head[1:]:
        cells = [f"**{c}**" if c else c for c in _cells(row)]
        lines.append(_line([rich_markdown(row.label)] + cells))
    for row in grid.body:
        if row.kind == "section":
            lines.append(_line([f"**{rich_markdown(row.label)}**"] + [""] * width))
        else:
            lines.append(_line([rich_markdown(row.label)] + _cells(row)))
    if grid.notes:
        lines.append("")
        lines += [rich_markdown(n) + "  " for n in grid.notes]
        lines[-1] = lines[-1].rstrip()
    return "\n".join(lines) + "\n"

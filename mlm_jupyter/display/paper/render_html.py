"""A paper table as HTML: one ``<table>`` with caption, header, sections and note.

Readable on any background: text and rules take the surrounding text colour
(``currentColor``; JupyterLab's ``--jp-content-font-color1`` when present), tints are
translucent grey, so JupyterLab's light and dark themes, VS Code and a page in dark mode all
work.  Rules follow booktabs (thick top and bottom, thin under the header, a thin rule under
each model's name).  All CSS is scoped under ``.mlm-paper`` with enough specificity to win
over JupyterLab's own table styles (zebra rows, right alignment).  Every piece of text is
escaped.
"""

from __future__ import annotations

from html import escape

from .layout import Grid, Row
from .richtext import Rich

ROOT = "mlm-paper"
_TAGS = {"sub": "sub", "sup": "sup", "italic": "i", "bold": "b"}

CSS = f"""
.{ROOT} {{ color: var(--jp-content-font-color1, inherit); margin: .6em 0;
  font-family: var(--jp-content-font-family, system-ui, -apple-system, "Segoe UI", sans-serif); }}
.{ROOT} .mlm-paper-table {{ border-collapse: collapse; border: none; margin: 0;
  border-top: 2px solid currentColor;
  font-size: var(--jp-content-font-size1, 14px); line-height: 1.35; color: inherit;
  background: transparent; table-layout: auto; }}
.{ROOT} .mlm-paper-table caption {{ caption-side: top; text-align: left; font-style: italic;
  padding: 0 0 .4em 0; color: inherit; }}
.{ROOT} .mlm-paper-table .mlm-row {{ background: transparent; }}
.{ROOT} .mlm-paper-table .mlm-row:hover {{ background: rgba(127,127,127,.12); }}
.{ROOT} .mlm-paper-table .mlm-c, .{ROOT} .mlm-paper-table .mlm-l {{ padding: 2px 10px;
  border: none; color: inherit; background: transparent; text-align: center;
  white-space: nowrap; vertical-align: baseline; font-variant-numeric: tabular-nums;
  font-weight: normal; }}
.{ROOT} .mlm-paper-table .mlm-l {{ text-align: left; padding-left: 2px; }}
.{ROOT} .mlm-paper-table .mlm-sub {{ padding-left: 1.2em; }}
.{ROOT} .mlm-paper-table .mlm-head .mlm-c {{ font-weight: 600; }}
.{ROOT} .mlm-paper-table .mlm-head .mlm-c.mlm-model {{ padding-left: 0; padding-right: 0; }}
.{ROOT} .mlm-paper-table .mlm-head:last-child .mlm-c,
.{ROOT} .mlm-paper-table .mlm-head:last-child .mlm-l {{ border-bottom: 1px solid currentColor; }}
.{ROOT} .mlm-paper-table .mlm-head .mlm-model .mlm-rule {{ display: block; margin: 0 .3em;
  border-bottom: 1px solid rgba(127,127,127,.75); padding-bottom: 1px; }}
.{ROOT} .mlm-paper-table tbody .mlm-row:last-child .mlm-c,
.{ROOT} .mlm-paper-table tbody .mlm-row:last-child .mlm-l {{
  border-bottom: 2px solid currentColor; }}
.{ROOT} .mlm-paper-table .mlm-section .mlm-l {{ font-style: italic; padding-top: .55em; }}
.{ROOT} .mlm-paper-table sub, .{ROOT} .mlm-paper-table sup {{ font-size: .72em; line-height: 0; }}
.{ROOT} .mlm-paper-table .mlm-notes {{ white-space: normal; text-align: left; font-size: .86em;
  padding: .4em 2px .2em 2px; max-width: 52em; opacity: .9; border: none; }}
"""

PAGE_CSS = """
:root { color-scheme: light dark; }
body { margin: 2em; background: #ffffff; color: #1f2328; }
@media (prefers-color-scheme: dark) { body { background: #1e1e1e; color: #e6e6e6; } }
"""


def rich_html(text: Rich) -> str:
    """Escaped HTML of rich text."""
    out = []
    for span in text:
        body = escape(span.text)
        tag = _TAGS.get(span.style)
        out.append(f"<{tag}>{body}</{tag}>" if tag else body)
    return "".join(out)


def _row(row: Row, width: int, model_row: bool) -> str:
    if row.kind == "section":
        return (f'<tr class="mlm-row mlm-section"><th class="mlm-l" scope="rowgroup" '
                f'colspan="{width + 1}">{rich_html(row.label)}</th></tr>')
    head = row.kind == "head"
    cls = "mlm-row mlm-head" if head else "mlm-row"
    label_cls = "mlm-l mlm-sub" if row.continued else "mlm-l"
    cells = [f'<th class="{label_cls}" scope="row">{rich_html(row.label)}</th>']
    tag = "th" if head else "td"
    for cell in row.cells:
        span = f' colspan="{cell.span}"' if cell.span > 1 else ""
        scope = ' scope="col"' if head else ""
        content = rich_html(cell.text)
        if model_row:  # booktabs' \cmidrule: a rule under each model's name, gaps between
            cells.append(f'<th class="mlm-c mlm-model"{span}{scope}>'
                         f'<span class="mlm-rule">{content}</span></th>')
        else:
            cells.append(f'<{tag} class="mlm-c"{span}{scope}>{content}</{tag}>')
    return f'<tr class="{cls}">' + "".join(cells) + "</tr>"


def to_html(grid: Grid) -> str:
    """The table as an HTML fragment (with its scoped ``<style>``)."""
    width = grid.width
    caption = f"<caption>{escape(grid.title)}</caption>" if grid.title else ""
    head = "".join(
        _row(r, width, model_row=i == 0 and len(grid.head) > 1) for i, r in enumerate(grid.head)
    )
    body = "".join(_row(r, width, False) for r in grid.body)
    foot = ""
    if grid.notes:
        lines = "<br>".join(rich_html(n) for n in grid.notes)
        foot = (f'<tfoot><tr class="mlm-row"><td class="mlm-notes" colspan="{width + 1}">'
                f"{lines}</td></tr></tfoot>")
    return (
        f'<div class="{ROOT}"><style>{CSS}</style>'
        f'<table class="mlm-paper-table">{caption}<thead>{head}</thead>'
        f"<tbody>{body}</tbody>{foot}</table></div>"
    )


def html_page(fragment: str, title: str | None) -> str:
    """A standalone page around a table (light or dark as the reader's system)."""
    name = escape(title or "Model table")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{name}</title><style>{PAGE_CSS}</style></head>"
        f"<body>{fragment}</body></html>"
    )

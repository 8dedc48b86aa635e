"""A paper table as a Word document (python-docx): a real table, not a picture or text.

The caption is a paragraph above the table, the note a paragraph under it (APA layout).
Cells spanning a model's columns are merged cells; sub- and superscripts and italics are
runs with those font properties.  Rules follow booktabs: a thick line above the table and
under it, thin lines under the header and under each model's name, no vertical lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .layout import Grid, Row
from .richtext import Rich

#: Line widths in eighths of a point (Word's unit): booktabs' heavy and light rules.
HEAVY, LIGHT = 12, 4


def _docx() -> Any:
    try:
        import docx
    except ImportError as err:  # an optional extra
        raise ImportError(
            "format='docx' writes Word files with python-docx, which is not installed: "
            "pip install 'mlm_jupyter[docx]' (or pip install python-docx)."
        ) from err
    return docx


def _runs(paragraph: Any, text: Rich, size: Any = None) -> None:
    for span in text:
        run = paragraph.add_run(span.text)
        # sub- and superscript share one w:vertAlign: set only the one wanted
        if span.style == "sub":
            run.font.subscript = True
        elif span.style == "sup":
            run.font.superscript = True
        elif span.style == "italic":
            run.italic = True
        elif span.style == "bold":
            run.bold = True
        if size is not None:
            run.font.size = size


def _border(cell: Any, edge: str, width: int) -> None:
    """Set one border of a cell (python-docx has no API for cell borders)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    line = borders.find(qn(f"w:{edge}"))
    if line is None:
        line = OxmlElement(f"w:{edge}")
        borders.append(line)
    line.set(qn("w:val"), "single")
    line.set(qn("w:sz"), str(width))
    line.set(qn("w:space"), "0")
    line.set(qn("w:color"), "auto")


def _fill(table: Any, r: int, row: Row, center: Any, size: Any) -> None:
    cells = table.rows[r].cells
    label = cells[0].paragraphs[0]
    if row.kind == "section":
        merged = cells[0].merge(cells[-1]) if len(cells) > 1 else cells[0]
        _runs(merged.paragraphs[0], tuple(s for s in row.label), size)
        for run in merged.paragraphs[0].runs:
            run.italic = True
        return
    _runs(label, row.label, size)
    c = 1
    for cell in row.cells:
        target = cells[c] if cell.span == 1 else cells[c].merge(cells[c + cell.span - 1])
        paragraph = target.paragraphs[0]
        paragraph.alignment = center
        _runs(paragraph, cell.text, size)
        c += cell.span


def write_docx(grid: Grid, path: str | Path) -> Path:
    """Write the table to a new .docx file at ``path``; returns the path."""
    docx = _docx()
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    size = Pt(10)
    document = docx.Document()
    if grid.title:
        caption = document.add_paragraph()
        run = caption.add_run(grid.title)
        run.italic = True
    rows = (*grid.head, *grid.body)
    table = document.add_table(rows=len(rows), cols=grid.width + 1)
    table.autofit = True
    for r, row in enumerate(rows):
        _fill(table, r, row, WD_ALIGN_PARAGRAPH.CENTER, size)
    n_head = len(grid.head)
    for cell in table.rows[0].cells:
        _border(cell, "top", HEAVY)
    for cell in table.rows[n_head - 1].cells:
        _border(cell, "bottom", LIGHT)
    if n_head > 1:  # a light rule under each model's name (booktabs' \cmidrule)
        for cell in table.rows[0].cells[1:]:
            _border(cell, "bottom", LIGHT)
    for cell in table.rows[len(rows) - 1].cells:
        _border(cell, "bottom", HEAVY)
    for note in grid.notes:
        paragraph = document.add_paragraph()
        _runs(paragraph, note, Pt(9))
    path = Path(path)
    document.save(str(path))
    return path

"""The format-free layout of a paper table: header rows, sections, cells with spans.

:func:`..build.build_grid` turns model columns and options into a :class:`Grid`; the HTML,
LaTeX, Markdown and Word renderers only walk it, so all four show the same cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from .richtext import Rich


@dataclass(frozen=True)
class Cell:
    """A value cell; ``span`` value columns wide (a variance spans a model's sub-columns)."""

    text: Rich
    span: int = 1


@dataclass(frozen=True)
class Row:
    """A table row.

    ``kind`` is ``"head"`` (header rows), ``"section"`` (a full-width title such as "Random
    effects"; no cells) or ``"body"``.  ``continued`` marks the extra lines of a stacked
    layout (SE or CI under the estimate), which belong to the row above.
    """

    label: Rich
    cells: tuple[Cell, ...]
    kind: str = "body"
    continued: bool = False

    @property
    def width(self) -> int:
        return sum(c.span for c in self.cells)


@dataclass(frozen=True)
class Grid:
    """A whole table.

    Attributes
    ----------
    title : str or None
        The caption (APA puts it above the table).
    head, body : tuple of Row
        Header rows, then sections and their rows.
    notes : tuple of Rich
        Lines of the table note (symbols, df method, significance marks, fit problems).
    model_spans : tuple of int
        Value columns per model, left to right (the header's model cells span them).
    """

    title: str | None
    head: tuple[Row, ...]
    body: tuple[Row, ...]
    notes: tuple[Rich, ...]
    model_spans: tuple[int, ...]

    @property
    def width(self) -> int:
        """Value columns (the label column not counted)."""
        return sum(self.model_spans)

    def __post_init__(self) -> None:
        for row in (*self.head, *self.body):
            if row.kind != "section" and row.width != self.width:
                raise ValueError(f"row {row.label!r} spans {row.width} of {self.width} columns")

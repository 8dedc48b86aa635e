"""Models side by side: align their rows and lay out the cells of a paper table.

Rows are the union over the models, in a fixed order: fixed effects (intercept, main effects
in order of first appearance, then interactions by order; ``a:b`` and ``b:a`` are one row),
then the random part (σ², per grouping factor its τ's and ρ's, the ICC, the numbers of
groups, the observations), then the fit.  A model without a row's quantity leaves its cell
empty.  Every number placed in a cell is also recorded, with its full precision, in the
table's ``data`` (one row per model, row and statistic), which the tests hold against the
results' own attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from .columns import ModelColumn
from .fixed_rows import Recorder, check_labels, fixed_section, header
from .layout import Cell, Grid, Row
from .notes import table_notes
from .options import Options
from .random_rows import fit_section, random_section
from .richtext import rich


def _head(columns: Sequence[ModelColumn], names: Sequence[str], opt: Options) -> list[Row]:
    wide = opt.layout == "wide"
    k = len(opt.statistics) if wide else 1
    rows = [Row(rich(), tuple(Cell(rich(n), k) for n in names), "head")]
    if wide and opt.statistics != ("estimate",):
        cells = tuple(Cell(header(s, c, opt)) for c in columns for s in opt.statistics)
        rows.append(Row(rich(), cells, "head"))
    return rows


def build_grid(
    columns: Sequence[ModelColumn], names: Sequence[str], opt: Options
) -> tuple[Grid, pd.DataFrame]:
    """The table's layout and the long table of every number it shows."""
    check_labels(opt.labels, columns)
    rec = Recorder()
    fixed = fixed_section(columns, names, opt, rec)
    if not fixed:  # only random effects (y ~ 0 + (1 | g)): no statistic columns to head
        opt = replace(opt, statistics=("estimate",), stars=None)
    k = len(opt.statistics) if opt.layout == "wide" else 1
    body: list[Row] = []
    sections = (
        ("Fixed effects", fixed),
        ("Random effects", random_section(columns, names, opt, rec, k)),
        ("Model fit", fit_section(columns, names, opt, rec, k)),
    )
    for title, rows in sections:
        if rows:
            body += [Row(rich(title), (), "section"), *rows]
    grid = Grid(
        title=opt.title,
        head=tuple(_head(columns, names, opt)),
        body=tuple(body),
        notes=tuple(table_notes(columns, names, opt, body)),
        model_spans=tuple(k for _ in columns),
    )
    return grid, rec.frame()

"""Display of the API's tables: each column formatted as R formats that kind of column.

lme4's ``anova`` and ``summary`` tables go through R's ``printCoefmat``: each column is
formatted on its own with ``format(x, digits)`` (one number of decimals per column, after
``zapsmall``), test statistics are rounded to ``digits - 1`` decimals first, p-values use
``format.pval`` (``< 2e-16`` below machine precision), missing values print as blanks.  The
same rules, keyed by column name, make every table the API returns readable without pandas
display options:

==========================  ==========================================================
column                      shown as
==========================  ==========================================================
``p``, ``p_*``, ``Pr(...)`` ``format.pval(x, digits - 1)``
``t``, ``z``, ``chisq``, F  ``format(round(x, digits - 1), digits)``
integers, counts            integers
other numbers               ``format(x, digits)``: every value with at least ``digits``
                            significant digits, one number of decimals per column
booleans, text              as is (text escaped in HTML)
==========================  ==========================================================

``digits`` is 4 (lme4's summary) or 5 with ``anova=True`` (lme4's ``anova`` table, for
``mlm.compare``), where the other numbers are first zapped to ``digits`` significant digits
of the column's largest value as ``print.anova`` does (AIC 46728 next to 46723).  Elsewhere
only values below 1e-7 of the column's largest are zapped, so one tiny value does not turn
a whole column into scientific notation.  Text output is never wrapped: a wide table
scrolls instead of splitting the columns being compared.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd

from .rformat import format_pval, format_r, round_r, zapsmall

#: Fixed notation unless scientific is this many characters narrower (R's ``scipen``): a
#: column of small values reads better as 0.00008563 than as 8.563e-05.
SCIPEN = 2
_TEST_STATISTICS = {"t", "z", "chisq", "f", "t value", "z value", "f value"}


def is_pvalue_column(name: object) -> bool:
    """Whether a column holds p-values (``p``, ``p_mixture``, ``p_boot``, ``Pr(>|t|)``)."""
    text = str(name).lower()
    return text == "p" or text.startswith("p_") or text.startswith("pr(") or text == "p-value"


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def format_column(
    name: object, values: pd.Series, digits: int = 4, anova: bool = False
) -> list[str]:
    """The display strings of one column (see the module docstring for the rules)."""
    if not _numeric(values):
        return ["" if _missing(v) else str(v) for v in values]
    floats = values.astype(float).tolist()
    finite = [v for v in floats if math.isfinite(v)]
    if not finite:
        return ["" if math.isnan(v) else str(v) for v in floats]
    dig_tst = max(1, min(5, digits - 1))
    if pd.api.types.is_integer_dtype(values):
        shown = [str(int(v)) for v in floats]
    elif is_pvalue_column(name):
        shown = _fill(floats, format_pval(finite, dig_tst))
    elif str(name).lower() in _TEST_STATISTICS:
        shown = _fill(floats, format_r(round_r(finite, dig_tst), digits))
    elif anova and str(name).lower() != "df":
        shown = _fill(floats, format_r(zapsmall(finite, digits), digits))
    else:
        zapped = zapsmall(finite, digits + 3)
        text = format_r(zapped, digits, scipen=SCIPEN)
        # a value zapped to 0 in a scientific column reads as 0, not 0.000e+00
        text = ["0" if z == 0 and "e" in t else t for z, t in zip(zapped, text, strict=True)]
        shown = _fill(floats, text)
    return [s.strip() for s in shown]


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays and other containers are not missing
        return False


def _fill(values: list[float], formatted: list[str]) -> list[str]:
    """Put the formatted finite values back in place; NaN -> blank, ±Inf -> Inf/-Inf."""
    it = iter(formatted)
    out = []
    for v in values:
        if math.isfinite(v):
            out.append(next(it))
        elif math.isnan(v):
            out.append("")
        else:
            out.append("Inf" if v > 0 else "-Inf")
    return out


def _shown_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, int | None]:
    """Rows to display (head and tail beyond pandas' ``display.max_rows``) and the cut."""
    max_rows = pd.get_option("display.max_rows")
    if max_rows is None or max_rows == 0 or len(frame) <= max_rows:
        return frame, None
    min_rows = pd.get_option("display.min_rows") or max_rows
    half = max(1, min(min_rows, max_rows) // 2)
    return pd.concat([frame.iloc[:half], frame.iloc[-half:]]), half


def _label(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _cells(
    frame: pd.DataFrame, digits: int, anova: bool
) -> tuple[list[str], list[list[str]], list[bool]]:
    columns = [_label(c) for c in frame.columns]
    numeric = [_numeric(frame.iloc[:, j]) for j in range(frame.shape[1])]
    by_column = [format_column(frame.columns[j], frame.iloc[:, j], digits, anova)
                 for j in range(frame.shape[1])]
    rows = [[col[i] for col in by_column] for i in range(len(frame))]
    return columns, rows, numeric


def _index_title(frame: pd.DataFrame) -> str:
    names = [n for n in frame.index.names if n is not None]
    return ", ".join(str(n) for n in names)


def frame_text(
    frame: pd.DataFrame, notes: list[str] | None = None, digits: int = 4, anova: bool = False
) -> str:
    """Aligned text of a table: numbers right-aligned, text left-aligned, no wrapping."""
    shown, cut = _shown_rows(frame)
    columns, rows, numeric = _cells(shown, digits, anova)
    labels = [_label(i) for i in shown.index]
    head_label = _index_title(frame)
    if cut is not None:
        rows.insert(cut, ["..."] * len(columns))
        labels.insert(cut, "...")
    label_w = max([len(head_label)] + [len(lab) for lab in labels])
    widths = [max([len(c)] + [len(r[j]) for r in rows]) for j, c in enumerate(columns)]

    def line(label: str, cells: list[str]) -> str:
        parts = [label.ljust(label_w)]
        for j, cell in enumerate(cells):
            parts.append(cell.rjust(widths[j]) if numeric[j] else cell.ljust(widths[j]))
        return "  ".join(parts).rstrip()

    out = [line(head_label, columns)] + [line(lab, r) for lab, r in zip(labels, rows,
                                                                       strict=True)]
    if cut is not None:
        out.append(f"[{len(frame)} rows x {frame.shape[1]} columns]")
    out += [f"Note: {n}" for n in notes or []]
    return "\n".join(out)


def frame_html(
    frame: pd.DataFrame, notes: list[str] | None = None, digits: int = 4, anova: bool = False
) -> str:
    """The same table as themed, escaped HTML (see :mod:`.html`)."""
    from .html import wrap

    shown, cut = _shown_rows(frame)
    columns, rows, numeric = _cells(shown, digits, anova)
    labels = [_label(i) for i in shown.index]
    if cut is not None:
        rows.insert(cut, ["…"] * len(columns))
        labels.insert(cut, "…")
    head = "".join(f'<th class="{"mlmj-r" if n else ""}">{escape(c)}</th>'
                   for c, n in zip(columns, numeric, strict=True))
    body = []
    for label, cells in zip(labels, rows, strict=True):
        tds = "".join(
            f'<td class="{"mlmj-r mlmj-num" if n else ""}">{escape(c)}</td>'
            for c, n in zip(cells, numeric, strict=True)
        )
        body.append(f"<tr><th>{escape(label)}</th>{tds}</tr>")
    table = (f'<table class="mlmj-table"><thead><tr><th>{escape(_index_title(frame))}</th>'
             f'{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')
    tail = ""
    if cut is not None:
        tail += f'<div class="mlmj-note">{len(frame)} rows × {frame.shape[1]} columns</div>'
    if notes:
        items = "".join(f"<li>{escape(n)}</li>" for n in notes)
        tail += f'<ul class="mlmj-notes mlmj-note">{items}</ul>'
    return wrap(f'<div class="mlmj-frame">{table}{tail}</div>')


def _value_text(name: object, value: object, digits: int = 4) -> str:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return "" if _missing(value) else str(value)
    return format_column(name, pd.Series([value]), digits)[0]


def series_text(values: pd.Series, digits: int = 4) -> str:
    """Named statistics one per line, each formatted by its name's rule."""
    labels = [_label(i) for i in values.index]
    cells = [_value_text(i, v, digits) for i, v in values.items()]
    width = max((len(lab) for lab in labels), default=0)
    cell_w = max((len(c) for c in cells), default=0)
    lines = [f"{lab.ljust(width)}  {c.rjust(cell_w)}" for lab, c in zip(labels, cells,
                                                                        strict=True)]
    if values.name is not None:
        lines.append(f"Name: {values.name}")
    return "\n".join(lines)


def series_html(values: pd.Series, digits: int = 4) -> str:
    """The same as a two-column HTML table."""
    from .html import wrap

    rows = "".join(
        f'<tr><th>{escape(_label(i))}</th><td class="mlmj-r mlmj-num">'
        f"{escape(_value_text(i, v, digits))}</td></tr>"
        for i, v in values.items()
    )
    caption = f"<caption>{escape(str(values.name))}</caption>" if values.name is not None else ""
    return wrap(f'<table class="mlmj-table">{caption}<tbody>{rows}</tbody></table>')

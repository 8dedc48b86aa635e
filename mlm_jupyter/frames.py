"""Tables and text the API returns, as pandas / ``str`` objects that display readably.

A DataFrame of estimates, p-values and counts printed by pandas' defaults turns into
``4.673e+04`` next to ``4.672e+04`` and p-values wrapped onto a second line.  These thin
subclasses keep every value and the whole pandas (or ``str``) API, and only change how they
*display*: each column is formatted as R formats that kind of column (fixed decimals per
column with R's ``format``, p-values with ``format.pval``, counts as integers; see
:mod:`mlm_jupyter.display.frame_format`), in a notebook as a themed HTML table and in a
terminal as aligned text that never wraps.  Notes (refits, why a value is missing) are
shown under the table and kept in ``.notes``.

Results of pandas operations on them (selecting columns, sorting, ``head``) keep the display;
``pd.DataFrame(table)`` gives a plain frame.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


class ResultFrame(pd.DataFrame):
    """A pandas DataFrame that displays in lme4's layout (values are untouched).

    Attributes
    ----------
    notes : list of str
        Lines shown under the table (what was refitted, why a value is missing, ...).
    """

    _metadata = ["notes"]
    #: Significant digits of the display (R: 4 for summaries, 5 for anova tables).
    display_digits = 4
    #: Format as lme4's anova table (fit statistics zapped to ``display_digits``).
    display_anova = False

    @property
    def _constructor(self) -> type:
        return type(self)

    def _display_notes(self) -> list[str]:
        return list(getattr(self, "notes", None) or [])

    def _repr_html_(self) -> str:  # type: ignore[override]
        from .display.frame_format import frame_html

        return frame_html(pd.DataFrame(self), self._display_notes(), self.display_digits,
                          self.display_anova)

    def __repr__(self) -> str:
        from .display.frame_format import frame_text

        return frame_text(pd.DataFrame(self), self._display_notes(), self.display_digits,
                          self.display_anova)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


class ResultSeries(pd.Series):
    """A pandas Series of named statistics (estimate, std_error, df, t, p, ...) shown readably."""

    @property
    def _constructor(self) -> type:
        return type(self)

    def __repr__(self) -> str:
        from .display.frame_format import series_text

        return series_text(pd.Series(self))

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        from .display.frame_format import series_html

        return series_html(pd.Series(self))


class DisplayText(str):
    """A ``str`` (e.g. ``res.summary()``) that shows as the formatted text, not an escaped line.

    As the last line of a notebook cell or at the Python prompt it displays its lines;
    everything else (``print``, ``+``, ``.splitlines()``, comparisons) is plain ``str``.
    """

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


class HTMLPage(str):
    """A whole HTML page (``res.to_html()``, ``mlm.report()``): a ``str`` that, as the last line
    of a cell, shows one line saying what it is instead of megabytes of escaped markup."""

    path: str | None = None

    def __new__(cls, page: str, path: str | None = None) -> HTMLPage:
        out = super().__new__(cls, page)
        out.path = path
        return out

    def __repr__(self) -> str:
        where = f", written to {self.path}" if self.path else ""
        return f"<HTML page, {len(self.encode('utf-8')) / 1e6:.1f} MB{where}>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


def as_result_frame(table: pd.DataFrame, notes: list[str] | None = None) -> ResultFrame:
    """``table`` as a :class:`ResultFrame` (same values; ``attrs`` kept), with ``notes``."""
    out = ResultFrame(table)
    out.attrs.update(table.attrs)
    out.notes = list(notes or [])
    return out


def as_result_series(values: pd.Series) -> ResultSeries:
    """``values`` as a :class:`ResultSeries` (same values, name and ``attrs``)."""
    out = ResultSeries(values)
    out.attrs.update(values.attrs)
    return out

"""The values of formula variables translated to SQL (numbers, factors, logicals) and the
constants a translation asks the data for."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SqlFactor", "SqlLogical", "SqlNum", "StateRequest"]


@dataclass(frozen=True)
class SqlNum:
    """Numeric values: one SQL expression per column (``poly(x, 2, raw = TRUE)`` has two)."""

    exprs: tuple[str, ...]
    suffixes: tuple[str, ...] | None = None

    @property
    def k(self) -> int:
        return len(self.exprs)


@dataclass(frozen=True)
class SqlFactor:
    """A categorical variable: the SQL expression whose distinct values are its levels.

    ``ref`` (``relevel``) moves one level first; levels are R's order of the distinct values
    otherwise (numbers numerically, text by code point, FALSE before TRUE).
    """

    expr: str
    ref: str | None = None
    logical: bool = False


@dataclass(frozen=True)
class SqlLogical:
    """A TRUE/FALSE expression (a comparison): a two-level factor in a model matrix."""

    expr: str


@dataclass(frozen=True)
class StateRequest:
    """A constant the SQL needs from the data before it can be written.

    ``kind`` is ``"mean"`` (``gmc``: the mean over the rows of the fit), ``"scale"`` (mean
    and SD of the rows where ``expr`` is present, as R's ``scale``) or ``"cluster"``
    (``cwc``/``cm``: means of ``expr`` by the column ``group``, joined in as ``alias``).
    """

    key: str
    kind: str
    expr: str
    group: str | None = None
    alias: str | None = None

"""Stand-ins for the per-row arrays of a design whose rows stay where the data live.

A fit from Parquet, DuckDB or Spark has every per-row array of its
:class:`~mlm_jupyter.design.Design` (``y``, ``X``, each term's ``Z`` and ``codes``, the
row index) replaced by a :class:`RowsElsewhere`: it knows its shape, and anything that
would read the values (NumPy conversion, indexing, arithmetic, iteration) raises
:class:`RowsNotInMemory`, which says what needed the rows and what works instead.  So a
computation that needs the rows is refused in plain words, never answered with wrong
numbers or an obscure crash.  ``origin`` leads to the fit's source and aggregates.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RowsElsewhere", "RowsNotInMemory", "origin_of"]

ROW_FREE = ("summary(), coef_table, coefficients(ddf=...), contrast(), confint(), varcorr, "
            "ranef, coef, icc(), r2(), reliability(), random_slope_ranges(), "
            "simple_slopes(at=...), predict(newdata), explore(), to_html(), compare()")


class RowsNotInMemory(ValueError):
    """A computation needs the data's rows, which stay in the database."""


class RowsElsewhere:
    """A per-row array that lives in the data source (see the module docstring)."""

    __array_priority__ = 1000

    def __init__(self, shape: tuple[int, ...], what: str, origin: Any = None) -> None:
        self.shape = shape
        self.ndim = len(shape)
        self.what = what
        self.origin = origin

    @property
    def size(self) -> int:
        out = 1
        for s in self.shape:
            out *= s
        return out

    def refuse(self, action: str = "") -> RowsNotInMemory:
        where = self.origin.source.label if self.origin is not None else "the database"
        return RowsNotInMemory(
            f"This needs the rows of the data ({self.what}{', ' + action if action else ''}), "
            f"which stay in {where}: the fit read only aggregates. What works without the "
            f"rows: {ROW_FREE}. Row-level diagnostics (residuals, hat values, influence) "
            "need the rows in memory: fit a sample of them as a DataFrame, or use "
            "mlm_jupyter.warehouse.sample_residuals(res) for residuals on a random sample."
        )

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise self.refuse()

    def __array_ufunc__(self, *args: Any, **kwargs: Any) -> Any:
        raise self.refuse()

    def __array_function__(self, *args: Any, **kwargs: Any) -> Any:
        raise self.refuse()

    def __getitem__(self, key: Any) -> Any:
        raise self.refuse()

    def __iter__(self) -> Any:
        raise self.refuse()

    def __len__(self) -> int:
        return self.shape[0]

    def __bool__(self) -> bool:
        return True

    def _arith(self, *args: Any) -> Any:
        raise self.refuse()

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _arith
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __pow__ = __neg__ = _arith
    __lt__ = __le__ = __gt__ = __ge__ = _arith

    def equals(self, other: Any) -> bool:
        """Same rows of the same source (what ``compare`` checks of two fits)."""
        return (isinstance(other, RowsElsewhere) and self.origin is not None
                and other.origin is not None
                and self.origin.row_key == other.origin.row_key)

    def __repr__(self) -> str:
        return f"<{self.what}: {' x '.join(map(str, self.shape))}, rows in the data source>"


def origin_of(res: Any) -> Any:
    """The warehouse origin of a result (its source, plan and aggregates), or None."""
    design = getattr(res, "design", None)
    X = getattr(design, "X", None)
    return X.origin if isinstance(X, RowsElsewhere) else None

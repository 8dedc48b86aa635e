"""Data intake: every entry point reads the user's table through this module.

One set of rules for what a column *is*, whatever library or dtype it comes in:

- **Frames.**  pandas DataFrames are read in place (never modified, never copied whole);
  any other frame narwhals supports (polars, pyarrow tables, modin, cuDF, lazy frames after
  ``collect``) is converted once.  Column names are matched as strings (an integer column
  name ``1`` is written ```1``` in a formula); two columns with the same name are refused.
- **Numbers.**  Every numeric column (NumPy ints of any width, nullable ``Int64`` /
  ``Float64``, pyarrow-backed numbers, object columns holding only numbers) becomes float64
  *before* any arithmetic, as R's model frames hold doubles: products of int16 columns
  cannot overflow.  Missing values (NaN, None, ``pd.NA``) become NaN.
- **Factors.**  Strings (object, ``string``, ``string[pyarrow]``), categoricals (their
  category order kept, unused categories dropped on the rows used) and booleans (levels
  ``FALSE``, ``TRUE`` as R's logicals) are factors with string levels.  Numbers used as
  factors (cluster ids, ``factor(x)``) get R's labels: ``3`` and ``3.0`` are both ``"3"``,
  so ids match whatever their dtype.  An object column mixing ``3`` and ``"3"`` is one
  level ``"3"``.
- **Refused with the column's name:** complex numbers, datetimes and timedeltas used as
  predictors (they are accepted as grouping factors), and objects that are neither numbers
  nor strings.
"""

from __future__ import annotations

import decimal
import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ColumnError",
    "Factor",
    "Frame",
    "as_pandas",
    "factor_of",
    "level_label",
    "numeric_of",
]


class ColumnError(ValueError):
    """A column that cannot be used as written; the message names it and says what to do."""


@dataclass(frozen=True)
class Factor:
    """A categorical variable: integer codes (-1 for missing) into string levels.

    ``ordered`` marks R's ordered factor (a pandas ``Categorical`` with ``ordered=True``, or
    ``ordered(x)`` in a formula), which ``model.matrix`` codes with polynomial contrasts.
    """

    codes: np.ndarray
    levels: tuple[str, ...]
    ordered: bool = False

    @property
    def missing(self) -> np.ndarray:
        return self.codes < 0


def as_pandas(data: Any, what: str = "data") -> pd.DataFrame:
    """The user's table as a pandas DataFrame (the same object for pandas input).

    Parameters
    ----------
    data : pandas.DataFrame or any frame narwhals supports
        polars DataFrame/LazyFrame, pyarrow Table, modin, ... (converted, never modified).
    what : str
        Argument name used in error messages (``"data"``, ``"newdata"``).

    Raises
    ------
    TypeError
        ``data`` is not a data frame.
    ValueError
        Two columns have the same name.
    """
    if isinstance(data, pd.DataFrame):
        frame = data
    else:
        frame = _from_narwhals(data, what)
    check_names(frame.columns, what)
    return frame


def _from_narwhals(data: Any, what: str) -> pd.DataFrame:
    import narwhals as nw

    if isinstance(data, (pd.Series, np.ndarray, dict, list, tuple, str)) or data is None:
        raise TypeError(
            f"{what} must be a data frame (pandas, polars, pyarrow, ...), not "
            f"{type(data).__name__}. Build one first, e.g. pd.DataFrame(...)."
        )
    try:
        frame = nw.from_native(data, allow_series=False)
    except TypeError as exc:
        raise TypeError(
            f"{what} must be a data frame (pandas, polars, pyarrow, ...), not "
            f"{type(data).__name__}."
        ) from exc
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect()
    check_names(frame.columns, what)
    # A Categorical's physical order is the order values were first seen; R's factor() of
    # text sorts its levels, so such columns are read as text (an Enum's order is kept).
    unordered = [name for name, dtype in frame.schema.items() if dtype == nw.Categorical]
    if unordered:
        frame = frame.with_columns(nw.col(*unordered).cast(nw.String))
    return frame.to_pandas()


def check_names(columns: Iterable[Any], what: str = "data") -> None:
    """Refuse duplicated column names (also ``1`` and ``"1"``: a formula cannot tell them apart)."""
    seen: dict[str, int] = {}
    for name in columns:
        key = str(name)
        seen[key] = seen.get(key, 0) + 1
    dup = [k for k, count in seen.items() if count > 1]
    if dup:
        shown = ", ".join(repr(d) for d in dup[:8])
        raise ValueError(
            f"{what} has more than one column named {shown}; a formula cannot tell them "
            "apart. Rename or drop the copies first (e.g. df.loc[:, ~df.columns.duplicated()])."
        )


class Frame:
    """Column lookup by name (as strings) on a pandas frame, converting each column once."""

    def __init__(self, data: pd.DataFrame) -> None:
        self.data = data
        self.n = len(data)
        self.names = {str(c): c for c in data.columns}
        self._series: dict[str, pd.Series] = {}
        self._kind: dict[str, str] = {}
        self._numeric: dict[str, np.ndarray] = {}
        self._factor: dict[str, Factor] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def series(self, name: str) -> pd.Series:
        if name not in self._series:
            self._series[name] = self.data[self.names[name]]
        return self._series[name]

    def kind(self, name: str) -> str:
        """``"numeric"`` or ``"factor"`` (errors for columns that are neither)."""
        if name not in self._kind:
            self._kind[name] = column_kind(self.series(name), name)
        return self._kind[name]

    def numeric(self, name: str) -> np.ndarray:
        if name not in self._numeric:
            self._numeric[name] = numeric_of(self.series(name), name)
        return self._numeric[name]

    def factor(self, name: str) -> Factor:
        if name not in self._factor:
            self._factor[name] = factor_of(self.series(name), name)
        return self._factor[name]

    def missing(self, name: str) -> np.ndarray:
        """Rows where the raw column is missing (NaN, None, pd.NA, NaT)."""
        values = self.series(name)
        dtype = values.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "biu":
            return np.zeros(self.n, dtype=bool)
        if isinstance(dtype, np.dtype) and dtype.kind == "f":
            return np.isnan(values.to_numpy())
        return np.asarray(values.isna().to_numpy(), dtype=bool)


def _object_kind(values: pd.Series, name: str) -> str:
    """``"numeric"``, ``"bool"``, ``"factor"`` for an object column, from its values."""
    present = values[~values.isna()]
    kinds = set()
    for value in present.head(100_000):
        kinds.add(_value_kind(value, name))
    if not kinds or kinds == {"number"}:
        return "numeric"
    if kinds == {"bool"}:
        return "bool"
    return "factor"


def _value_kind(value: Any, name: str) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (numbers.Real, decimal.Decimal)):
        return "number"
    if isinstance(value, numbers.Complex):
        raise ColumnError(
            f"The column '{name}' holds complex numbers ({value!r}); a model needs real "
            "numbers. Use the real part or the modulus explicitly (e.g. np.abs) in a new column."
        )
    raise ColumnError(
        f"The column '{name}' holds {type(value).__name__} values ({value!r}), which are "
        "neither numbers nor text. Convert the column to numbers (pd.to_numeric) or to "
        "strings (.astype(str)) first."
    )


def column_kind(values: pd.Series, name: str) -> str:
    """What a column is in a model: ``"numeric"`` or ``"factor"``.

    Raises :class:`ColumnError` for complex, datetime, timedelta and other columns.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "factor"
    if pd.api.types.is_bool_dtype(dtype):
        return "factor"
    if pd.api.types.is_complex_dtype(dtype):
        raise ColumnError(
            f"The column '{name}' is complex ({dtype}); a model needs real numbers. Use the "
            "real part or the modulus explicitly (e.g. np.abs) in a new column."
        )
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        what = "a date/time" if pd.api.types.is_datetime64_any_dtype(dtype) else "a time span"
        raise ColumnError(
            f"The column '{name}' is {what} ({dtype}), which has no single numeric scale in "
            "a model. Convert it to a number with a unit you choose, e.g. days since the "
            f"start: (df['{name}'] - df['{name}'].min()) / pd.Timedelta(days=1); or to a "
            "category (e.g. .dt.year.astype(str)). Dates can be grouping factors as they are."
        )
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return "factor"
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        arrow = dtype.pyarrow_dtype
        if pa.types.is_dictionary(arrow) or pa.types.is_string(arrow) or pa.types.is_large_string(
            arrow
        ):
            return "factor"
    if pd.api.types.is_object_dtype(dtype):
        return "numeric" if _object_kind(values, name) == "numeric" else "factor"
    raise ColumnError(
        f"The column '{name}' has dtype {dtype}, which a model cannot use. Convert it to "
        "numbers (pd.to_numeric) or to strings (.astype(str)) first."
    )


def numeric_of(values: pd.Series, name: str) -> np.ndarray:
    """float64 values of a numeric column (NaN where missing); errors name the column."""
    kind = column_kind(values, name)
    if kind != "numeric":
        raise ColumnError(f"The column '{name}' is not numeric (dtype {values.dtype}).")
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        return values.to_numpy().astype(np.float64)  # always a copy: never the user's memory
    if pd.api.types.is_object_dtype(dtype):
        out = np.full(len(values), np.nan)
        present = ~values.isna().to_numpy()
        out[present] = [float(v) for v in values.to_numpy()[present]]
        return out
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def level_label(value: Any) -> str:
    """R's ``as.character`` of a level: ``3`` and ``3.0`` are ``"3"``, booleans ``"TRUE"``."""
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (numbers.Integral,)):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v).replace("inf", "Inf").replace("nan", "NaN")
    return str(value)


def _sorted_levels(index: list[int], uniques: list[Any]) -> list[int]:
    """R's factor() order: numbers numerically, text by code point (the C locale)."""
    if all(isinstance(u, str) for u in uniques):
        return sorted(index, key=uniques.__getitem__)
    if all(isinstance(u, numbers.Real) and not isinstance(u, (bool, np.bool_)) for u in uniques):
        return sorted(index, key=lambda i: float(uniques[i]))
    return sorted(index, key=lambda i: level_label(uniques[i]))


def factor_of(values: pd.Series, name: str) -> Factor:
    """Codes and string levels of a column used as a factor (levels in R's order).

    Categoricals keep their category order; booleans have levels ``FALSE, TRUE``; numbers
    are sorted numerically and text by code point.  Unused levels are kept here; callers
    drop those unused on the rows they use (:func:`drop_unused`).
    """
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = [level_label(c) for c in dtype.categories]
        codes = values.cat.codes.to_numpy().astype(np.int64)
        return _merge_same_labels(codes, cats, ordered=bool(dtype.ordered))
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_object_dtype(dtype) and _object_kind(values, name) == "bool"
    ):
        present = ~np.asarray(values.isna().to_numpy(), dtype=bool)
        codes = np.full(len(values), -1, dtype=np.int64)
        raw = values.to_numpy()[present]
        codes[present] = np.asarray([bool(v) for v in raw], dtype=np.int64)
        return Factor(codes, ("FALSE", "TRUE"))
    if pd.api.types.is_complex_dtype(dtype):
        column_kind(values, name)  # raises with the column's name
    if pd.api.types.is_object_dtype(dtype):
        _object_kind(values, name)  # refuses lists, complex numbers, ... by name
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = list(uniques)
    order = _sorted_levels(list(range(len(uniques))), uniques)
    remap = np.empty(len(uniques), dtype=np.int64)
    remap[order] = np.arange(len(uniques))
    labels = [u if isinstance(u, str) else level_label(u) for u in (uniques[i] for i in order)]
    codes = np.where(codes >= 0, remap[np.maximum(codes, 0)] if len(uniques) else -1, -1)
    return _merge_same_labels(codes.astype(np.int64), labels)


def _merge_same_labels(codes: np.ndarray, labels: list[str], ordered: bool = False) -> Factor:
    """One level per label: ``3`` and ``"3"`` (or ``3`` and ``3.0``) are the same level."""
    unique = list(dict.fromkeys(labels))
    if len(unique) == len(labels):
        return Factor(codes, tuple(labels), ordered)
    index = {label: k for k, label in enumerate(unique)}
    remap = np.array([index[label] for label in labels], dtype=np.int64)
    return Factor(np.where(codes >= 0, remap[np.maximum(codes, 0)], -1), tuple(unique), ordered)


def drop_unused(factor: Factor, keep: np.ndarray | None) -> Factor:
    """The factor on rows ``keep`` (all if None) without levels absent from those rows."""
    codes = factor.codes if keep is None else factor.codes[keep]
    present = np.zeros(len(factor.levels), dtype=bool)
    present[codes[codes >= 0]] = True
    if present.all():
        return Factor(codes, factor.levels, factor.ordered)
    remap = np.cumsum(present) - 1
    new = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    kept = tuple(lv for lv, p in zip(factor.levels, present, strict=True) if p)
    return Factor(new.astype(np.int64), kept, factor.ordered)


def group_labels(values: pd.Series, name: str) -> Factor:
    """A grouping column as a factor: any column a factor accepts, plus dates and times."""
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
        return Factor(codes.astype(np.int64), tuple(str(u) for u in uniques))
    return factor_of(values, name)

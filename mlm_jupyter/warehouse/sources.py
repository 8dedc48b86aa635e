"""Where the data live: Parquet/CSV files and DuckDB relations (DuckDB), Spark DataFrames.

A :class:`Source` runs SQL over the user's table and returns small results (global
aggregates, per-cluster aggregates, distinct levels) as NumPy columns; rows never come
into Python.  The two back ends speak nearly the same SQL; :class:`Dialect` holds what
differs (identifier quoting, the NaN test).

DuckDB is the engine for files and DuckDB relations: embedded, no server, reads Parquet
and CSV lazily (only the model's columns), and aggregates 100M rows in seconds on two
cores.  A Spark DataFrame is aggregated by its own SparkSession, so the same call runs on
a cluster.
"""

from __future__ import annotations

import glob
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Dialect", "Source", "SourceError", "is_source", "open_source"]

#: Column kinds: "numeric", "factor" (text, enum), "bool", "time" (grouping only), "other".
KINDS = ("numeric", "factor", "bool", "time", "other")


class SourceError(ValueError):
    """The data source cannot be read or a query on it failed (said in plain words)."""


@dataclass(frozen=True)
class Dialect:
    """The SQL spellings that differ between DuckDB and Spark."""

    name: str

    def quote(self, identifier: str) -> str:
        if self.name == "spark":
            return "`" + identifier.replace("`", "``") + "`"
        return '"' + identifier.replace('"', '""') + '"'

    def literal(self, value: Any) -> str:
        """A SQL literal for a level value (text, number, boolean)."""
        if isinstance(value, (bool, np.bool_)):
            return "TRUE" if value else "FALSE"
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        if isinstance(value, (float, np.floating)):
            return f"CAST({float(value)!r} AS DOUBLE)"
        text = str(value).replace("'", "''")
        if self.name == "spark":
            text = text.replace("\\", "\\\\")
        return f"'{text}'"

    def number(self, value: float) -> str:
        """A double constant written with every digit (17 significant: exact round trip)."""
        v = float(value)
        if not np.isfinite(v):
            raise SourceError(f"a non-finite constant ({v}) cannot be sent to the database.")
        return f"CAST({v!r} AS DOUBLE)"

    def is_nan(self, expr: str) -> str:
        return f"isnan({expr})"


def is_source(data: Any) -> bool:
    """True for what :func:`open_source` reads: a path (str, Path), a DuckDB relation or a
    Spark DataFrame."""
    if isinstance(data, (str, os.PathLike)):
        return True
    module = type(data).__module__ or ""
    name = type(data).__name__
    return (module.startswith("duckdb") and "Relation" in name) or (
        module.startswith("pyspark") and name == "DataFrame"
    )


class Source:
    """A table the model's aggregates are computed in (see the module docstring)."""

    dialect: Dialect
    label: str
    #: Where a sample or rows-based computation can tell the user the data are.
    kind: str

    def columns(self) -> dict[str, str]:
        """Column name -> kind (one of :data:`KINDS`)."""
        raise NotImplementedError

    def table(self) -> str:
        """The FROM item that names the user's table inside :meth:`run`'s SQL."""
        raise NotImplementedError

    def run(self, sql: str) -> dict[str, np.ndarray]:
        """Execute a query; its (small) result as NumPy columns."""
        raise NotImplementedError

    def frame_table(self, frame: pd.DataFrame) -> str:
        """Make a small pandas table (per-cluster values) readable inside :meth:`run`'s SQL;
        returns the FROM item that names it."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """Identifies the data (two fits on the same source and rows compare as the same)."""
        return self.label


def _duckdb_kind(type_name: str) -> str:
    t = type_name.upper()
    if t.startswith(("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                     "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE",
                     "DECIMAL", "REAL")):
        return "numeric"
    if t.startswith(("VARCHAR", "ENUM")) or t == "TEXT":
        return "factor"
    if t == "BOOLEAN":
        return "bool"
    if t.startswith(("DATE", "TIMESTAMP", "TIME")):
        return "time"
    return "other"


class DuckDBSource(Source):
    """Files (Parquet, CSV) read by an embedded DuckDB, or a user's DuckDB relation."""

    dialect = Dialect("duckdb")

    def __init__(self, relation: Any, label: str, kind: str, connection: Any = None,
                 paths: tuple[str, ...] = ()) -> None:
        self._relation = relation
        self._con = connection
        self.label = label
        self.kind = kind
        self.paths = paths
        self._name = "mlm_source_" + uuid.uuid4().hex[:8]
        self._tmp: list[str] = []

    def columns(self) -> dict[str, str]:
        return {str(c): _duckdb_kind(str(t)) for c, t in zip(
            self._relation.columns, self._relation.types, strict=True)}

    def table(self) -> str:
        return self._name

    def run(self, sql: str) -> dict[str, np.ndarray]:
        import duckdb

        try:
            result = self._relation.query(self._name, sql)
            out = result.fetchnumpy()
        except duckdb.Error as exc:
            raise SourceError(_plain_database_error(exc)) from None
        return {k: _plain_array(v) for k, v in out.items()}

    def frame_table(self, frame: pd.DataFrame) -> str:
        # A relation's connection is not public: small tables travel as a temporary Parquet
        # file that the query reads (per-cluster values: a few MB for 100,000 clusters).
        import duckdb

        handle, path = tempfile.mkstemp(suffix=".parquet", prefix="mlm_")
        os.close(handle)
        writer = duckdb.connect()
        writer.register("mlm_small", frame)
        writer.execute(f"COPY mlm_small TO '{path}' (FORMAT PARQUET)")
        writer.close()
        self._tmp.append(path)
        return f"read_parquet('{path}')"

    def fingerprint(self) -> str:
        if not self.paths:
            return self.label
        stamps = []
        for path in self.paths:
            try:
                st = os.stat(path)
                stamps.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                stamps.append(path)
        return "|".join(stamps)

    def __del__(self) -> None:
        for path in getattr(self, "_tmp", []):
            try:
                os.remove(path)
            except OSError:
                pass


class SparkSource(Source):
    """A Spark DataFrame, aggregated by its own SparkSession (local or a cluster)."""

    dialect = Dialect("spark")
    kind = "Spark DataFrame"

    def __init__(self, frame: Any) -> None:
        self._frame = frame
        self._spark = frame.sparkSession
        self._name = "mlm_source_" + uuid.uuid4().hex[:8]
        frame.createOrReplaceTempView(self._name)
        self.label = f"Spark DataFrame ({self._name})"

    def columns(self) -> dict[str, str]:
        from pyspark.sql import types as T

        out = {}
        for field in self._frame.schema.fields:
            dt = field.dataType
            if isinstance(dt, T.NumericType):
                kind = "numeric"
            elif isinstance(dt, T.StringType):
                kind = "factor"
            elif isinstance(dt, T.BooleanType):
                kind = "bool"
            elif isinstance(dt, (T.DateType, T.TimestampType)):
                kind = "time"
            else:
                kind = "other"
            out[field.name] = kind
        return out

    def table(self) -> str:
        return self._name

    def run(self, sql: str) -> dict[str, np.ndarray]:
        try:
            pdf = self._spark.sql(sql).toPandas()
        except Exception as exc:  # py4j / Spark analysis errors: all said in plain words
            raise SourceError(_plain_database_error(exc)) from None
        return {str(c): _plain_array(pdf[c].to_numpy()) for c in pdf.columns}

    def frame_table(self, frame: pd.DataFrame) -> str:
        name = "mlm_small_" + uuid.uuid4().hex[:8]
        self._spark.createDataFrame(frame).createOrReplaceTempView(name)
        return name


def _plain_array(values: Any) -> np.ndarray:
    """Masked arrays (DuckDB's NULLs) become object arrays with None, or NaN for numbers."""
    if isinstance(values, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(values)
        if values.dtype.kind in "fiub" and not mask.any():
            return np.asarray(values.data)
        if values.dtype.kind == "f":
            return np.where(mask, np.nan, values.data)
        out = values.data.astype(object)
        out[mask] = None
        return out
    return np.asarray(values)


def _plain_database_error(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (f"The database could not compute the model's aggregates: {text}. Check the "
            "columns' types and the formula's transformations (e.g. log() or sqrt() of "
            "values <= 0, a division by 0).")


_PARQUET = (".parquet", ".pq", ".parq")
_CSV_NULLS = "['', 'NA', 'N/A', 'NULL', 'NaN', 'nan', 'null', '#N/A']"
_CSV = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")


def _file_kind(path: str) -> str:
    lower = path.lower()
    if lower.endswith(_PARQUET):
        return "parquet"
    if lower.endswith(_CSV):
        return "csv"
    raise SourceError(
        f"'{path}' is neither a Parquet file (.parquet) nor a CSV file (.csv, .tsv); "
        "mlm.fit reads those from a path. Load other formats into a DataFrame (or a DuckDB "
        "relation) first."
    )


def _open_files(path: str) -> DuckDBSource:
    import duckdb

    text = os.fspath(path)
    target = text
    if os.path.isdir(text):
        target = os.path.join(text, "**", "*.parquet")
    matches = sorted(glob.glob(os.path.expanduser(target), recursive=True))
    if not matches:
        where = Path(text).expanduser()
        hint = ("" if where.parent.exists() else
                f" The folder '{where.parent}' does not exist either.")
        if os.sep not in text and "." not in text:
            hint += (f" (A data frame is passed as itself, not by name; a bundled data set is "
                     f"mlm.load_dataset('{text}').)")
        raise FileNotFoundError(
            f"No file matches '{text}'.{hint} Give the path of a Parquet or CSV file, a glob "
            "such as 'registry/*.parquet', or a folder of Parquet files."
        )
    kinds = {_file_kind(m) for m in matches}
    if len(kinds) > 1:
        raise SourceError(f"'{text}' matches both Parquet and CSV files; use one format.")
    con = duckdb.connect()
    threads = os.environ.get("MLM_DUCKDB_THREADS")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    listed = "[" + ", ".join("'" + m.replace("'", "''") + "'" for m in matches) + "]"
    # CSV: R's and pandas' spellings of a missing value are NULL (R writes NA).
    reader, options = (("read_parquet", "") if kinds == {"parquet"} else
                       ("read_csv_auto", ", nullstr = " + _CSV_NULLS))
    try:
        relation = con.sql(f"SELECT * FROM {reader}({listed}{options})")
    except duckdb.Error as exc:
        raise SourceError(f"'{text}' could not be read: {str(exc).splitlines()[0]}") from None
    kind = "Parquet" if reader == "read_parquet" else "CSV"
    label = f"{text} ({len(matches)} {kind} file{'s' if len(matches) > 1 else ''})"
    return DuckDBSource(relation, label, f"{kind} files", con, tuple(matches))


def open_source(data: Any) -> Source:
    """The :class:`Source` for a path/glob, a DuckDB relation or a Spark DataFrame.

    Raises
    ------
    FileNotFoundError
        No file matches the path.
    SourceError
        A format other than Parquet/CSV, or files DuckDB cannot read.
    ImportError
        DuckDB (files, relations) or pyspark is not installed (with the install command).
    """
    if isinstance(data, (str, os.PathLike)):
        try:
            import duckdb  # noqa: F401
        except ImportError as exc:  # pragma: no cover - duckdb is a dependency
            raise ImportError("Reading files needs DuckDB: pip install duckdb") from exc
        return _open_files(os.fspath(data))
    module = type(data).__module__ or ""
    if module.startswith("pyspark"):
        return SparkSource(data)
    return DuckDBSource(data, f"DuckDB relation ({id(data):#x})", "DuckDB relation")

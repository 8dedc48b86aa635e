"""Fits on data where they live: Parquet/CSV files, DuckDB relations, Spark DataFrames.

``mlm.fit(formula, data="registry/*.parquet")`` (or a DuckDB relation, or a Spark
DataFrame) computes the design's cross-products where the data are stored and fits from
them: no row comes into Python memory, only per-cluster aggregates.  See
:mod:`.fit` for the flow, :mod:`.plan` and :mod:`.sql` for the formula features that
translate, :mod:`.aggregate` for the numerical care (centring before aggregation) and
:mod:`.rows` for what a result without rows does.
"""

from .fit import fit_source
from .rows import RowsNotInMemory, origin_of
from .sources import SourceError, is_source

__all__ = ["RowsNotInMemory", "SourceError", "fit_source", "is_source", "origin_of"]

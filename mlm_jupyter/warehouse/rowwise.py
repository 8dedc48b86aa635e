"""Per-row quantities of a warehouse fit, computed in the database.

The residual of a row is y - offset - Xγ̂ - Σ_k Z_k b_k[level]: the fixed part is a SQL
expression of the row's columns with the estimates as constants, and the conditional
modes b_k (one row per level: 100,000 clusters are a few MB) travel to the database as a
small table joined on the grouping columns.  So:

- :func:`residual_quantiles` gives the summary's "Scaled residuals" line from every row
  (exact quantiles, R's type 7, up to :data:`EXACT_QUANTILE_ROWS` rows; beyond that the
  engine's approximate quantiles: DuckDB's ``approx_quantile``, Spark's
  ``percentile_approx``, whose error is far below the 4 digits printed);
- :func:`sample_residuals` returns the rows of a random sample (a fixed seed, documented
  size) with their fitted values and residuals, for plots and checks that need rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..caching import cache_per_result
from .plan import FRAME, frame_sql
from .rows import RowsNotInMemory, origin_of

__all__ = ["EXACT_QUANTILE_ROWS", "residual_quantiles", "sample_residuals"]

EXACT_QUANTILE_ROWS = 20_000_000
PROBS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _origin(res: Any) -> Any:
    origin = origin_of(res)
    if origin is None:
        raise ValueError("this result was fitted in memory; use res.residuals().")
    return origin


def _residual_query(res: Any) -> tuple[str, str, str]:
    """(WITH ... joins, FROM clause, SQL of the conditional residual) for ``res``."""
    origin = _origin(res)
    plan, source = origin.plan, origin.source
    d = source.dialect
    fixed = []
    for expr, beta in zip(origin.fixed_exprs, res.fixef.to_numpy(), strict=True):
        fixed.append(d.number(beta) if expr is None else f"{d.number(beta)} * ({expr})")
    parts = [f"({plan.response})", f"({' + '.join(fixed)})"]
    joins = []
    for k, (term, exprs, codes, b) in enumerate(zip(res.design.terms, origin.z_exprs,
                                                     origin.cell_levels, res.random_effects,
                                                     strict=True)):
        cols = term.group_columns
        levels, first = np.unique(codes, return_index=True)
        table = {f"k{j}": origin.cells.keys[c][first] for j, c in enumerate(cols)}
        table.update({f"b{a}": b[levels, a] for a in range(term.q)})
        name = source.frame_table(pd.DataFrame(table))
        alias = f"mlm_re{k}"
        on = " AND ".join(f"{FRAME}.{d.quote(c)} = {alias}.k{j}" for j, c in enumerate(cols))
        joins.append(f"JOIN {name} {alias} ON {on}")
        for a, expr in enumerate(exprs):
            z = "" if expr is None else f" * ({expr})"
            parts.append(f"{alias}.b{a}{z}")
    resid = " - ".join(parts)
    return frame_sql(plan), f"FROM {FRAME} {' '.join(joins)}", f"({resid})"


def _quantiles(res: Any) -> np.ndarray:
    origin = _origin(res)
    d = origin.source.dialect
    head, from_, resid = _residual_query(res)
    scaled = f"({resid}) / {d.number(res.sigma)}"
    exact = res.nobs <= EXACT_QUANTILE_ROWS
    items = ["MIN(r) AS q0", "MAX(r) AS q4"]
    for i, p in enumerate(PROBS[1:-1], start=1):
        if d.name == "spark":
            fn = f"percentile(r, {p})" if exact else f"percentile_approx(r, {p}, 100000)"
        else:
            fn = f"quantile_cont(r, {p})" if exact else f"approx_quantile(r, {p})"
        items.append(f"{fn} AS q{i}")
    got = origin.source.run(f"{head}SELECT {', '.join(items)} FROM (SELECT {scaled} AS r "
                            f"{from_}) s")
    return np.array([float(got[f"q{i}"][0]) for i in range(5)])


#: The scaled residuals' min, quartiles and max, computed once per result.
residual_quantiles = cache_per_result(_quantiles)


def sample_residuals(res: Any, n: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """A random sample of the rows used, with fitted values and residuals.

    Parameters
    ----------
    res : MixedModelResult
        A fit from Parquet, DuckDB or Spark.
    n : int
        Sample size (DuckDB: a reservoir sample of exactly ``n`` rows, repeatable with
        ``seed``; Spark: the ``n`` rows with the smallest ``rand(seed)``).
    seed : int

    Returns
    -------
    DataFrame
        The model's columns, then ``fitted`` (Xγ̂ + Zb + offset), ``residual`` (y -
        fitted: lme4's conditional residual) and ``pearson`` (residual / σ).
    """
    origin = _origin(res)
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive whole number, not {n!r}.")
    d = origin.source.dialect
    head, from_, resid = _residual_query(res)
    cols = ", ".join(f"{FRAME}.{d.quote(c)}" for c in origin.plan.used)
    sigma = d.number(res.sigma)
    y = f"({origin.plan.response})"
    if origin.plan.offset is not None:
        y = f"({y} + ({origin.plan.offset}))"
    select = (f"SELECT {cols}, {y} - {resid} AS fitted, {resid} AS residual, "
              f"{resid} / {sigma} AS pearson ")
    if d.name == "spark":
        sql = f"{head}{select}{from_} ORDER BY rand({int(seed)}) LIMIT {n}"
    else:
        sql = (f"{head}SELECT * FROM ({select}{from_}) s USING SAMPLE reservoir({n} ROWS) "
               f"REPEATABLE ({int(seed)})")
    got = origin.source.run(sql)
    return pd.DataFrame(got)


def refuse_rows(res: Any, what: str) -> RowsNotInMemory:
    """The error for ``what`` (a row-level method) on a warehouse fit."""
    origin = _origin(res)
    return RowsNotInMemory(
        f"{what} needs every row of the data, which stay in {origin.source.label}. "
        "mlm_jupyter.warehouse.sample_residuals(res, n) returns residuals and fitted values "
        "for a random sample of the rows (computed in the database); the summary's "
        "residual quantiles use every row."
    )

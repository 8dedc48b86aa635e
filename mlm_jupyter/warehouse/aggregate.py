"""The two passes over the rows: moments, then per-cell cross-products of centred columns.

Pass 1 (one global aggregate) gives, over the rows used, the mean and SD of every distinct
model-matrix column (and of the response), counts its non-finite values, and estimates
the number of cells and of levels per grouping factor (HyperLogLog) so that a design too
large for memory is refused *before* the big aggregation.  Pass 2 groups the rows by the
grouping columns of all terms (one cell per distinct combination; for nested designs one
per level of the finest factor) and returns, per cell, the count, the sums and the sums
of products of the columns centred and scaled by pass 1:

    u_i = (v_i - m_i) / s_i,    G_c = Σ_{rows of c} [1 u]'[1 u].

Centring before aggregation is what keeps the digits: the sums of y and y² of ``y + 1e9``
would hold 18 digits of which the residual variance needs the last few, while the sums
of u are of order n.  Everything else (the engine's units, the blocked cross-products)
is linear algebra on the cells' G_c (:mod:`.moments`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plan import BASE, FRAME, ModelPlan, check_counts, frame_sql

__all__ = ["Cells", "DesignTooLarge", "aggregate", "union_columns"]

#: Memory the aggregates and the dense coupling block may take (bytes), unless told otherwise.
MEMORY_LIMIT = 4 * 1024**3


class DesignTooLarge(MemoryError):
    """The design's aggregates would not fit in memory (sizes estimated before the pass)."""


@dataclass(frozen=True)
class Cells:
    """Per-cell Gram matrices of the centred, scaled columns.

    Attributes
    ----------
    exprs : tuple of str
        The distinct columns v_1..v_k (SQL), in the order of ``gram``'s rows 1..k.
    mean, scale : ndarray (k,)
        m_i and s_i of pass 1.
    keys : dict of str -> ndarray
        Each grouping column's value in every cell.
    gram : ndarray (n_cells, k+1, k+1)
        G_c (row/column 0 the constant: G_c[0, 0] is the cell's row count).
    n : int
        Rows used.
    n_total : int
        Rows of the source (used and dropped for missing values).
    """

    exprs: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    keys: dict[str, np.ndarray]
    gram: np.ndarray
    n: int
    n_total: int

    @property
    def total(self) -> np.ndarray:
        """G = Σ_c G_c (pairwise summation over the cells)."""
        return self.gram.sum(axis=0)

    def index(self, expr: str | None) -> int:
        """Row of ``expr`` in G (0 for the constant)."""
        return 0 if expr is None else 1 + self.exprs.index(expr)


def union_columns(plan: ModelPlan) -> tuple[str, ...]:
    """Every distinct non-constant column of X, the Z_k and y, first use first."""
    out: list[str] = []
    for part in (plan.fixed, *plan.random):
        out += [e for e in part.exprs if e is not None and e not in out]
    if plan.response not in out:
        out.append(plan.response)
    return tuple(out)


def _column_names(plan: ModelPlan) -> dict[str, tuple[str, str]]:
    """expr -> (what, name) for messages: the first part that uses the column."""
    out: dict[str, tuple[str, str]] = {plan.response: ("response", plan.spec.response)}
    for what, part in (("fixed effect", plan.fixed),
                       *(("random effect", p) for p in plan.random)):
        for name, expr in zip(part.names, part.exprs, strict=True):
            if expr is not None:
                out.setdefault(expr, (what, name))
    return out


def aggregate(plan: ModelPlan, memory_limit: int = MEMORY_LIMIT) -> Cells:
    """Run the two passes (see the module docstring).

    Raises
    ------
    ValueError
        A column with infinite or undefined values (log of 0, a division by 0), named.
    DesignTooLarge
        The cells or the dense block of the non-first random terms would exceed
        ``memory_limit`` (estimated from approximate distinct counts first).
    """
    source = plan.source
    d = source.dialect
    exprs = union_columns(plan)
    frame = frame_sql(plan)
    keys = plan.keys
    items = ["COUNT(*) AS n", f"(SELECT COUNT(*) FROM {BASE}) AS n_total"]
    for i, e in enumerate(exprs):
        items += [f"AVG({e}) AS m{i}", f"STDDEV_POP({e}) AS s{i}",
                  f"SUM(CASE WHEN ({e}) - ({e}) = 0 THEN 0 ELSE 1 END) AS bad{i}"]
    key_sql = ", ".join(d.quote(k) for k in keys)
    items.append(f"approx_count_distinct(hash({key_sql})) AS cells")
    for t, cols in enumerate(plan.groups):
        items.append(f"approx_count_distinct(hash({', '.join(d.quote(c) for c in cols)})) "
                     f"AS levels{t}")
    row = source.run(f"{frame}SELECT {', '.join(items)} FROM {FRAME}")
    n = int(row["n"][0])
    n_total = int(row["n_total"][0])
    check_counts(n_total, n, plan.used)
    names = _column_names(plan)
    for i, e in enumerate(exprs):
        bad = int(np.nan_to_num(row[f"bad{i}"][0]))
        if bad:
            what, name = names[e]
            raise ValueError(
                f"The {what} column '{name}' has {bad} infinite or undefined value(s) (e.g. "
                "log of 0 or of a negative number, or a division by zero). Remove or recode "
                "those rows first."
            )
    mean = np.array([float(row[f"m{i}"][0]) for i in range(len(exprs))])
    sd = np.array([float(np.nan_to_num(row[f"s{i}"][0])) for i in range(len(exprs))])
    scale = np.where((sd > 0) & (sd > 1e-300), sd, 1.0)
    _check_size(plan, row, len(exprs), memory_limit)
    return _cells(plan, frame, exprs, mean, scale, n, n_total)


def _check_size(plan: ModelPlan, row: dict, k: int, limit: int) -> None:
    cells = float(row["cells"][0])
    levels = [float(row[f"levels{t}"][0]) for t in range(len(plan.groups))]
    q = [len(p.names) for p in plan.random]
    cell_bytes = cells * (k + 1) ** 2 * 8 * 4  # the cells' G_c and working copies
    order = np.argsort(levels)[::-1]
    rest = sum(levels[t] * q[t] for t in order[1:])
    m = rest + len(plan.fixed.names) + 1
    dense_bytes = m * m * 8 * 4  # the coupling block, its factor and working copies
    if cell_bytes + dense_bytes > limit:
        raise DesignTooLarge(
            f"This design's aggregates would need about {(cell_bytes + dense_bytes) / 1e9:.1f} "
            f"GB (about {cells:,.0f} cells of the grouping factors' combinations, and a "
            f"dense {m:,.0f} x {m:,.0f} block for the random terms after the largest), more "
            f"than the {limit / 1e9:.1f} GB allowed. Crossed factors with many levels each "
            "make that block large: keep the factor with most levels first, drop a crossed "
            "term, or fit a subset."
        )


def _cells(plan: ModelPlan, frame: str, exprs: tuple[str, ...], mean: np.ndarray,
           scale: np.ndarray, n: int, n_total: int) -> Cells:
    d = plan.source.dialect
    columns = [f"(({e}) - {d.number(m)}) / {d.number(s)}"
               for e, m, s in zip(exprs, mean, scale, strict=True)]
    keys, G = cell_grams(plan, frame, columns)
    return Cells(exprs, mean, scale, keys, G, n, n_total)


def cell_grams(plan: ModelPlan, frame: str, columns: list[str],
               order: dict[str, np.ndarray] | None = None,
               ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-cell Gram matrices of [1, columns] (SQL over ``mlm_frame``), and the cells' keys.

    With ``order`` (the keys of an earlier pass) the cells come back in that order.
    """
    d = plan.source.dialect
    key_items = [d.quote(k) for k in plan.keys]
    inner = key_items + [f"{c} AS u{i}" for i, c in enumerate(columns)]
    k = len(columns)
    outer = [f"{kk} AS k{j}" for j, kk in enumerate(key_items)] + ["COUNT(*) AS n"]
    outer += [f"SUM(u{i}) AS s{i}" for i in range(k)]
    outer += [f"SUM(u{i} * u{j}) AS p{i}_{j}" for i in range(k) for j in range(i, k)]
    sql = (f"{frame}SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {FRAME}) c "
           f"GROUP BY {', '.join(key_items)}")
    got = plan.source.run(sql)
    rows = np.arange(len(got["n"]))
    keys = {kk: got[f"k{j}"] for j, kk in enumerate(plan.keys)}
    if order is not None:
        position = {_row_key(keys, int(i)): int(i) for i in rows}
        rows = np.array([position[_row_key(order, i)] for i in range(len(rows))])
    G = np.empty((len(rows), k + 1, k + 1))
    G[:, 0, 0] = got["n"][rows].astype(float)
    for i in range(k):
        G[:, 0, i + 1] = G[:, i + 1, 0] = got[f"s{i}"][rows].astype(float)
        for j in range(i, k):
            G[:, i + 1, j + 1] = G[:, j + 1, i + 1] = got[f"p{i}_{j}"][rows].astype(float)
    return ({kk: v[rows] for kk, v in keys.items()} if order is None else order), G


def _row_key(keys: dict[str, np.ndarray], i: int) -> tuple:
    return tuple(v[i].item() if isinstance(v[i], np.generic) else v[i] for v in keys.values())

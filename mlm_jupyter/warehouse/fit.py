"""``mlm.fit(formula, data=<where the data live>)``: aggregate there, fit here.

The profiled REML/ML criterion depends on the data only through cross-products, and for
a grouped design those are sums over the cells of the grouping factors (one per cluster
for a two-level model).  So a fit on 100 million rows is: a moments pass and a
cross-products pass in the database (:mod:`.aggregate`), then the engine's usual
evaluations on per-cluster blocks.  Only per-cell aggregates come into Python.

The result is a :class:`~mlm_jupyter.results.MixedModelResult` with every field, built by
the same :func:`~mlm_jupyter.fitting.assemble`; its design's per-row arrays are
:class:`.rows.RowsElsewhere` stand-ins and ``res.data_used`` is None.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..design import Design, RandomBlock
from ..design_checks import check_identifiable, lme4_term_order
from ..engine.blocks import CrossProducts
from ..engine.conditioning import EXACT_FIT_TOL, Conditioning, DegenerateModelError
from ..engine.fit import optimize
from ..engine.objective import ProfiledDeviance
from ..engine.threads import blas_limit
from ..formula import as_spec
from ..messages import warn as emit_warning
from ..results import MixedModelResult
from ..spec import ModelSpec
from .aggregate import MEMORY_LIMIT, Cells, aggregate
from .moments import cross_products_from_cells, dependent_in_gram, moments_for, part_map
from .plan import ModelPlan, PartColumns, plan_model, term_levels
from .refine import needs_refinement, refine
from .rows import RowsElsewhere
from .sources import open_source
from .summaries import term_column_facts

__all__ = ["Origin", "fit_source"]


@dataclass(frozen=True, eq=False)
class Origin:
    """Where a warehouse fit's rows are and what was aggregated from them.

    Attributes
    ----------
    source : Source
    plan : ModelPlan
    cells : Cells
        Per-cell Gram matrices of the centred columns (pass 2).
    fixed_exprs : tuple
        SQL of the kept fixed-effect columns (None: intercept).
    z_exprs : tuple of tuple
        SQL of every random term's columns, in lme4's term order.
    cell_levels : tuple of ndarray
        Level index of every cell for each term (lme4's order).
    engine_map : ndarray
        T°: the engine's columns [X° Z° y°] as combinations of the aggregated columns.
    cp : CrossProducts
        The engine's cross-products (refits with another criterion start from them).
    conditioning : Conditioning
    """

    source: Any
    plan: ModelPlan
    cells: Cells
    fixed_exprs: tuple[str | None, ...]
    z_exprs: tuple[tuple[str | None, ...], ...]
    cell_levels: tuple[np.ndarray, ...]
    engine_map: np.ndarray
    cp: CrossProducts
    conditioning: Conditioning

    @property
    def row_key(self) -> str:
        """The same source, the same rows used (compare() of two fits checks this)."""
        return (f"{self.source.fingerprint()}|{self.plan.n_used}|"
                f"{sorted(self.plan.used)}")


def fit_source(formula: str | ModelSpec, data: Any, reml: bool = True, *,
               start: np.ndarray | None = None, warn: bool = True,
               memory_limit: int = MEMORY_LIMIT) -> MixedModelResult:
    """Fit a linear mixed model to data that stay where they are (see the module docstring).

    Parameters
    ----------
    formula : str or ModelSpec
        lme4 formula, e.g. ``"y ~ x * w + (1 + x | school)"``.
    data : str, os.PathLike, DuckDB relation or Spark DataFrame
        A Parquet/CSV path or glob (``"registry/*.parquet"``) or folder of Parquet files,
        a ``duckdb`` relation, or a ``pyspark.sql.DataFrame``.
    reml, start, warn
        As :func:`mlm_jupyter.fit`.
    memory_limit : int
        Bytes the aggregates may take; larger designs are refused before the big pass.

    Returns
    -------
    MixedModelResult
        ``res.data_used`` is None; row-level methods say what they need.
    """
    from ..fitting import check_flag, check_start

    check_flag("reml", reml)
    check_flag("warn", warn)
    spec = as_spec(formula)
    source = open_source(data)
    plan = plan_model(spec, source)
    cells = aggregate(plan, memory_limit)
    plan = replace(plan, n_total=cells.n_total, n_used=cells.n)
    design, origin, cp, cond = _build(plan, cells)
    start = check_start(start, design)
    result = _fit(design, origin, reml, start)
    if warn:
        for message in result.messages:
            emit_warning(message, stacklevel=2)
    return result


def refit_design(design: Design, reml: bool = True,
                 start: np.ndarray | None = None) -> MixedModelResult:
    """:func:`mlm_jupyter.fitting.fit_design` for a design whose rows stay in the database:
    the same aggregates, another criterion or start (``res.refit(reml=False)``)."""
    from .rows import RowsElsewhere, RowsNotInMemory

    origin: Origin = getattr(design.X, "origin")  # noqa: B009 - X stands in for an ndarray
    if not isinstance(design.y, RowsElsewhere):
        raise RowsNotInMemory(
            "A new response needs the rows (its cross-products with X and Z), which stay in "
            f"{origin.source.label}; add the response as a column there and fit again."
        )
    return _fit(design, origin, reml, start)


def _fit(design: Design, origin: Origin, reml: bool,
         start: np.ndarray | None) -> MixedModelResult:
    from ..fitting import assemble

    cp, cond = origin.cp, origin.conditioning
    objective = ProfiledDeviance(cp, reml=reml)
    theta0 = None if start is None else cond.theta_to_engine(np.asarray(start, float), cp)
    record = optimize(objective, theta0)
    engine_design = _engine_design(design, origin)
    with blas_limit(objective):
        result = assemble(design, objective, record, cond, engine_design, None)
    if result.sigma <= 1e-6 * cond.scale:
        raise DegenerateModelError(
            "The random effects reproduce the response exactly (the residual variance goes "
            "to 0), so the model has no maximum-likelihood estimate. Check the formula: the "
            "response may be constant within clusters (a cluster-level variable)."
        )
    return result


def _fixed_part(plan: ModelPlan, cells: Cells) -> tuple[list[int], tuple[str, ...]]:
    """Kept fixed-effect columns (aliased ones dropped, as lme4) and the dropped names."""
    part = plan.fixed
    T, _ = part_map(cells, part.exprs)
    C = T.T @ cells.total @ T
    constant = _constant_columns(cells, part)
    dependent = dependent_in_gram(C, constant)
    keep = [j for j in range(len(part.names)) if not dependent[j]]
    dropped = tuple(part.names[j] for j in range(len(part.names)) if dependent[j])
    return keep, dropped


def _constant_columns(cells: Cells, part: PartColumns) -> np.ndarray:
    """Columns that do not vary over the rows used (other than the intercept)."""
    out = np.zeros(len(part.exprs), dtype=bool)
    for j, e in enumerate(part.exprs):
        if e is None:
            continue
        i = cells.index(e) - 1
        sd = cells.scale[i] * _sd(cells, i)
        out[j] = sd == 0 or sd <= 1e-12 * abs(cells.mean[i])
    return out


def _sd(cells: Cells, i: int) -> float:
    G = cells.total
    n = G[0, 0]
    var = G[i + 1, i + 1] / n - (G[0, i + 1] / n) ** 2
    return float(np.sqrt(max(var, 0.0)))


def _check_term(term: Any, cells: Cells, part: PartColumns, label: str) -> None:
    """The random term's columns must be linearly independent (lme4 refuses otherwise)."""
    T, _ = part_map(cells, part.exprs)
    C = T.T @ cells.total @ T
    has_intercept = bool(part.exprs) and part.exprs[0] is None
    constant = _constant_columns(cells, part) if has_intercept else np.zeros(len(part.exprs),
                                                                             bool)
    bad = [part.names[j] for j in np.flatnonzero(dependent_in_gram(C, constant))]
    if bad:
        raise ValueError(
            f"The random term {label} cannot be estimated: its column"
            f"{'s' if len(bad) > 1 else ''} {', '.join(repr(b) for b in bad)} "
            f"{'are' if len(bad) > 1 else 'is'} constant or a linear combination of the term's "
            "other columns, so the variances and covariances of this term are not identified. "
            "Remove them from the term (or recode the variable)."
        )


def _build(plan: ModelPlan, cells: Cells) -> tuple[Design, Origin, CrossProducts, Conditioning]:
    spec = plan.spec
    n = cells.n
    keep, dropped = _fixed_part(plan, cells)
    fixed = plan.fixed
    x_exprs = tuple(fixed.exprs[j] for j in keep)
    fixed_names = tuple(fixed.names[j] for j in keep)
    if not x_exprs:
        raise ValueError("No fixed-effect column is left after dropping the aliased ones; "
                         "keep the intercept or a predictor that varies.")
    if n - len(x_exprs) <= 0:
        raise ValueError(f"{n} observations cannot estimate {len(x_exprs)} fixed effects; "
                         "simplify the fixed part.")
    messages = []
    n_dropped = int(cells.n_total) - n
    if n_dropped:
        messages.append(f"{n_dropped} row(s) with missing values dropped ({n} used).")
    if dropped:
        messages.append("fixed-effect model matrix is rank deficient so dropping "
                        f"{len(dropped)} column(s): {', '.join(dropped)}")
    levels, level_names = [], []
    for cols in plan.groups:
        codes, names = term_levels(cells.keys, cols)
        levels.append(codes)
        level_names.append(names)
    order = lme4_term_order([len(names) for names in level_names])
    placeholders: list[RowsElsewhere] = []

    def rows(shape: tuple[int, ...], what: str) -> Any:  # stands in for an ndarray
        out = RowsElsewhere(shape, what)
        placeholders.append(out)
        return out

    blocks = []
    for t in order:
        term, part = spec.random[t], plan.random[t]
        label = f"({term.expr} | {term.group})"
        check_identifiable(term, len(level_names[t]), len(part.names), n)
        _check_term(term, cells, part, label)
        blocks.append(RandomBlock(term.group, part.names, rows((n,), f"{term.group} codes"),
                                  level_names[t], rows((n, len(part.names)), f"Z of {label}"),
                                  term.correlated, part.spec))
    x_spec = fixed.spec
    design = Design(
        spec=spec, y=rows((n,), "the response"), X=rows((n, len(x_exprs)), "X"),
        fixed_names=fixed_names, terms=tuple(blocks),
        row_index=rows((n,), "the row index"),  # type: ignore[arg-type]
        n_dropped=n_dropped, dropped_columns=dropped, messages=tuple(messages),
        fixed_model_spec=x_spec, variables=plan.used,
        offset=None if plan.offset is None else rows((n,), "the offset"),
    )
    z_exprs = tuple(plan.random[t].exprs for t in order)
    moments = moments_for(cells, x_exprs, plan.response, list(z_exprs))
    y_rms = float(np.sqrt(max(_y_square_mean(cells, plan.response), 0.0)))
    try:
        cond, T_engine = Conditioning.from_moments(moments)
    except np.linalg.LinAlgError:
        raise ValueError("The fixed-effect columns are linearly dependent in a way the "
                         "aggregates cannot resolve; simplify the fixed part.") from None
    if not cond.scale > EXACT_FIT_TOL * max(y_rms, np.finfo(float).tiny):
        raise _exact_fit(plan, cells)
    engine_cells = cells
    if needs_refinement(moments):  # collinear columns: a second pass in X°'s columns
        engine_cells, moments = refine(plan, cells, moments, cond, T_engine, list(z_exprs))
        cond, T_engine = Conditioning.from_moments(moments)
    cell_levels = tuple(levels[t] for t in order)
    cp = cross_products_from_cells(
        engine_cells, T_engine, len(x_exprs), [b.q for b in blocks], list(cell_levels),
        [b.n_levels for b in blocks])
    origin = Origin(plan.source, plan, cells, x_exprs, z_exprs, cell_levels, T_engine, cp,
                    cond)
    for ph in placeholders:
        ph.origin = origin
    for block, exprs, codes in zip(blocks, z_exprs, cell_levels, strict=True):
        scales, constant = term_column_facts(cells, exprs, codes, block.n_levels)
        block.Z.column_scales = scales  # type: ignore[attr-defined]
        block.Z.constant_within = constant  # type: ignore[attr-defined]
    return design, origin, cp, cond


def _y_square_mean(cells: Cells, y_expr: str) -> float:
    i = cells.index(y_expr) - 1
    G = cells.total
    n = G[0, 0]
    m, s = cells.mean[i], cells.scale[i]
    mean_u, mean_u2 = G[0, i + 1] / n, G[i + 1, i + 1] / n
    return float(m * m + 2 * m * s * mean_u + s * s * mean_u2)


def _exact_fit(plan: ModelPlan, cells: Cells) -> DegenerateModelError:
    response = plan.spec.response
    i = cells.index(plan.response) - 1
    sd = cells.scale[i] * _sd(cells, i)
    if sd == 0 or sd <= 1e-12 * abs(cells.mean[i]):
        return DegenerateModelError(
            f"The response '{response}' has the same value ({cells.mean[i]:.6g}) in all "
            f"{cells.n} rows used, so there is no variation to model. Check that the right "
            "column is on the left of '~'."
        )
    return DegenerateModelError(
        f"The fixed effects reproduce the response '{response}' exactly (the residuals of its "
        "least-squares fit are 0), so no residual or random-effect variance can be estimated. "
        "The response is probably computed from the predictors; check the formula's left side."
    )


def _engine_design(design: Design, origin: Origin) -> Design:
    """The engine's copy: the same stand-ins, labelled as the engine's columns."""
    def ph(shape: tuple[int, ...], what: str) -> Any:  # stands in for an ndarray
        return RowsElsewhere(shape, what, origin)

    terms = tuple(replace(t, Z=ph((design.n, t.q), f"Z° of ({t.group})")) for t in design.terms)
    return replace(design, X=ph((design.n, design.p), "X°"), y=ph((design.n,), "y°"),
                   terms=terms)


def cluster_sizes(origin: Origin) -> list[np.ndarray]:
    """Rows per level of every term (lme4's order), from the cells' counts."""
    counts = origin.cells.gram[:, 0, 0]
    out = []
    for codes in origin.cell_levels:
        out.append(np.bincount(codes, weights=counts, minlength=int(codes.max()) + 1))
    return out

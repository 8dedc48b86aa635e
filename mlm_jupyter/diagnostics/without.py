"""``without``: the model refitted without some clusters, next to the full fit."""

from __future__ import annotations

import difflib
import html
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .influence import group_codes, resolve_group, varcorr_labels
from .refit import aliased_columns

if TYPE_CHECKING:  # pragma: no cover
    from ..design import Design
    from ..results import MixedModelResult


@dataclass(frozen=True)
class WithoutResult:
    """A refit without some clusters, and what changed.

    Attributes
    ----------
    group : str
        The grouping factor whose levels were removed.
    removed : tuple of str
        The removed levels.
    result : MixedModelResult
        The refit (same formula, REML/ML setting; unused levels dropped).
    table : pandas.DataFrame
        One row per fixed effect and per varcorr row (``school|(Intercept)``, ...,
        ``Residual``; ``vcov`` scale): ``full, without, difference`` (without - full) and
        ``relative_change`` (difference / |full|).
    """

    group: str
    removed: tuple[str, ...]
    result: Any
    table: pd.DataFrame

    def __str__(self) -> str:
        head = f"Refit without {self.group} = {', '.join(self.removed)}"
        return f"{head}\n{self.table.to_string(float_format=lambda v: f'{v:.5g}')}"

    def _repr_html_(self) -> str:
        head = html.escape(f"Refit without {self.group} = {', '.join(self.removed)}")
        body = self.table.to_html(float_format=lambda v: f"{v:.5g}", escape=True)
        return f"<div><p><strong>{head}</strong></p>{body}</div>"


def reduced_design(res: MixedModelResult, keep: np.ndarray) -> Design:
    """The design restricted to rows ``keep`` (bool mask), unused levels dropped.

    Raises ValueError, naming the problem, when the reduced model cannot be fitted.
    """
    design = res.design
    terms = []
    for term in design.terms:
        codes = term.codes[keep]
        used, new_codes = np.unique(codes, return_inverse=True)
        if used.size < 2:
            raise ValueError(
                f"without these clusters grouping factor '{term.group}' has {used.size} level(s); "
                "a variance needs at least two. Remove fewer clusters."
            )
        terms.append(replace(term, codes=new_codes.astype(np.int64), Z=term.Z[keep],
                             levels=tuple(term.levels[i] for i in used)))
    X = design.X[keep]
    n, p = X.shape
    if n - p <= 0:
        raise ValueError(f"only {n} observations would remain for {p} fixed effects.")
    bad = aliased_columns(X.T @ X, design.fixed_names)
    if bad:
        raise ValueError(
            "without these clusters X is rank deficient: "
            + ", ".join(f"'{b}'" for b in bad)
            + " would be constant or a combination of other columns. Remove fewer clusters "
            "or drop the term from the formula."
        )
    offset = None if design.offset is None else design.offset[keep]
    used = np.flatnonzero(np.ones(design.n, bool) if design.rows is None else design.rows)
    rows = np.zeros(len(used) if design.rows is None else len(design.rows), dtype=bool)
    rows[used[keep]] = True
    return replace(design, y=design.y[keep], X=X, terms=tuple(terms),
                   row_index=design.row_index[keep], offset=offset, rows=rows)


def without(res: MixedModelResult, clusters: Any, group: str | None = None) -> WithoutResult:
    """Refit the model without the given clusters and compare the estimates.

    Parameters
    ----------
    res : MixedModelResult
    clusters : level or list of levels
        Levels of ``group`` to remove (compared as strings, as in ``res.ranef``).
    group : str, optional
        Grouping factor (default: the first in lme4's order).

    Returns
    -------
    WithoutResult
        ``.result`` is the refit (a MixedModelResult, warm-started from θ̂), ``.table`` the
        side-by-side estimates: γ and the variance components (varcorr ``vcov``).
    """
    from ..fitting import fit_design

    group = resolve_group(res, group)
    codes, levels = group_codes(res, group)
    if isinstance(clusters, (str, int, float, np.integer)):
        clusters = [clusters]
    wanted = [str(c) for c in clusters]
    if not wanted:
        raise ValueError("no clusters given; pass a list of levels of " f"'{group}' to remove.")
    lookup = {lev: i for i, lev in enumerate(levels)}
    for c in wanted:
        if c not in lookup:
            close = difflib.get_close_matches(c, levels, n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(x) for x in close)}?" if close else ""
            raise KeyError(f"'{c}' is not a level of '{group}'.{hint}")
    keep = ~np.isin(codes, [lookup[c] for c in wanted])
    design = reduced_design(res, keep)
    data = res.data_used.iloc[np.flatnonzero(keep)] if res.data_used is not None else None
    refit = fit_design(design, reml=res.reml, start=res.theta, data=data)

    names = list(res.fixef.index) + varcorr_labels(res)
    full = np.concatenate([res.fixef.to_numpy(), res.varcorr["vcov"].to_numpy(dtype=float)])
    new = np.concatenate([refit.fixef.to_numpy(), refit.varcorr["vcov"].to_numpy(dtype=float)])
    diff = new - full
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(full != 0, diff / np.abs(full), np.nan)
    table = pd.DataFrame({"full": full, "without": new, "difference": diff, "relative_change": rel},
                         index=pd.Index(names, name="estimate"))
    return WithoutResult(group, tuple(wanted), refit, table)

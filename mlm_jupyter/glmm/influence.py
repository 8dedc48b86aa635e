"""Cluster influence for GLMMs: deletion refits, exact or one-step.

For every level j of a grouping factor the model is refitted without its rows (the
factor keeps all its levels; the deleted one has no data, so its mode is 0 and it adds
nothing to the criterion).  ``exact=True`` optimises from the full fit's estimates;
``exact=False`` takes one Newton step x̂ - H⁻¹∇F₍ⱼ₎(x̂) with the full fit's Hessian
(influence.ME's and lme4's one-step idea; one PIRLS and one gradient per cluster).
Measures as influence.ME (Nieuwenhuis et al. 2012), with V the R_X covariance of β:

    cooks_j = (β̂ - β̂₍ⱼ₎)' V⁻¹ (β̂ - β̂₍ⱼ₎) / p,   dfbetas_jk = (β̂_k - β̂₍ⱼ₎k) / SE₍ⱼ₎k,

and for exact refits mdffits (V₍ⱼ₎ instead of V), covratio = det V₍ⱼ₎ / det V and
covtrace = |tr(V⁻¹V₍ⱼ₎) - p|.  ``flag``: cooks above 4/(number of clusters).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..engine.families import make_family
from ..engine.glmm_fit import fit_glmm_design, prepare
from ..engine.glmm_optimize import GLMMOptimization
from ..engine.threads import single_blas_thread

if TYPE_CHECKING:  # pragma: no cover
    from ..design import Design
    from .results import GLMMResult


def subset_design(design: Design, keep: np.ndarray) -> Design:
    """The design on the rows ``keep`` (boolean), every grouping factor keeping its levels."""
    terms = tuple(replace(t, codes=t.codes[keep], Z=t.Z[keep]) for t in design.terms)
    return replace(
        design, y=design.y[keep], X=design.X[keep], terms=terms,
        row_index=design.row_index[keep],
        offset=None if design.offset is None else design.offset[keep],
        trials=None if design.trials is None else design.trials[keep],
        weights=None if design.weights is None else design.weights[keep],
    )


def _subset_fit(res: GLMMResult, keep: np.ndarray, exact: bool):
    """(β, V_RX or None) of the model without the rows not in ``keep``."""
    from ..engine.glmm_vcov import rx_vcov

    fam = res.fit_state.family
    design = subset_design(res.design, keep)
    trials = None if res.design.trials is None else res.design.trials[keep]
    sub = make_family(fam.name, fam.link, fam.y[keep], fam.weights[keep], trials=trials,
                      theta=fam.theta)
    start = res.optimization.params
    if exact:
        state = fit_glmm_design(design, sub, nagq=res.nagq, start=start, polish=False,
                                like=res.fit_state)
        return state.beta, rx_vcov(state)
    prep = prepare(design, sub, like=res.fit_state)
    crit = prep.criterion
    with single_blas_thread():
        g = crit.value_and_gradient(start)[1]
    rec: GLMMOptimization = res.optimization
    free = rec.free
    step = np.zeros_like(start)
    step[free] = np.linalg.solve(rec.hessian, g[free])
    x = start - step
    beta = prep.scaling.to_user(x[crit.n_theta : crit.n_theta + crit.p])
    return beta, None


def influence(res: GLMMResult, group: str | None = None, exact: bool = True) -> pd.DataFrame:
    """Per level of ``group`` (default the first factor): n_obs, cooks, dfbetas, ... (above)."""
    groups = [t.group for t in res.design.terms]
    group = groups[0] if group is None else group
    if group not in groups:
        raise KeyError(f"'{group}' is not a grouping factor of this model; use one of {groups}.")
    term = res.design.terms[groups.index(group)]
    beta = res.fixef.to_numpy()
    V = res.vcov_rx.to_numpy()
    Vinv = np.linalg.inv(V)
    p = beta.size
    rows = []
    for j, level in enumerate(term.levels):
        drop = term.codes == j
        b, Vj = _subset_fit(res, ~drop, exact)
        d = beta - b
        row = {"level": str(level), "n_obs": int(drop.sum()), "cooks": float(d @ Vinv @ d) / p}
        se = np.sqrt(np.diag(Vj if Vj is not None else V))
        for name, dk, sk in zip(res.fixef.index, d, se, strict=True):
            row[f"dfbetas_{name}"] = float(dk / sk)
        if Vj is not None:
            row["mdffits"] = float(d @ np.linalg.solve(Vj, d)) / p
            row["covratio"] = float(np.linalg.det(Vj) / np.linalg.det(V))
            row["covtrace"] = float(abs(np.trace(Vinv @ Vj) - p))
        rows.append(row)
    out = pd.DataFrame(rows).set_index("level")
    out["flag"] = out["cooks"] > 4.0 / len(out)
    out.attrs.update(group=group, exact=exact)
    return out

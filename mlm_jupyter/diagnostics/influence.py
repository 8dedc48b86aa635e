"""Cluster-deletion influence (HLMdiag's definitions with ``approx = FALSE``), exact and fast.

For every level j of a grouping factor the model is refitted without j's rows and compared
with the full fit (γ̂, V = vcov(γ̂), p fixed effects; subscript (j) = without cluster j):

    cooks    = d' V⁻¹ d / p,         d = γ̂ - γ̂_(j)
    mdffits  = d' V_(j)⁻¹ d / p
    covratio = det V_(j) / det V
    covtrace = | tr(V⁻¹ V_(j)) - p |
    rvc:<row> = vc_(j) / vc - 1     for every row of ``res.varcorr`` (variances, covariances,
                                    the residual variance); NaN where vc = 0
    leverage = Σ_{i in j} h_i       (lme4's hat values of the full fit)

The refits subtract the cluster's cross-products and warm-start from θ̂ (see ``refit``).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..caching import result_memo
from ..engine.threads import single_blas_thread
from .onestep import one_step_all, per_level_xy_gram
from .refit import DeletionRefitter, RefitError
from .residuals import hatvalues

if TYPE_CHECKING:  # pragma: no cover
    from ..results import MixedModelResult

#: A cluster is flagged when its Cook's distance exceeds FLAG_FACTOR / G (G clusters):
#: the usual 4/G cut-off for deletion diagnostics (Belsley-Kuh-Welsch style, as in HLMdiag's docs).
FLAG_FACTOR = 4.0


def varcorr_labels(res: MixedModelResult) -> list[str]:
    """Readable names of the varcorr rows: ``school|(Intercept)``, ``school|(Intercept)|cses``,
    ``Residual`` (group, var1 and, for a covariance, var2, joined by ``|``)."""
    out = []
    for row in res.varcorr.itertuples(index=False):
        parts = [str(x) for x in (row.group, row.var1, row.var2) if isinstance(x, str) and x]
        out.append("|".join(parts))
    return out


def resolve_group(res: MixedModelResult, group: str | None) -> str:
    """The grouping factor to delete by (default: the first in lme4's order)."""
    names = res.group_names
    if group is None:
        return names[0]
    if group in names:
        return group
    close = difflib.get_close_matches(str(group), names, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise KeyError(
        f"'{group}' is not a grouping factor of this model.{hint} "
        f"Grouping factors: {', '.join(repr(n) for n in names)}."
    )


def group_codes(res: MixedModelResult, group: str) -> tuple[np.ndarray, tuple[str, ...]]:
    for term in res.design.terms:
        if term.group == group:
            return term.codes, term.levels
    raise KeyError(group)  # pragma: no cover - resolve_group already checked


def _varcorr_vector(T: list[np.ndarray], sigma: float) -> np.ndarray:
    """varcorr ``vcov`` column (per term: variances, then covariances column by column; σ²)."""
    out: list[float] = []
    for Tk in T:
        S = sigma**2 * (Tk @ Tk.T)
        q = S.shape[0]
        out.extend(np.diag(S))
        out.extend(S[i, j] for j in range(q) for i in range(j + 1, q))
    out.append(sigma**2)
    return np.asarray(out)


def influence(res: MixedModelResult, group: str | None = None, exact: bool = True,
              progress: bool | None = None) -> pd.DataFrame:
    """Cluster-deletion influence for every level of ``group``.

    Parameters
    ----------
    res : MixedModelResult
    group : str, optional
        A grouping factor of the model (lme4's name, e.g. ``"school"``, ``"batch"`` for the
        outer factor of ``(1 | batch/cask)``, either factor of a crossed design).  Default:
        the first grouping factor in lme4's order.  Deleting a level removes all its rows
        (for an outer factor: every inner level inside it).
    exact : bool, default True
        True: a full refit (θ re-estimated) per cluster.  False: the one-step approximation
        with θ held at θ̂ (β̂ and σ̂ recomputed); the random-effect ``rvc`` columns are then
        NaN (with θ fixed they would only echo the residual's change).
    progress : bool, optional
        Show a progress bar; default: in notebooks and terminals when the refits take more
        than a second (see :mod:`mlm_jupyter.progress`).

    Returns
    -------
    pandas.DataFrame
        Index: levels (str).  Columns ``n_obs, cooks, mdffits, covratio, covtrace,
        leverage``, one ``rvc:<row>`` column per varcorr row (``rvc:school|(Intercept)``,
        ``rvc:school|(Intercept)|cses``, ``rvc:Residual``), ``flag`` (Cook's distance >
        4/G) and ``note`` (why a row is empty, or a convergence warning; '' otherwise).
    """
    group = resolve_group(res, group)
    # check() and the explorer's Diagnostics panel ask for the same table as the user: the
    # refits run once per result; callers get a copy so they cannot alter the stored one.
    memo = result_memo(res)
    if (group, exact) not in memo:
        memo[(group, exact)] = _influence_table(res, group, exact, progress)
    return memo[(group, exact)].copy()


def _influence_table(
    res: MixedModelResult, group: str, exact: bool, progress: bool | None
) -> pd.DataFrame:
    from ..progress import Progress

    codes, levels = group_codes(res, group)
    design = res.design
    p = design.p
    beta = res.fixef.to_numpy()
    V = res.vcov.to_numpy()
    Vinv = np.linalg.inv(V)
    logdet_V = np.linalg.slogdet(V)[1]
    vc = res.varcorr["vcov"].to_numpy(dtype=float)
    labels = ["rvc:" + lab for lab in varcorr_labels(res)]
    hat = hatvalues(res).to_numpy()
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(levels) + 1))
    G = len(levels)

    stats = np.full((G, 5 + len(labels)), np.nan)
    n_obs = np.diff(bounds)
    leverage = np.array([hat[order[bounds[j]:bounds[j + 1]]].sum() for j in range(G)])
    notes = [""] * G

    def record(j: int, beta_j: np.ndarray, Vj: np.ndarray, rvc: np.ndarray) -> None:
        d = beta - beta_j
        stats[j] = [
            d @ Vinv @ d / p,
            d @ np.linalg.solve(Vj, d) / p,
            np.exp(np.linalg.slogdet(Vj)[1] - logdet_V),
            abs(np.trace(Vinv @ Vj) - p),
            leverage[j],
            *rvc,
        ]

    vc_safe = np.where(vc != 0, vc, np.nan)
    if not exact and len(design.terms) == 1:
        # One random term and θ fixed: every deletion is a (p+1)-sized update (onestep.py).
        gram = per_level_xy_gram(res, codes, G)
        xtx = res.engine_design.X.T @ res.engine_design.X  # the gram's (engine) units
        checker = DeletionRefitter(res, exact=False)
        for j in range(G):
            rows = order[bounds[j]:bounds[j + 1]]
            notes[j] = checker.blocker(rows, design.n - int(n_obs[j]), xtx - gram[j, :p, :p])
        todo = np.flatnonzero([not n for n in notes])
        beta_all, sigma_all, V_all, ok = one_step_all(res, gram, n_obs, todo)
        for k in todo:
            j = int(k)
            if not ok[j]:
                notes[j] = "the fit without this cluster is not positive definite"
                continue
            rvc = np.full(len(labels), np.nan)
            rvc[-1] = sigma_all[j] ** 2 / vc_safe[-1] - 1.0
            record(j, beta_all[j], V_all[j], rvc)
        todo_loop: range | list[int] = []
    else:
        todo_loop = range(G)
    with single_blas_thread(), Progress(len(todo_loop), f"influence ({group})",
                                         progress if len(todo_loop) else False,
                                         unit="refits") as bar:
        refitter = DeletionRefitter(res, exact=exact) if len(todo_loop) else None
        for j in todo_loop:
            bar.update()
            assert refitter is not None
            try:
                fit = refitter.refit(order[bounds[j]:bounds[j + 1]])
            except RefitError as exc:
                notes[j] = str(exc)
                continue
            if not fit.converged:
                notes[j] = "the refit without this cluster did not converge; values are approximate"
            with np.errstate(divide="ignore", invalid="ignore"):
                rvc = _varcorr_vector(fit.factors, fit.sigma) / vc_safe - 1.0
            if not exact:
                rvc[:-1] = np.nan
            record(j, fit.beta, fit.vcov, rvc)
    table = pd.DataFrame(stats, index=pd.Index(levels, name=group),
                         columns=["cooks", "mdffits", "covratio", "covtrace", "leverage", *labels])
    table["leverage"] = leverage
    table.insert(0, "n_obs", n_obs.astype(int))
    table["flag"] = table["cooks"] > FLAG_FACTOR / G
    table["note"] = notes
    return table

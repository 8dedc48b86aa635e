"""``res.all_fit()``: refit with other optimisers and starts and compare (lme4's ``allFit``).

The table answers the question a convergence message raises: do other optimisers find the
same optimum?  If every run reaches the same criterion and estimates, the fit is sound; a
spread in the estimates means the data do not pin the model down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..engine.alternatives import run_all
from ..engine.objective import solve
from ..engine.threads import blas_limit
from ..inference.confint import theta_to_sdcor, varpar_names

if TYPE_CHECKING:  # pragma: no cover
    from ..results import MixedModelResult

#: Runs whose criterion is within this of the best count as reaching the same optimum.
SAME_OPTIMUM = 1e-4


def all_fit(res: MixedModelResult) -> pd.DataFrame:
    """Refit ``res`` with every available optimiser and two other starts.

    Returns
    -------
    pandas.DataFrame
        One row per run (index: optimiser and start) with ``objective`` (REML criterion or
        deviance, as ``res.objective``), ``delta`` (its excess over the best run),
        ``converged`` (the run passed the optimum checks), ``max_grad`` (lme4's scaled
        gradient), ``n_evals``, ``seconds``, ``message``, then every fixed effect and every
        random-effect SD/correlation and ``sigma`` (readable names as ``res.confint()``).
        ``attrs["spread"]`` holds, per parameter, the largest difference between runs that
        reached the best optimum (within 1e-4), relative to the estimate's size (absolute
        for correlations); ``attrs["summary"]`` says in words whether the runs agree.
    """
    obj, cond = res.engine, res.conditioning
    readable, _ = varpar_names(res)
    with blas_limit(obj):
        runs = run_all(obj)
        rows = []
        for run in runs:
            row: dict = {
                "objective": cond.criterion(run.objective, res.reml, res.nobs)
                if np.isfinite(run.objective) else np.nan,
                "converged": run.converged, "max_grad": run.max_scaled_gradient,
                "n_evals": run.n_evals, "seconds": run.seconds, "message": run.message,
            }
            params = np.full(len(res.fixef) + len(readable), np.nan)
            if np.all(np.isfinite(run.theta)):
                sol = solve(obj, run.theta)
                theta = cond.theta(run.theta, obj.cp)
                sdcor = theta_to_sdcor(obj.cp, theta, cond.scale * sol.sigma)
                params = np.concatenate([cond.beta(sol.beta), sdcor])
            row.update(zip([*res.fixef.index, *readable], params, strict=True))
            rows.append(row)
    table = pd.DataFrame(rows, index=pd.Index([r.name for r in runs], name="optimizer"))
    table.insert(1, "delta", table["objective"] - table["objective"].min())
    _spread(table, res, readable)
    return table


def _spread(table: pd.DataFrame, res: MixedModelResult, readable: list[str]) -> None:
    names = [*res.fixef.index, *readable]
    same = table["delta"] <= SAME_OPTIMUM
    values = table.loc[same, names]
    size = values.abs().max().where(lambda s: s > 0, 1.0)
    is_cor = pd.Series([n.startswith("cor_") for n in names], index=names)
    rng = values.max() - values.min()
    spread = rng.where(is_cor, rng / size)
    table.attrs["spread"] = spread
    n_same, n_all = int(same.sum()), len(table)
    worst = float(spread.max()) if len(spread) else 0.0
    if n_same == n_all and worst < 1e-3:
        text = (f"All {n_all} runs reach the same optimum; the estimates agree to "
                f"{worst:.1e} (relative). The fit does not depend on the optimiser.")
    elif worst < 1e-3:
        text = (f"{n_same} of {n_all} runs reach the best optimum and agree on the estimates "
                f"(to {worst:.1e}); the others stopped early (see 'delta').")
    else:
        text = (f"Runs reaching the best criterion disagree on the estimates (largest spread "
                f"{worst:.2g}, in {spread.idxmax()!r}): the data do not determine this model "
                "well. Consider a simpler random-effects structure.")
    table.attrs["summary"] = text

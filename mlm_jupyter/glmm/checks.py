"""``res.check()`` for a GLMM: the simulation-based tests, influence and the fit itself.

Each check returns a :class:`~mlm_jupyter.diagnostics.checks.Finding` (the LMM's), so the
notebook and the report show both kinds of model the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..diagnostics.checks import Finding
from .dharma import (
    dispersion_test,
    outlier_test,
    simulate_residuals,
    uniformity_test,
    zero_inflation_test,
)

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult

ALPHA = 0.05


def check(res: GLMMResult, nsim: int = 250, seed: Any = 1, influence: bool = True) -> list:
    """Convergence, singularity, DHARMa's tests and influential clusters."""
    out = []
    out.append(Finding(
        "convergence",
        "the optimum passed the gradient and Hessian checks" if res.converged
        else "; ".join(res.optimization.messages) or "not converged",
        "" if res.converged else "rescale predictors, simplify the random part, or compare "
        "fits from other starts",
        "ok" if res.converged else "warning"))
    if res.is_singular:
        out.append(Finding("singular fit", "a variance is estimated as 0 or a correlation as ±1",
                           "res.varcorr; consider dropping that random term", "note"))
    sim = simulate_residuals(res, nsim=nsim, seed=seed)
    u = uniformity_test(sim)
    out.append(Finding(
        "residual distribution", f"simulated quantile residuals vs uniform: KS p = {u['p']:.3g}",
        "QQ plot of res.simulate_residuals() (a wrong family or link, missing predictors)"
        if u["p"] < ALPHA else "", "warning" if u["p"] < ALPHA else "ok"))
    d = dispersion_test(sim)
    if res.family != "binomial" or res.design.trials is not None:
        kind = "overdispersion" if d["ratio"] > 1 else "underdispersion"
        out.append(Finding(
            "dispersion", f"ratio {d['ratio']:.3g} (simulated p = {d['p']:.3g})",
            (f"{kind}: " + ("a negative binomial family, an observation-level random "
                            "effect (1 | obs), or missing predictors")) if d["p"] < ALPHA else "",
            "warning" if d["p"] < ALPHA else "ok"))
    if res.family != "binomial":
        z = zero_inflation_test(sim)
        out.append(Finding(
            "zero inflation",
            f"{z['observed']:.0f} zeros observed, {z['expected']:.1f} expected (p = {z['p']:.3g})",
            "a zero-inflated or hurdle model" if z["p"] < ALPHA and z["ratio"] > 1 else "",
            "warning" if z["p"] < ALPHA else "ok"))
    o = outlier_test(sim)
    out.append(Finding(
        "outliers", f"{int(o['outliers'])} observations outside all {nsim} simulations "
        f"({o['expected']:.1f} expected, p = {o['p']:.3g})",
        "those rows' data" if o["p"] < ALPHA else "", "note" if o["p"] < ALPHA else "ok"))
    if influence and any(t.n_levels < res.nobs for t in res.design.terms):
        # the first grouping factor that is not observation-level (one row per level)
        group = next((t.group for t in res.design.terms if t.n_levels < res.nobs), None)
        table = res.influence(group=group, exact=False)
        flagged = list(table.index[table["flag"]])
        out.append(Finding(
            "influential clusters",
            f"{len(flagged)} of {len(table)} {table.attrs['group']} clusters with Cook's "
            f"distance above 4/{len(table)}" + (f": {', '.join(flagged[:8])}" if flagged else ""),
            "res.influence(exact=True) and a refit without them" if flagged else "",
            "note" if flagged else "ok"))
    return out

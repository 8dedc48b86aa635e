"""Complete and quasi-complete separation of the fixed effects (infinite estimates).

The fixed-effects part is separated when some direction d ≠ 0 of β never decreases the
likelihood: x_i'd ≥ 0 where y_i is at its upper bound (a binomial 1), x_i'd ≤ 0 where it
is at its lower bound (0), and x_i'd = 0 elsewhere.  The linear programme

    maximise Σ_i s_i x_i'd   subject to  s_i x_i'd ≥ 0,  x_i'd = 0 (s_i = 0),  |d_k| ≤ 1

(s_i = +1, -1 or 0) has a positive optimum exactly then (Konis 2007, R's detectseparation).
It is solved only when the GLM start shows the symptom (fitted means at 0 or 1), so an
ordinary fit pays nothing.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from ..engine.families import Family


def separation_signs(family: Family) -> np.ndarray | None:
    """s_i for each row (None for families where separation cannot occur this way)."""
    y, w = family.y, family.weights
    if family.name == "binomial":
        s = np.where(y >= 1, 1.0, np.where(y <= 0, -1.0, 0.0))
    else:  # counts: all-zero cells send log μ to -inf
        s = np.where(y <= 0, -1.0, 0.0)
    s[w == 0] = np.nan
    return s


def shows_symptoms(family: Family, eta: np.ndarray) -> bool:
    """Fitted means of the fixed-effects start numerically at the bounds."""
    if family.name == "binomial":
        return bool(np.any(np.abs(eta) > 15.0))
    return bool(np.any(eta < np.log(max(float(family.y.mean()), 1e-300)) - 15.0))


def separated_columns(family: Family, X: np.ndarray, names: tuple[str, ...]) -> list[str]:
    """Names of the fixed effects along a separating direction ([] when there is none)."""
    s = separation_signs(family)
    if s is None or X.shape[1] == 0:
        return []
    use = ~np.isnan(s)
    Xs, s = X[use], s[use]
    scale = np.maximum(np.abs(Xs).max(axis=0), 1e-300)
    Xs = Xs / scale
    ineq = s != 0
    A_ub = -(s[ineq, None] * Xs[ineq])
    c = -(s[ineq] @ Xs[ineq])
    eq = ~ineq
    res = linprog(
        c, A_ub=A_ub if ineq.any() else None, b_ub=np.zeros(int(ineq.sum())) if ineq.any()
        else None, A_eq=Xs[eq] if eq.any() else None,
        b_eq=np.zeros(int(eq.sum())) if eq.any() else None,
        bounds=[(-1, 1)] * X.shape[1], method="highs",
    )
    if res.status != 0 or -res.fun <= 1e-7 * max(1, ineq.sum()):
        return []
    d = res.x
    along = [n for n, dk in zip(names, d, strict=True) if abs(dk) > 1e-6]
    # The intercept only shifts the separating line; name it alone only when it is all.
    return [n for n in along if n != "(Intercept)"] or along

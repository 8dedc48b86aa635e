"""The ``predictions`` block of the explorer state (the Predictions tab, js/src/panels/).

The browser already has γ̂, Var(γ̂), σ and every variable's summary; for prediction bands it
also needs the random part of **every** grouping factor, since a prediction interval for a
new observation in a new cluster adds Σ_g z_g(v)'T_g z_g(v) + σ² to x(v)'Var(γ̂)x(v).  Each
random-effects column is written as a monomial of the state's variables (as
``fixed.monomials``), or ``null`` and held at its mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .explorer_diagnostics import _full, _term_index

LEVEL = 0.95


def _defaults(res: Any, state: dict) -> tuple[str | None, str | None]:
    """The tab's first x and grouping variable, as the report's effect plot chooses them."""
    from ..effects.response_grid import default_terms

    variables = state["variables"]
    factors = state.get("factors", {})
    continuous = [n for n, v in variables.items()
                  if v.get("kind") == "continuous" and v.get("in_fixed") and "factor" not in v]
    try:
        terms = default_terms(res)
    except (AttributeError, ValueError):
        terms = []
    x = terms[0] if terms and terms[0] in continuous else (continuous[0] if continuous else None)
    by = terms[1] if len(terms) > 1 else None
    if by is not None and by not in factors and by not in variables:
        by = None
    return x, by


def predictions_block(res: Any, state: dict) -> dict:
    """``{level, x, by, random: [{group, terms, monomials, held, tau}]}`` for the state."""
    from ..warehouse.rows import origin_of
    from .explorer_state import monomial

    known = set(state["variables"])
    random = []
    for group in res.ngroups:
        cov = res.tau(group)
        names = [str(n) for n in cov.index]
        ks = _term_index(res, group)
        if origin_of(res) is not None:  # rows in a database: the means from its aggregates
            from ..warehouse.effects import random_column_means

            held = random_column_means(res, ks)
        else:
            Z = np.hstack([res.design.terms[k].Z for k in ks])
            held = [float(Z[:, j].mean()) for j in range(Z.shape[1])]
        random.append({
            "group": str(group),
            "terms": names,
            "monomials": [monomial(n, known) for n in names],
            "held": held,
            "tau": _full(cov.to_numpy(dtype=float)),
        })
    x, by = _defaults(res, state)
    return {"level": LEVEL, "x": x, "by": by, "random": random}

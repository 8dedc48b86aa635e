"""The explorer's state with the posterior in place of the REML point estimates.

Additive: the REML explorer state (:func:`..display.explorer_state.build_state`) keeps its
schema; the fixed effects' estimates and covariance become the posterior mean and covariance
of the draws (so the simple-slope panel shows the posterior's normal approximation), the
slope distributions across clusters come from the posterior predictive of a new cluster's
coefficient (β_k + b, b ~ N(0, sd_k²), per draw), and ``state["posterior"]`` carries up to
1000 draws of β for front-end code that computes slopes draw by draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .result import BayesianResult

MAX_DRAWS = 1000


def slope_ranges(res: BayesianResult, level: float = 0.95, seed: int = 0) -> list[dict]:
    """Per random term with a fixed effect: the posterior predictive range of a cluster's
    coefficient (``estimate`` the posterior mean of β_k, ``sd`` that of sd_k)."""
    rng = np.random.default_rng(seed)
    beta = res.draws.beta.reshape(-1, res.design.p)
    fixed = list(res.design.fixed_names)
    lo = (1.0 - level) / 2.0
    rows = []
    for i, s in enumerate(res.names.sds):
        col = res.design.terms[s.term].columns[s.column]
        if col not in fixed:
            continue
        b = beta[:, fixed.index(col)]
        sd = res.draws.sd[:, :, i].ravel()
        coef = b + sd * rng.standard_normal(sd.size)
        est = float(b.mean())
        rows.append({"group": s.group, "term": col, "estimate": est, "sd": float(sd.mean()),
                     "lower": float(np.quantile(coef, lo)),
                     "upper": float(np.quantile(coef, 1.0 - lo)),
                     "share_opposite_sign": float(np.mean(np.sign(coef) != np.sign(est)))})
    return rows


def with_posterior(state: dict[str, Any], res: BayesianResult) -> dict[str, Any]:
    """A copy of an explorer state showing the posterior (see the module docstring)."""
    out = dict(state)
    beta = res.draws.beta.reshape(-1, res.design.p)
    fixed = dict(out["fixed"])
    fixed["estimate"] = [float(v) for v in beta.mean(axis=0)]
    fixed["vcov"] = np.atleast_2d(np.cov(beta, rowvar=False)).tolist()
    out["fixed"] = fixed
    out["slope_ranges"] = slope_ranges(res)
    keep = np.linspace(0, len(beta) - 1, min(MAX_DRAWS, len(beta))).round().astype(int)
    out["posterior"] = {"method": "bayes", "names": list(res.design.fixed_names),
                        "beta_draws": beta[keep].tolist(), "sigma": res.sigma}
    return out

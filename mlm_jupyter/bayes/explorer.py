"""The explorer's state with the posterior in place of the REML point estimates.

Additive: the REML explorer state (:func:`..display.explorer_state.build_state`) keeps its
schema; the fixed effects' estimates and covariance become the posterior mean and covariance
of the draws (so the simple-slope panel shows the posterior's normal approximation), the
slope distributions across clusters come from the posterior predictive of a new cluster's
coefficient (β_k + b, b ~ N(0, sd_k²), per draw), and ``state["posterior"]`` carries up to
1000 draws of β and of the explored factor's T, from which the browser computes simple
slopes, bands, the moderator region and the slope distribution draw by draw
(``js/src/posterior.js``).
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


def covariance_draws(res: BayesianResult, group: str) -> np.ndarray:
    """(draws, q, q) posterior draws of T for ``group``: every term of the factor, in the
    order of ``res.tau(group)`` (block-diagonal across ``||`` pieces), flattened over chains."""
    terms = [k for k, t in enumerate(res.design.terms) if t.group == group]
    q = sum(res.design.terms[k].q for k in terms)
    sd = res.draws.sd.reshape(-1, res.draws.sd.shape[-1])
    cor = res.draws.cor.reshape(-1, res.draws.cor.shape[-1]) if res.draws.cor.size else None
    out = np.zeros((sd.shape[0], q, q))
    start = 0
    for k in terms:
        cols = {n.column: i for i, n in enumerate(res.names.sds) if n.term == k}
        width = res.design.terms[k].q
        for a in range(width):
            out[:, start + a, start + a] = sd[:, cols[a]] ** 2
        for c, name in enumerate(res.names.cors):
            if name.term == k and cor is not None:
                v = cor[:, c] * sd[:, cols[name.i]] * sd[:, cols[name.j]]
                out[:, start + name.i, start + name.j] = v
                out[:, start + name.j, start + name.i] = v
        start += width
    return out


def _components(res: BayesianResult) -> list[dict]:
    """Posterior means of every factor's T (the Variance tab's Tau table)."""
    out = []
    for group in res.ngroups:
        mean = covariance_draws(res, group).mean(axis=0)
        sd = np.sqrt(np.clip(np.diag(mean), 0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.where(np.outer(sd, sd) > 0, mean / np.outer(sd, sd), 0.0)
        np.fill_diagonal(corr, 1.0)
        terms = [c for t in res.design.terms if t.group == group for c in t.columns]
        out.append({"group": group, "terms": terms, "cov": mean.tolist(), "corr": corr.tolist()})
    return out


def with_posterior(state: dict[str, Any], res: BayesianResult) -> dict[str, Any]:
    """A copy of an explorer state showing the posterior (see the module docstring).

    Besides the fixed effects, slope ranges and ``posterior`` block: T, σ, the Tau table and
    the clusters' effects become posterior means (and SDs); the REML fit's Satterthwaite
    parts, reliabilities, ICC/R², Predictions and Diagnostics blocks are dropped (the
    browser shows what it can compute from the draws).
    """
    out = dict(state)
    beta = res.draws.beta.reshape(-1, res.design.p)
    fixed = dict(out["fixed"])
    fixed["estimate"] = [float(v) for v in beta.mean(axis=0)]
    fixed["vcov"] = np.atleast_2d(np.cov(beta, rowvar=False)).tolist()
    out["fixed"] = fixed
    out["slope_ranges"] = slope_ranges(res)
    group = out["group"]
    tau = covariance_draws(res, group)
    keep = np.linspace(0, len(beta) - 1, min(MAX_DRAWS, len(beta))).round().astype(int)
    out["posterior"] = {"method": "bayes", "names": list(res.design.fixed_names),
                        "beta_draws": beta[keep].tolist(), "tau_draws": tau[keep].tolist(),
                        "sigma_draws": res.draws.sigma.ravel()[keep].tolist(),
                        "sigma": res.sigma, "level": 0.95, "total_draws": int(len(beta))}
    random = dict(out["random"])
    mean_tau = tau.mean(axis=0)
    random["tau"] = mean_tau.tolist()
    random["sd"] = np.sqrt(np.clip(np.diag(mean_tau), 0, None)).tolist()
    out["random"] = random
    out["sigma"] = res.sigma
    out["variance_components"] = _components(res)
    clusters = dict(out["clusters"])
    means, sds = res.ranef[group].reindex(clusters["ids"]), res.ranef_se[group].reindex(
        clusters["ids"])
    clusters["ranef"] = {t: [float(v) for v in means[t]] for t in clusters["ranef"]}
    clusters["ranef_se"] = {t: [float(v) for v in sds[t]] for t in clusters["ranef_se"]}
    # the caterpillar's intervals: the draws' equal-tailed 95% quantiles, not mean ± 1.96 SD
    summary = res.ranef_summary(group)
    for end in ("lower", "upper"):
        wide = summary.pivot(index="level", columns="term", values=end).reindex(clusters["ids"])
        clusters[f"ranef_{end}"] = {t: [float(v) for v in wide[t]] for t in clusters["ranef"]}
    out["clusters"] = clusters
    out.update(satterthwaite=None, ddf_residual=None, reliability=None, icc=None, r2=None)
    for key in ("predictions", "diagnostics"):
        out.pop(key, None)
    return out

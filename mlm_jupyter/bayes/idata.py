"""Draws as an ArviZ InferenceData, with brms' variable names."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..design import Design
from .draws import Draws
from .names import ParameterNames, brms_coef

#: posterior predictive replicates kept (spread over the chains)
N_PPC = 100


def named_draws(draws: Draws, names: ParameterNames) -> dict[str, np.ndarray]:
    """brms name -> (chains, draws) array, in brms' order."""
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(names.fixed):
        out[name] = draws.beta[:, :, i]
    for i, s in enumerate(names.sds):
        out[s.name] = draws.sd[:, :, i]
    for i, c in enumerate(names.cors):
        out[c.name] = draws.cor[:, :, i]
    out["sigma"] = draws.sigma
    return out


def ranef_names(design: Design) -> list[str]:
    """brms' names of the random-effects arrays: ``r_g`` (with a suffix for repeated groups)."""
    seen: dict[str, int] = {}
    out = []
    for term in design.terms:
        base = f"r_{term.group}"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
    return out


def fitted_draws(design: Design, draws: Draws, idx: list[tuple[int, int]]) -> np.ndarray:
    """X β + Z b for the draws ``idx`` ((chain, draw) pairs with random-effect draws)."""
    out = np.empty((len(idx), design.n))
    for r, (c, d) in enumerate(idx):
        mu = design.X @ draws.beta[c, d]
        for k, term in enumerate(design.terms):
            b = draws.ranef[k][c, d // draws.ranef_thin]
            mu = mu + np.einsum("nq,nq->n", term.Z, b[term.codes])
        out[r] = mu
    return out


def posterior_predictive(design: Design, draws: Draws, seed: int | None) -> np.ndarray:
    """y_rep for up to :data:`N_PPC` draws, shape (chains, n_per_chain, n)."""
    C, D = draws.sigma.shape
    kept = np.arange(0, D, draws.ranef_thin)
    per_chain = max(1, min(len(kept), N_PPC // C))
    pick = kept[np.linspace(0, len(kept) - 1, per_chain).round().astype(int)]
    idx = [(c, int(d)) for c in range(C) for d in pick]
    rng = np.random.default_rng(None if seed is None else [int(seed), 104729])
    mu = fitted_draws(design, draws, idx)
    sig = np.array([draws.sigma[c, d] for c, d in idx])
    y_rep = mu + sig[:, None] * rng.standard_normal(mu.shape)
    return y_rep.reshape(C, per_chain, design.n)


def inference_data(draws: Draws, names: ParameterNames, design: Design, stats: Any,
                   y_rep: np.ndarray) -> Any:
    """posterior (brms names; ``r_<group>`` as (chain, draw, level, coef)), sample_stats,
    posterior_predictive (``y``), observed_data."""
    import arviz as az

    posterior: dict[str, np.ndarray] = dict(named_draws(draws, names))
    coords: dict[str, Any] = {}
    dims: dict[str, list[str]] = {}
    if draws.ranef_thin == 1:
        for rname, term, arr in zip(ranef_names(design), design.terms, draws.ranef, strict=True):
            lev, coef = f"{rname}_level", f"{rname}_coef"
            posterior[rname] = arr
            coords[lev] = list(term.levels)
            coords[coef] = [brms_coef(c) for c in term.columns]
            dims[rname] = [lev, coef]
    coords["obs"] = np.arange(design.n)
    dims["y"] = ["obs"]
    sample_stats = {k: np.asarray(stats[k].values) for k in
                    ("diverging", "depth", "maxdepth_reached", "energy", "step_size", "n_steps",
                     "logp") if k in stats}
    sample_stats["lp"] = sample_stats.pop("logp", np.zeros(draws.sigma.shape))
    sample_stats["tree_depth"] = sample_stats.pop("depth", np.zeros(draws.sigma.shape))
    with _quiet():
        idata = az.from_dict(
            posterior=posterior, sample_stats=sample_stats,
            posterior_predictive={"y": y_rep}, observed_data={"y": design.y},
            coords=coords, dims=dims,
        )
    return idata


class _quiet:
    """Silence ArviZ's FutureWarning about its coming refactor while converting."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", FutureWarning)

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)

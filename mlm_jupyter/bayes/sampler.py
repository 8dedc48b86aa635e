"""NUTS on the low-dimensional marginal posterior, through nutpie.

nutpie (a maintained Rust implementation of NUTS with Stan's warmup and a gradient-based
mass-matrix adaptation) samples any Python log density that returns its gradient.  Here
that density is :class:`.posterior.LogPosterior`: only the covariance parameters (and
Student-t mixing scales), never β or the random effects, so a step costs one evaluation
on the cross-products.  ``benchmarks/bayes_bench.py`` has the timings behind this choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .posterior import LogPosterior

INSTALL_HINT = (
    "Bayesian estimation needs the optional packages nutpie and arviz: "
    "pip install 'mlm_jupyter[bayes]'."
)


@dataclass(frozen=True)
class SamplerRun:
    """Draws of ζ and the sampler's per-draw statistics."""

    zeta: np.ndarray  # (chains, draws, dim)
    stats: Any  # xarray.Dataset of nutpie's sample statistics
    divergent: int
    max_treedepth_hits: int
    max_treedepth: int


def require_sampler() -> Any:
    """Import nutpie (and check arviz) or explain how to install them."""
    try:
        import arviz  # noqa: F401
        import nutpie
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(INSTALL_HINT) from err
    return nutpie


def run_nuts(
    logp: LogPosterior,
    init: np.ndarray,
    *,
    draws: int,
    warmup: int,
    chains: int,
    seed: int | None,
    target_accept: float,
    cores: int | None,
    max_treedepth: int = 10,
    jitter: float = 1.0,
) -> SamplerRun:
    """Sample ``chains`` chains of ``draws`` draws after ``warmup`` adaptation steps.

    Chains start at ``init`` (the REML estimates on ζ) plus uniform(-jitter, jitter) noise
    per coordinate, drawn from ``seed``: the same seed gives the same draws.
    """
    nutpie = require_sampler()
    from nutpie.compiled_pyfunc import from_pyfunc

    dim = logp.dim
    init = np.asarray(init, dtype=float)

    def make_logp():
        return logp

    def make_expand(seed1: int, seed2: int, chain: int):
        def expand(x: np.ndarray) -> dict[str, np.ndarray]:
            return {"zeta": np.array(x, dtype=np.float64)}

        return expand

    def initial_point(chain_seed: int) -> np.ndarray:
        rng = np.random.default_rng(chain_seed)
        return init + rng.uniform(-jitter, jitter, size=dim)

    model = from_pyfunc(dim, make_logp, make_expand, [np.dtype("float64")], [(dim,)], ["zeta"],
                        make_initial_point_fn=initial_point)
    seed = int(np.random.SeedSequence().generate_state(1)[0]) if seed is None else int(seed)
    trace = nutpie.sample(
        model, draws=draws, tune=warmup, chains=chains, cores=cores or min(chains, 2),
        seed=seed, progress_bar=False, save_warmup=False, target_accept=target_accept,
        maxdepth=max_treedepth,
    )
    stats = trace.sample_stats
    zeta = np.asarray(trace.posterior["zeta"].values)
    return SamplerRun(
        zeta=zeta, stats=stats,
        divergent=int(np.asarray(stats["diverging"]).sum()),
        max_treedepth_hits=int(np.asarray(stats["maxdepth_reached"]).sum()),
        max_treedepth=max_treedepth,
    )

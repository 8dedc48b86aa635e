"""``mlm.fit(..., method="bayes")``: formula + data + priors -> BayesianResult."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..spec import ModelSpec
from .result import BayesianResult, SamplerInfo

DEFAULT_WARMUP = 500

#: R-hat above this (Vehtari et al. 2021's threshold, the reference checks') gets a message
RHAT_LIMIT = 1.01


class BayesWarning(UserWarning):
    """Divergent transitions, tree-depth hits and unconverged chains."""


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, not {value!r}.")
    return int(value)


def fit_bayes(
    formula: str | ModelSpec,
    data: pd.DataFrame,
    priors: dict[str, str] | None = None,
    draws: int = 1000,
    chains: int = 4,
    seed: int | None = None,
    *,
    warmup: int = DEFAULT_WARMUP,
    target_accept: float = 0.8,
    cores: int | None = None,
    center: bool | None = None,
    warn: bool = True,
) -> BayesianResult:
    """The posterior of a linear mixed model, sampled by NUTS (see :func:`mlm_jupyter.fit`).

    The model is brms' ``brm(formula, data, prior)`` for a Gaussian response:

        y = Xβ + Zb + e,  e ~ N(0, σ²),  b_gj ~ N(0, diag(sd) Ω diag(sd)),

    with priors in brms' vocabulary (:mod:`.priors`).  The random effects and β are
    integrated out analytically, NUTS samples the SDs, correlations and σ, and β and b are
    then drawn exactly from their conditional normals.

    Parameters
    ----------
    formula, data
        As for the REML fit.
    priors : dict, optional
        e.g. ``{"b": "normal(0, 10)", "sd": "student_t(3, 0, 10)", "cor": "lkj(1)",
        "sigma": "student_t(3, 0, 10)"}``; missing classes take brms' defaults.
    draws, chains, warmup : int
        Draws kept per chain, chains, adaptation steps per chain.
    seed : int, optional
        Same seed, same draws.
    target_accept : float
        NUTS' target acceptance rate (brms' ``adapt_delta``); raise it (0.95, 0.99) when
        divergent transitions are reported.
    cores : int, optional
        Chains run in parallel (default: up to 2).
    center : bool, optional
        Put the intercept's prior on the centred intercept (brms' default) or on the
        intercept at predictors = 0; default chosen from ``priors`` (:mod:`.priors`).
    warn : bool
        Emit :class:`BayesWarning` for sampling problems (also in ``res.messages``).
    """
    from ..design import build_design, used_frame
    from ..fitting import fit_design
    from ..formula import as_spec
    from ..intake import as_pandas
    from ..varcorr import group_levels
    from .draws import exact_draws, initial_point
    from .engine_link import build_link
    from .idata import inference_data, posterior_predictive
    from .names import parameter_names
    from .posterior import LogPosterior
    from .priors import resolve_priors
    from .sampler import require_sampler, run_nuts

    draws = _positive_int(draws, "draws")
    chains = _positive_int(chains, "chains")
    warmup = _positive_int(warmup, "warmup", 0)
    if not 0.0 < float(target_accept) < 1.0:
        raise ValueError(f"target_accept must be between 0 and 1 (e.g. 0.8 or 0.95), not "
                         f"{target_accept!r}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None, not {seed!r}.")
    require_sampler()
    spec = as_spec(formula)
    if not spec.random:
        raise ValueError("method='bayes' needs at least one random term such as (1 | g).")
    frame = as_pandas(data)
    design = build_design(spec, frame)
    used = used_frame(frame, design)
    names = parameter_names(design)
    prior_set = resolve_priors(priors, design, names, center)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reml = fit_design(design, reml=True, data=used)
    link = build_link(reml)
    logp = LogPosterior(link, names, prior_set)
    start = time.perf_counter()
    run = run_nuts(logp, initial_point(logp, reml), draws=draws, warmup=warmup, chains=chains,
                   seed=seed, target_accept=float(target_accept), cores=cores)
    all_draws = exact_draws(logp, run.zeta, seed)
    y_rep = posterior_predictive(design, all_draws, seed)
    idata = inference_data(all_draws, names, design, run.stats, y_rep)
    seconds = time.perf_counter() - start
    info = SamplerInfo(chains, draws, warmup, seed, float(target_accept), run.divergent,
                       run.max_treedepth_hits, run.max_treedepth, seconds)
    result = BayesianResult(
        spec=spec, design=design, data_used=used, names=names, prior_set=prior_set,
        draws=all_draws, idata=idata, sampler=info, nobs=design.n,
        ngroups=group_levels(design), n_dropped=design.n_dropped, messages=(),
        reml_fit=reml,
    )
    messages = tuple(design.messages) + sampling_messages(result)
    object.__setattr__(result, "messages", messages)
    if warn:
        for message in messages[len(design.messages):]:
            warnings.warn(message, BayesWarning, stacklevel=2)
    return result


def sampling_messages(res: BayesianResult) -> tuple[str, ...]:
    """Divergences, tree-depth hits and R-hat / ESS problems, each with what to do."""
    info = res.sampler
    out = []
    total = info.chains * info.draws
    if info.divergent:
        out.append(
            f"{info.divergent} of {total} transitions after warmup were divergent: the "
            "posterior has regions the sampler could not follow, so the draws may be biased. "
            f"Refit with a higher target_accept (now {info.target_accept:g}; try 0.95 or "
            "0.99); if that does not remove them, the likelihood does not identify some "
            "random-effect SD or correlation: use a more informative prior for sd/cor or "
            "simplify the random part."
        )
    if info.max_treedepth_hits:
        out.append(
            f"{info.max_treedepth_hits} of {total} transitions hit the maximum tree depth "
            f"({info.max_treedepth}): sampling was inefficient, not wrong. Check the "
            "ESS below and consider more informative priors."
        )
    s = res.posterior_summary()
    bad_rhat = s.index[s["rhat"] > RHAT_LIMIT].tolist()
    if bad_rhat:
        out.append(
            f"R-hat above {RHAT_LIMIT} for {', '.join(bad_rhat)}: the chains disagree. Run "
            "longer chains (draws=, warmup=) before using these estimates."
        )
    low = s.index[s["ess_bulk"] < 100 * min(info.chains, 4) / 4].tolist()
    if low:
        out.append(
            f"Bulk effective sample size below 100 for {', '.join(low)}: means and "
            "intervals are imprecise. Increase draws=."
        )
    return tuple(out)

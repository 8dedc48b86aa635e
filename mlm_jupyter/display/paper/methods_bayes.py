"""``res.methods_text()`` of a Bayesian fit: the model, its priors in brms' vocabulary, the
sampler and its settings, and the convergence checks (R-hat, ESS, divergences) as measured."""

from __future__ import annotations

from typing import Any

from .methods import REFERENCES, centring_of_transforms, join_list, random_part, software


def priors_sentence(res: Any) -> str:
    """Every prior, grouped by distribution, saying which were brms' defaults."""
    table = res.priors
    groups: dict[tuple[str, str], list[str]] = {}
    for parameter, prior, source in zip(table["parameter"], table["prior"], table["source"],
                                        strict=True):
        groups.setdefault((str(prior), str(source)), []).append(str(parameter))
    parts = []
    for (prior, source), names in groups.items():
        law = "a flat (improper uniform) prior" if prior == "(flat)" else prior
        whose = "brms' default" if source == "default" else "given"
        parts.append(f"{join_list(names)} ~ {law} ({whose})")
    return "Priors (brms' parameter names and distributions): " + "; ".join(parts) + "."


def _convergence(res: Any) -> str:
    from ...bayes.fit import RHAT_LIMIT

    s = res.posterior_summary()
    info = res.sampler
    rhat, ess_bulk, ess_tail = s["rhat"].max(), s["ess_bulk"].min(), s["ess_tail"].min()
    high = s.index[s["rhat"] > RHAT_LIMIT].tolist()
    verdict = (f"above {RHAT_LIMIT:g} for {join_list(high)}" if high
               else f"at most {RHAT_LIMIT:g} for every parameter")
    total = info.chains * info.draws
    divergent = ("no divergent transitions" if not info.divergent
                 else f"{info.divergent} of {total:,} transitions were divergent")
    depth = ("none reached the maximum tree depth" if not info.max_treedepth_hits
             else f"{info.max_treedepth_hits} reached the maximum tree depth")
    return (f"Convergence: the largest rank-normalised split R-hat was {rhat:.3f} ({verdict}; "
            f"Vehtari et al., 2021), the smallest bulk and tail effective sample sizes "
            f"{ess_bulk:,.0f} and {ess_tail:,.0f}; there were {divergent}, and {depth}.")


def methods_text_bayes(res: Any, level: float = 0.95, references: bool = False) -> str:
    """A methods paragraph for a Bayesian fit (``BayesianResult``).

    Parameters
    ----------
    res : BayesianResult
    level : float
        Level of the credible intervals reported.
    references : bool
        Append the references cited (brms, NUTS, R-hat).
    """
    response = res.spec.response.strip()
    groups = "; ".join(f"{n:,} levels of {g}" for g, n in res.ngroups.items())
    info = res.sampler
    seed = f", seed {info.seed}" if info.seed is not None else ""
    text = [
        f"A Bayesian linear mixed model of {response} (lme4/brms formula: {res.formula}) was "
        f"fitted to {res.nobs:,} observations ({groups}), with {random_part(res)}; the "
        "likelihood is brms' Gaussian model of the same formula (Bürkner, 2017).",
    ]
    if res.n_dropped:
        text.append(f"{res.n_dropped:,} rows with missing values in the model's variables were "
                    "excluded.")
    text += [
        priors_sentence(res),
        f"The posterior was sampled with {info.sampler} (Hoffman & Gelman, 2014), the fixed "
        "and random effects drawn exactly from their conditional normal distributions given "
        f"each draw, using {software()}: {info.chains} chains of {info.draws:,} draws after "
        f"{info.warmup:,} warm-up iterations each (target acceptance rate "
        f"{info.target_accept:g}, maximum tree depth {info.max_treedepth}{seed}).",
        _convergence(res),
        f"Estimates are posterior means with {100 * level:g}% equal-tailed credible "
        "intervals; no p-values are reported.",
    ]
    centring = centring_of_transforms(res.formula)
    if centring:
        text.append("Centring: " + "; ".join(centring) + ".")
    paragraph = " ".join(t for t in text if t)
    if references:
        paragraph += "\n\nReferences\n" + "\n".join(
            REFERENCES[k] for k in ("burkner", "hoffman", "vehtari"))
    return paragraph

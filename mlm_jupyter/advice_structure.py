"""Advice on the random-effects structure: slopes that cannot be estimated, singular fits, and
random slopes that rest on little information.

Small-sample cautions are based on the data, not on a cluster count alone.  A random slope
whose design gives little information about it (fewer than ``MIN_CLUSTERS`` clusters or a
median cluster size below ``MIN_MEDIAN_CLUSTER_SIZE``; Maas & Hox 2005) is then asked
whether the data support it: the likelihood-ratio test of the model without the slope
(:func:`mlm_jupyter.compare`: ML refits and the boundary-corrected mixture p-value, the
same numbers ``mlm.compare`` shows).  A slope the test supports (p < ``ALPHA``) gets no
caution; sleepstudy's ``(Days | Subject)`` with 18 subjects is one.
The message reports the mean reliability of the cluster slopes (Raudenbush & Bryk 2002,
ch. 3) as the reader's measure of how much each cluster says about its own slope.  A slope
moderated by a cross-level interaction is never advised away (the interaction's standard
error needs it); with little information the advice is Kenward-Roger df instead.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .advice import Advice, _Model
from .caching import result_memo
from .formula_edit import drop_pieces, render, split_sum
from .messages import constant_within
from .naming import split_interaction

MIN_MEDIAN_CLUSTER_SIZE = 10
MIN_CLUSTERS = 20
ALPHA = 0.05
_NOTHING = {"0", "-1", "+0", "- 1"}


def _without(expr: str, pieces: list[str]) -> str | None:
    """``expr`` without ``pieces``; None when no random effect would be left."""
    kept = drop_pieces(expr, pieces)
    if all(p.replace(" ", "") in _NOTHING for p in split_sum(kept)) or kept == "1" and (
        "1" in pieces
    ):
        return None
    return kept


def _no_random_left(m: _Model) -> str:
    return (f" Without it no random effect is left: the model is an ordinary linear regression "
            f"of {m.spec.response} on {m.spec.fixed}.")


# -- slopes of variables that do not vary within clusters ------------------------------------
def _identification_advice(m: _Model) -> tuple[list[Advice], set[tuple[str, str]]]:
    out, skip = [], set()
    for k, group, factors in m.random_terms:
        if len(factors) != 1:
            continue
        term = m.res.design.terms[k]
        values = m.values(factors[0])
        if values is None or not all(
            constant_within(values[:, j], term.codes, term.n_levels)
            for j in range(values.shape[1])
        ):
            continue
        name = factors[0]
        written = m.name(name)
        skip.update((group, c) for c in term.columns if c != "(Intercept)")
        fix = m.with_random(group, lambda e, f=written: _without(e, [f]))
        message = (
            f"The random slope of '{name}' over '{group}' cannot be estimated: '{name}' does not "
            f"vary within {group} clusters (it is a {group}-level variable), so a cluster's "
            f"slope on it cannot be told apart from its intercept. Keep '{name}' as a fixed "
            "effect and remove it from the random part."
        )
        if not any(t.group != group for t in m.spec.random) and fix == m.formula():
            message += _no_random_left(m)
        out.append(Advice("slope_not_identified", message, fix, (name, group)))
    return out, skip


# -- singular fits ---------------------------------------------------------------------------
def _singular_advice(m: _Model, skip: set[tuple[str, str]]) -> list[Advice]:
    res = m.res
    if not res.is_singular:
        return []
    from .effects._common import term_covariances
    from .engine.objective import split_theta

    out = []
    # lme4's isSingular rule, read in the engine's units as res.is_singular is.
    thetas = split_theta(res.engine.cp, res.engine_theta)
    for term, T, Sigma in zip(res.design.terms, thetas, term_covariances(res), strict=True):
        if not np.any(np.abs(np.diag(T)) < 1e-4):
            continue
        if any((term.group, c) in skip for c in term.columns):
            continue  # explained (and fixed) by the identification advice
        zero = [c for i, c in enumerate(term.columns) if Sigma[i, i] < 1e-8 * res.sigma**2]
        where = f"({' + '.join(term.columns)} | {term.group})"
        pieces = ["1" if c == "(Intercept)" else c for c in zero]
        if zero and len(zero) == term.q:
            fix = m.with_random(term.group, lambda e, p=pieces: _without(e, p))
            message = (f"The variance of {where} is estimated as 0 (on the "
                       "boundary). Drop the term.")
            if fix == m.formula() or not any(t.group != term.group for t in m.spec.random):
                message += _no_random_left(m)
                fix = ""
            out.append(Advice("singular_fit", message, fix, (*term.columns, term.group)))
        elif zero:
            def drop(e: str, p: list[str] = pieces) -> str | None:
                if "1" in p:  # the intercept's variance is 0: keep the slopes, no intercept
                    rest = [q for q in split_sum(e) if q not in ("1", "0", "-1")]
                    e = " + ".join(["0", *rest])
                    p = [q for q in p if q != "1"]
                return _without(e, p) if p else e

            names = list(zero)
            out.append(Advice(
                "singular_fit",
                f"In {where} the variance of {names} is estimated as 0 (on the "
                "boundary). Drop it from the random part.",
                m.with_random(term.group, drop), (*names, term.group),
            ))
        else:
            randoms = [(t.expr, t.group, "||" if t.group == term.group else "|")
                       for t in m.spec.random]
            out.append(Advice(
                "singular_fit",
                f"The random effects of {where} are perfectly correlated (their "
                "covariance matrix is on the boundary). Remove the correlation with '||' or "
                "drop a slope.",
                render(m.spec.response, m.spec.fixed, randoms), (*term.columns, term.group),
            ))
    return out


# -- random slopes on little information -----------------------------------------------------
def _slope_test(m: _Model, group: str, slopes: list[str]) -> tuple[float, str] | None:
    """p-value of the LRT against the model without ``slopes`` over ``group`` (as mlm.compare)."""
    from .compare import compare
    from .fitting import fit

    reduced_formula = m.with_random(group, lambda e: _without(e, slopes))
    if reduced_formula == m.formula():
        return None
    memo = result_memo(m.res)
    key = ("slope_test", reduced_formula)
    if key not in memo:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reduced = fit(reduced_formula, m.res.data, reml=m.res.reml, warn=False)
                table = compare(reduced, m.res, progress=False)
            p_mix, p = float(table["p_mixture"].iloc[-1]), float(table["p"].iloc[-1])
            memo[key] = (p_mix, "boundary-corrected") if np.isfinite(p_mix) else (p, "chi-square")
        except Exception:  # the test is a refinement: without it the caution stays general
            memo[key] = None
    return memo[key]


def _moderated(res: Any, column: str) -> list[str]:
    """Fixed interactions containing ``column`` (cross-level moderation of its slope)."""
    return [name for name in res.fixef.index
            if ":" in name and column in split_interaction(name)]


def _reliability(res: Any, group: str, columns: list[str]) -> float:
    from .effects import reliability

    try:
        table = reliability(res, group)
    except Exception:
        return float("nan")
    values = [float(table.loc["(mean)", c]) for c in columns if c in table.columns]
    return float(np.nanmean(values)) if values else float("nan")


def _fmt_p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}" if p < 0.1 else f"= {p:.2f}"


def _sparse_advice(m: _Model, skip: set[tuple[str, str]]) -> list[Advice]:
    out = []
    res = m.res
    for term in res.design.terms:
        slopes = [c for c in term.columns if c != "(Intercept)" and (term.group, c) not in skip]
        if not slopes:
            continue
        counts = np.bincount(term.codes, minlength=term.n_levels)
        median = float(np.median(counts))
        if term.n_levels >= MIN_CLUSTERS and median >= MIN_MEDIAN_CLUSTER_SIZE:
            continue
        facts = [f"{term.n_levels} clusters",
                 f"a median of {median:g} observations per cluster"]
        reliability = _reliability(res, term.group, slopes)
        if np.isfinite(reliability):
            facts.append(f"mean reliability of the cluster slopes {reliability:.2f}")
        evidence = _slope_test(m, term.group, slopes)
        if evidence is not None and evidence[0] < ALPHA:
            continue  # the data support the random slope: no caution
        what = f"The random slope{'s' if len(slopes) > 1 else ''} of {', '.join(slopes)} over " \
            f"'{term.group}' rest{'' if len(slopes) > 1 else 's'} on little information (" \
            + ", ".join(facts) + ")"
        if evidence is not None:
            what += (", and the data do not show that it varies between clusters "
                     f"(likelihood-ratio test against the model without it: p "
                     f"{_fmt_p(evidence[0])}, {evidence[1]})")
        moderated = [i for c in slopes for i in _moderated(res, c)]
        if moderated:
            message = (f"{what}. Keep it, because the cross-level interaction "
                       f"{', '.join(moderated)} needs it for a correct standard error, and with "
                       "so little information use Kenward-Roger df for the tests.")
            out.append(Advice("sparse_clusters", message,
                              "res.coefficients(ddf='kenward-roger')", (*slopes, term.group)))
            continue
        fix = m.with_random(term.group, lambda e: "1")
        message = (f"{what}. A random intercept only is simpler and loses little; compare both "
                   "with mlm.compare(simpler_model, this_model).")
        out.append(Advice("sparse_clusters", message, fix, (*slopes, term.group)))
    return out


def structure_advice(m: _Model) -> list[Advice]:
    """Identification, singular-fit and sparse-information advice for the random part.

    One problem gets one piece of advice: a slope that cannot be estimated is not also
    reported as singular, and a singular term whose slope the data do not support gets the
    sparse-information advice (with the evidence) instead of a second suggestion.
    """
    out, skip = _identification_advice(m)
    sparse = _sparse_advice(m, skip)
    groups = {a.variables[-1] for a in sparse if "~" in a.suggestion}
    singular = _singular_advice(m, skip)
    kept = [a for a in singular if a.variables[-1] not in groups]
    if len(kept) < len(singular):
        sparse = [Advice(a.kind, a.message + " The fit is also singular for this term, which "
                         "points the same way.", a.suggestion, a.variables)
                  if a.variables[-1] in groups else a for a in sparse]
    return out + kept + sparse


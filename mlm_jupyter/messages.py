"""What a fit tells its user, in plain words, and how it is emitted.

Every message about a fit (singular fit, convergence, df that cannot be trusted) is written
here, so the wording is in one place and other modules (the optimiser, the inference code)
add theirs next to these.  Each message reads ``"<Title>: <what was checked and found>.
<whether it matters here and what to do>."``: two sentences a reader without a statistics
degree can act on, starting with a short title the displays show in bold.

How users see them
------------------
The message texts are kept on the result (``res.messages``) and shown at the top of every
display (HTML summary, text summary, report).  At fit time they are also emitted as a
:class:`MixedModelWarning` through :func:`warn`, so scripts see them, ``warnings`` filters
can silence them and tests can catch them.  Python's default warning format prints the file
path and the source line of the call, which reads like a crash; :func:`warn` formats *its own*
warnings as one line, ``mlm_jupyter warning: <message>``, by swapping
``warnings.formatwarning`` only for the duration of its own call and delegating every other
category to the previous formatter (``showwarning``, the hook that test runners and logging
capture, is never touched, so recording and filtering behave as for any warning).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

#: A relative variance below this (times σ²) counts as zero, as in the advisor.
ZERO_VARIANCE = 1e-8
#: |correlation| above this counts as ±1.
PERFECT_CORRELATION = 0.999

SINGULAR_TITLE = "Singular fit"
CONVERGENCE_TITLE = "Convergence"
DF_TITLE = "Degrees of freedom"
#: Titles the displays recognise at the start of a message (the part before the first ':').
TITLES = (SINGULAR_TITLE, CONVERGENCE_TITLE, DF_TITLE)

WHAT_NEXT = "res.all_fit()"


class MixedModelWarning(UserWarning):
    """Dropped rows, singular fits and convergence problems (also listed in ``res.messages``)."""


def _one_line(message: Any, category: type[Warning], filename: str, lineno: int,
              line: str | None = None) -> str:
    return f"mlm_jupyter warning: {message}\n"


def warn(message: str, stacklevel: int = 2) -> None:
    """Emit ``message`` as a :class:`MixedModelWarning` printed as one clean line.

    Parameters
    ----------
    message : str
        Plain-words text (usually one of this module's messages).
    stacklevel : int
        As for :func:`warnings.warn`, counted from the caller of this function, so the
        warning is attributed to the user's code (filters by module keep working).
    """
    previous = warnings.formatwarning

    def formatter(msg: Any, category: type[Warning], filename: str, lineno: int,
                  line: str | None = None) -> str:
        if issubclass(category, MixedModelWarning):
            return _one_line(msg, category, filename, lineno, line)
        return previous(msg, category, filename, lineno, line)

    warnings.formatwarning = formatter
    try:
        warnings.warn(message, MixedModelWarning, stacklevel=stacklevel + 1)
    finally:
        warnings.formatwarning = previous


def split_title(message: str) -> tuple[str, str]:
    """``(title, rest)`` for a message starting with one of :data:`TITLES`, else ``("", message)``.

    ``rest`` keeps a parenthesis right after the title (``"(a variance at zero ...): ..."``).
    """
    for title in TITLES:
        if message.startswith(title + ":"):
            return title, message[len(title) + 1:].lstrip()
        if message.startswith(title + " ("):
            return title, message[len(title) + 1:]
    return "", message


# -- singular fits ---------------------------------------------------------------------------
def _effect(column: str, group: str) -> str:
    if column == "(Intercept)":
        return f"the random intercept over {group}"
    return f"the random slope of {column} over {group}"


def _meaning(column: str, group: str) -> str:
    if column == "(Intercept)":
        return f"the mean response differs between {group} clusters"
    return f"the {column} slope differs between {group} clusters"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _singular_finding(group: str, columns: Sequence[str], T: np.ndarray,
                      scales: np.ndarray) -> tuple[str, bool]:
    """What is degenerate in one term with relative factor ``T`` (its Λ block).

    ``scales`` are the columns' spreads in the data: a variance is judged as the variance
    it adds to the response (Σ_ii·spread_i², relative to σ²), so a slope of a predictor
    in large units is not taken for zero.  Returns the clause and whether it is a zero
    variance (rather than a correlation of ±1).
    """
    cov = T @ T.T
    variances = np.diag(cov)
    zero = [c for c, v, s in zip(columns, variances, scales, strict=True)
            if v * s**2 < ZERO_VARIANCE]
    if zero:
        noun, verb = ("variance", "is") if len(zero) == 1 else ("variances", "are")
        return (f"the {noun} of {_join([_effect(c, group) for c in zero])} {verb} estimated "
                f"as zero, i.e. the data show no sign that "
                f"{_join([_meaning(c, group) for c in zero])}", True)
    sd = np.sqrt(variances)
    corr = cov / np.outer(sd, sd)
    pairs = [(columns[j], columns[i]) for i in range(len(columns)) for j in range(i)
             if abs(corr[i, j]) > PERFECT_CORRELATION]
    if pairs:
        said = [f"{_effect(a, group)} and {_effect(b, group)}" for a, b in pairs]
        return (f"{_join(said)} are estimated as perfectly correlated (±1), i.e. the data "
                "cannot tell them apart", False)
    term = " + ".join("1" if c == "(Intercept)" else c for c in columns)
    return (f"the random effects ({term} | {group}) are estimated as fully dependent (one "
            "combination of them has variance zero), i.e. the data cannot tell them apart",
            False)


def _column_scales(term: Any) -> np.ndarray:
    """Each column's spread: its SD when the term has an intercept, else its RMS."""
    Z = getattr(term, "Z", None)
    if Z is None:
        return np.ones(len(term.columns))
    if not isinstance(Z, np.ndarray):  # rows elsewhere: the aggregates answered
        scales = getattr(Z, "column_scales", None)
        return np.ones(len(term.columns)) if scales is None else np.asarray(scales)
    has_intercept = "(Intercept)" in term.columns
    out = np.sqrt(np.mean(Z**2, axis=0))
    if has_intercept:
        centred = np.std(Z, axis=0)
        out = np.where(np.array([c != "(Intercept)" for c in term.columns]), centred, out)
    return np.where(out > 0, out, 1.0)


def constant_within(values: np.ndarray, codes: np.ndarray, n_levels: int) -> bool:
    """Whether a column takes one value in every cluster (its within-cluster variance is 0)."""
    counts = np.bincount(codes, minlength=n_levels).astype(float)
    means = np.bincount(codes, weights=values, minlength=n_levels) / np.maximum(counts, 1.0)
    within = float(np.sum((values - means[codes]) ** 2))
    scale = max(float(np.sum(values**2)), 1e-300)
    return within <= 1e-10 * scale


def _not_identified(term: Any) -> list[str]:
    """Slope columns of a term that do not vary within its clusters (level-2 variables)."""
    Z, codes = getattr(term, "Z", None), getattr(term, "codes", None)
    if Z is None or codes is None:
        return []
    if not isinstance(Z, np.ndarray):  # rows elsewhere: the aggregates answered
        within = getattr(Z, "constant_within", None) or [False] * len(term.columns)
        return [c for c, const in zip(term.columns, within, strict=True)
                if c != "(Intercept)" and const]
    return [c for k, c in enumerate(term.columns)
            if c != "(Intercept)" and constant_within(Z[:, k], codes, term.n_levels)]


def singular_fit(terms: Sequence[Any], factors: Sequence[np.ndarray],
                 singular: Sequence[bool]) -> str:
    """The singular-fit message for the terms flagged in ``singular``.

    Parameters
    ----------
    terms : sequence
        The design's random terms (``.group``, ``.columns``, and ``.Z``, ``.codes``,
        ``.n_levels`` to recognise slopes of variables that do not vary within clusters).
    factors : sequence of ndarray
        Their lower-triangular relative covariance factors Λ_k at the estimate (lme4's θ,
        in the user's units).
    singular : sequence of bool
        Which terms are on the boundary (lme4's ``isSingular`` rule, applied by the fit in
        the engine's units so that it does not depend on the data's units).

    Returns
    -------
    str
        ``"Singular fit (<what was checked>): <what was found>. <whether it matters; what to
        do>."``
    """
    found, all_zero, level2 = [], True, []
    for term, T, flagged in zip(terms, factors, singular, strict=True):
        if not flagged:
            continue
        constant = _not_identified(term)
        if constant:
            level2 += [(c, term.group) for c in constant]
            continue
        text, zero = _singular_finding(term.group, term.columns, T, _column_scales(term))
        found.append(text)
        all_zero = all_zero and zero
    check = (f"{SINGULAR_TITLE} (a fit is singular when a random-effect variance is estimated "
             "at zero or a correlation at ±1): ")
    if level2:
        slopes = _join([f"{c} over {g}" for c, g in level2])
        which = _join([f"{c} does not vary within {g} clusters" for c, g in level2])
        return (f"{check}the random slope of {slopes} cannot be estimated, because {which}, so "
                "each cluster's slope cannot be told apart from its intercept. "
                "Remove it from the random part and keep it as a fixed effect (res.advice() "
                "writes the formula).")
    if not found:
        found, all_zero = ["a random-effect variance is estimated at its boundary"], False
    first = check + "; ".join(found) + "."
    if all_zero:
        second = ("This does not distort the fixed effects (they equal those of the model "
                  "without that part), but the part adds nothing: drop it (res.advice() writes "
                  f"the formula), or check with {WHAT_NEXT} that other optimisers agree.")
    else:
        second = ("The fixed effects can still be read, but do not interpret that correlation: "
                  "remove it with '||' or drop a slope (res.advice() writes the formula), and "
                  f"check with {WHAT_NEXT} that other optimisers agree.")
    return f"{first} {second}"


# -- convergence -----------------------------------------------------------------------------
def optimisation_messages(record: Any) -> list[str]:
    """What the optimum checks found (:class:`mlm_jupyter.engine.fit.OptimizationRecord`).

    Nothing for a verified optimum; otherwise one message saying what was checked, whether
    it matters and what to do.  A hardly determined variance parameter is reported even at
    a verified optimum.
    """
    check = getattr(record, "check", None)
    out = []
    if check is not None and check.flat_ratio is not None:
        out.append(
            f"{CONVERGENCE_TITLE}: the fit criterion is almost flat along some combination of "
            "the random-effect variances and correlations (the data hardly determine it), so "
            "nearby values fit practically as well as the estimates. Interpret those "
            "variance components with care, and consider a simpler random-effects structure "
            "(see res.advice())."
        )
    if record.converged:
        return out
    out.append(not_converged(record))
    return out


def not_converged(record: Any) -> str:
    """The message for a fit whose optimum failed a check (see :mod:`.engine.verify`)."""
    check = record.check
    if not np.isfinite(record.objective):
        found = "the optimiser found no estimates at which the model is defined"
    elif getattr(record, "limit", ""):
        found = f"the optimiser stopped at its iteration limit ({record.limit})"
    elif not record.max_scaled_gradient < 2e-3:  # lme4's check.conv.grad tolerance
        found = ("the fit criterion is not yet flat at the estimates (largest scaled gradient "
                 f"{record.max_scaled_gradient:.3g}; lme4 accepts up to 0.002)")
    elif check is not None and not check.second_order:
        found = "the estimates are a saddle point of the fit criterion, not a minimum"
    else:
        found = "better estimates exist near the reported ones even after restarting"
    return (
        f"{CONVERGENCE_TITLE}: the estimates were checked for being a minimum of the fit "
        f"criterion and {found}, so they may not be the best-fitting ones. "
        f"Run {WHAT_NEXT}: if other optimisers find the same estimates this can be ignored; if "
        "not, the data do not determine this model well: simplify the random part (see "
        "res.advice())."
    )


# -- inference -------------------------------------------------------------------------------
def satterthwaite_not_minimum(eigenvalues: Sequence[float]) -> str:
    """The message when the deviance's Hessian in (θ, σ) is not positive definite."""
    worst = float(min(eigenvalues)) if len(eigenvalues) else float("nan")
    return (
        f"{DF_TITLE}: Satterthwaite's df need the fit to be a proper minimum, and it is not "
        f"(the fit criterion curves downwards in one direction, eigenvalue {worst:.3g}), so "
        "the df and p-values of the t tests are unreliable. "
        "This usually comes with a convergence or singular-fit message: resolve that first "
        f"(see res.messages and {WHAT_NEXT})."
    )

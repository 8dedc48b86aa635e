"""The display options of ``mlm.table``, checked once with messages that say what to write."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from . import formatting as fmt

STATISTICS = ("estimate", "se", "ci", "t", "df", "p", "std_estimate", "std_se", "std_ci",
              "rhat", "ess", "fmi")
RANDOM_ROWS = ("sigma2", "tau", "rho", "icc", "ngroups", "nobs")
FIT_ROWS = ("r2", "criterion", "aic", "bic", "loglik", "estimation", "ddf")
DEFAULT_FIT = ("r2", "criterion", "aic", "estimation", "ddf")
LAYOUTS = ("wide", "stacked")


@dataclass(frozen=True)
class Options:
    """Validated display options of :func:`mlm_jupyter.table`."""

    statistics: tuple[str, ...] = ("estimate", "ci", "p")
    random: tuple[str, ...] = RANDOM_ROWS
    fit: tuple[str, ...] = DEFAULT_FIT
    labels: Mapping[str, str] = field(default_factory=dict)
    terms: tuple[str, ...] | None = None
    stars: dict[str, float] | None = None
    digits: int = 2
    p_digits: int = 3
    level: float = 0.95
    std: str | None = None
    layout: str = "wide"
    leading_zero: bool = False
    title: str | None = None
    notes: tuple[str, ...] = ()


def _choice(name: str, values: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    bad = [v for v in values if v not in allowed]
    if bad:
        hint = difflib.get_close_matches(bad[0], allowed, n=1)
        more = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ValueError(f"{name}: {bad[0]!r} is not one of {tuple(allowed)}.{more}")
    return tuple(values)


def make_options(
    statistics: Sequence[str] = ("estimate", "ci", "p"),
    random: Sequence[str] = RANDOM_ROWS,
    fit: Sequence[str] = DEFAULT_FIT,
    labels: Mapping[str, str] | None = None,
    terms: Sequence[str] | None = None,
    stars: bool | Mapping[str, float] = False,
    digits: int = 2,
    p_digits: int = 3,
    level: float = 0.95,
    std: bool | str | None = None,
    layout: str = "wide",
    leading_zero: bool = False,
    title: str | None = None,
    notes: str | Sequence[str] | None = None,
) -> Options:
    """Check every option once, with messages that say what to write instead."""
    stats = _choice("statistics", statistics, STATISTICS)
    if not stats:
        raise ValueError("statistics: name at least one, e.g. ('estimate', 'ci', 'p').")
    if std is True:
        std = "refit"
    if std is False:
        std = None
    if std is not None:
        std = str(std).lower()
        if std not in ("refit", "basic"):
            raise ValueError(f"std must be 'refit', 'basic', True or None, not {std!r}.")
        if not any(s.startswith("std_") for s in stats):
            at = stats.index("estimate") + 1 if "estimate" in stats else 0
            stats = stats[:at] + ("std_estimate",) + stats[at:]
    elif any(s.startswith("std_") for s in stats):
        std = "refit"
    for name, value in (("digits", digits), ("p_digits", p_digits)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
            raise ValueError(f"{name} must be a whole number from 0 to 10, got {value!r}.")
    if not 0 < float(level) < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}.")
    if stars is True:
        marks: dict[str, float] | None = dict(fmt.DEFAULT_STARS)
    elif not stars:
        marks = None
    else:
        marks = {str(k): float(v) for k, v in dict(stars).items()}
        if not all(0 < v < 1 for v in marks.values()):
            raise ValueError(f"stars: thresholds must be between 0 and 1, got {marks}.")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}.")
    if isinstance(notes, str):
        notes = (notes,)
    return Options(
        statistics=stats,
        random=_choice("random", random, RANDOM_ROWS),
        fit=_choice("fit", fit, FIT_ROWS),
        labels=dict(labels or {}),
        terms=None if terms is None else tuple(terms),
        stars=marks,
        digits=digits,
        p_digits=p_digits,
        level=float(level),
        std=std,
        layout=layout,
        leading_zero=bool(leading_zero),
        title=title,
        notes=tuple(str(n) for n in (notes or ())),
    )

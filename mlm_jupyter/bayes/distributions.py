"""Prior distributions in Stan's / brms' spelling: parsing and log densities with derivatives.

``"student_t(3, 0, 10)"`` becomes ``Distribution("student_t", (3.0, 0.0, 10.0))``.  Log
densities are up to an additive constant (what a sampler needs), vectorised over x, with
their derivative in x.  On the SDs (classes ``sd`` and ``sigma``) brms truncates every
distribution to x > 0; the truncation's normalising constant does not depend on x.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

#: name -> (parameter names, support: "real" or "positive")
FAMILIES: dict[str, tuple[tuple[str, ...], str]] = {
    "normal": (("mu", "sigma"), "real"),
    "student_t": (("nu", "mu", "sigma"), "real"),
    "cauchy": (("mu", "sigma"), "real"),
    "exponential": (("lambda",), "positive"),
    "gamma": (("alpha", "beta"), "positive"),
    "inv_gamma": (("alpha", "beta"), "positive"),
    "lognormal": (("mu", "sigma"), "positive"),
    "lkj": (("eta",), "correlation"),
}
ALIASES = {"lkj_corr_cholesky": "lkj", "lkj_corr": "lkj"}
FLAT = "flat"

_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z_0-9]*)\s*\((.*)\)\s*$")


class PriorError(ValueError):
    """A prior that cannot be used (unknown class or distribution, bad arguments)."""


@dataclass(frozen=True)
class Distribution:
    """A parsed prior: family name and numeric arguments (``flat`` has none)."""

    family: str
    args: tuple[float, ...]

    def __str__(self) -> str:
        if self.family == FLAT:
            return "(flat)"
        return f"{self.family}({', '.join(_fmt(a) for a in self.args)})"

    @property
    def is_flat(self) -> bool:
        return self.family == FLAT

    def logpdf(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log density (up to a constant) and its derivative, elementwise in x."""
        x = np.asarray(x, dtype=float)
        f, a = self.family, self.args
        if f == FLAT:
            return np.zeros_like(x), np.zeros_like(x)
        if f == "normal":
            z = (x - a[0]) / a[1]
            return -0.5 * z**2, -z / a[1]
        if f in ("student_t", "cauchy"):
            nu, mu, s = (1.0, a[0], a[1]) if f == "cauchy" else a
            d = x - mu
            base = nu * s**2 + d**2
            return -0.5 * (nu + 1.0) * np.log1p(d**2 / (nu * s**2)), -(nu + 1.0) * d / base
        if f == "exponential":
            return -a[0] * x, np.full_like(x, -a[0])
        if f == "gamma":
            return (a[0] - 1.0) * np.log(x) - a[1] * x, (a[0] - 1.0) / x - a[1]
        if f == "inv_gamma":
            return -(a[0] + 1.0) * np.log(x) - a[1] / x, -(a[0] + 1.0) / x + a[1] / x**2
        if f == "lognormal":
            lx = np.log(x)
            z = (lx - a[0]) / a[1]
            return -lx - 0.5 * z**2, (-1.0 - z / a[1]) / x
        raise PriorError(f"{self} has no density on a scalar parameter.")


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def parse_distribution(text: str, where: str) -> Distribution:
    """Parse ``"normal(0, 10)"``; ``""``, ``"flat"`` and ``"(flat)"`` mean the flat prior.

    Raises
    ------
    PriorError
        Unknown family, wrong number of arguments, non-numeric or invalid arguments.
    """
    if not isinstance(text, str):
        raise PriorError(f"The prior for {where} must be a string such as 'normal(0, 10)', "
                         f"not {text!r}.")
    stripped = text.strip()
    if stripped.lower() in ("", "flat", "(flat)"):
        return Distribution(FLAT, ())
    match = _CALL.match(stripped)
    if not match:
        raise PriorError(f"The prior for {where}, {text!r}, is not of the form "
                         "'family(arguments)', e.g. 'normal(0, 10)' or 'student_t(3, 0, 2.5)'.")
    name = ALIASES.get(match.group(1), match.group(1))
    if name not in FAMILIES:
        known = ", ".join(sorted(FAMILIES))
        raise PriorError(f"The prior for {where} uses the unknown distribution {match.group(1)!r}; "
                         f"available: {known}, or 'flat'.")
    names, _ = FAMILIES[name]
    raw = [s.strip() for s in match.group(2).split(",")] if match.group(2).strip() else []
    if len(raw) != len(names):
        raise PriorError(f"{name} takes {len(names)} argument(s) ({', '.join(names)}), but the "
                         f"prior for {where} gives {len(raw)}: {text!r}.")
    try:
        args = tuple(float(s) for s in raw)
    except ValueError:
        raise PriorError(f"The arguments of the prior for {where}, {text!r}, must be numbers.")\
            from None
    if not all(math.isfinite(v) for v in args):
        raise PriorError(f"The arguments of the prior for {where}, {text!r}, must be finite.")
    _check_args(name, names, args, where, text)
    return Distribution(name, args)


def _check_args(name: str, names: tuple[str, ...], args: tuple[float, ...], where: str,
                text: str) -> None:
    positive = {"sigma", "nu", "lambda", "alpha", "beta", "eta"}
    for label, value in zip(names, args, strict=True):
        if label in positive and not value > 0:
            raise PriorError(f"In the prior for {where}, {text!r}, {label} must be > 0 "
                             f"(it is {_fmt(value)}).")

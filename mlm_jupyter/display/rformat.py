"""R's number formatting (``format``, ``format.pval``, ``zapsmall``, ``abbreviate``, ``print``).

lme4's ``print(summary(m))`` is made of these primitives; reproducing them exactly lets the
text summary read digit for digit like R's, and lets the HTML show the same strings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

EPS = float(np.finfo(float).eps)


def _sig(value: float, digits: int) -> tuple[int, int]:
    """(significant digits needed, decimal exponent) of ``value`` shown with ``digits`` digits.

    R (``scientific()`` in format.c) rounds to ``digits`` significant digits, then drops
    trailing zeros; the exponent is taken after rounding (9.9996 -> 10.00 has exponent 1).
    """
    if value == 0 or not math.isfinite(value):
        return 1, 0
    mantissa, exponent = f"{abs(value):.{digits - 1}e}".split("e")
    stripped = mantissa.replace(".", "").rstrip("0")
    return max(1, len(stripped)), int(exponent)


def format_r(
    values: Sequence[float], digits: int = 7, nsmall: int = 0, scipen: int = 0
) -> list[str]:
    """R's ``format(x, digits=, nsmall=)`` of a numeric vector: one common layout, right-justified.

    Fixed notation with the fewest decimals that show every element to ``digits`` significant
    digits, unless scientific notation is more than ``scipen`` characters narrower (R's rule
    with ``options(scipen =)``; lme4's printed summaries use 0).
    """
    x = [float(v) for v in values]
    finite = [v for v in x if math.isfinite(v)]
    if not finite:
        return _justify(["NA" if math.isnan(v) else ("Inf" if v > 0 else "-Inf") for v in x])
    neg = any(v < 0 for v in finite)
    sig = [_sig(v, digits) for v in finite]
    mxsl, rgt, mxns, mxe, mne = 1, 0, 1, 0, 0
    for v, (nsig, kp) in zip(finite, sig, strict=False):
        left = kp + 1 if kp >= 0 else 1
        mxsl = max(mxsl, left + (v < 0))
        rgt = max(rgt, nsig - kp - 1)
        mxns = max(mxns, nsig)
        if v != 0:
            mxe, mne = max(mxe, kp), min(mne, kp)
    rgt = max(rgt, 0)
    # R (formatReal) chooses fixed or scientific before applying nsmall
    width_fixed = mxsl + rgt + (rgt > 0)
    e_digits = 2 if (mxe >= 100 or mne <= -100) else 1
    width_sci = neg + (mxns > 1) + (mxns - 1) + 4 + e_digits
    if width_fixed <= width_sci + scipen:
        decimals = max(rgt, nsmall)
        out = [_fixed(v, decimals) for v in x]
    else:
        out = [_special(v) if not math.isfinite(v) else f"{v:.{mxns - 1}e}" for v in x]
    return _justify(out)


def _fixed(v: float, decimals: int) -> str:
    if not math.isfinite(v):
        return _special(v)
    text = f"{v:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _special(v: float) -> str:
    return "NA" if math.isnan(v) else ("Inf" if v > 0 else "-Inf")


def _justify(cells: list[str], right: bool = True) -> list[str]:
    width = max((len(c) for c in cells), default=0)
    return [c.rjust(width) if right else c.ljust(width) for c in cells]


def round_r(values: Sequence[float], digits: int) -> list[float]:
    """R's ``round(x, digits)`` (half-way cases follow the decimal representation)."""
    return [
        float(f"{v:.{digits}f}")
        if math.isfinite(v) and digits >= 0
        else float(round(v, digits))
        if math.isfinite(v)
        else v
        for v in values
    ]


def zapsmall(values: Sequence[float], digits: int) -> list[float]:
    """R's ``zapsmall``: round so that values tiny relative to the largest become 0.

    ``round(x, digits - log10(max|x|))``, where R's ``round()`` takes the nearest integer of
    non-integer digits (R 4.2 prints anova's logLik -23355.49 next to -23360.21 as -23356).
    """
    finite = [abs(v) for v in values if math.isfinite(v)]
    mx = max(finite, default=0.0)
    d = digits - math.log10(mx) if mx > 0 else digits
    return round_r(values, max(0, int(math.floor(d + 0.5))))


def format_pval(pvalues: Sequence[float], digits: int = 3, eps: float = EPS) -> list[str]:
    """R's ``format.pval``: ``< 2e-16`` below machine epsilon, the rest formatted together."""
    p = [float(v) for v in pvalues]
    is0 = [v < eps for v in p]
    rest = [v for v, z in zip(p, is0, strict=False) if not z]
    formatted: list[str] = []
    if rest:
        # values with exponent >= -3 (or -4 when digits > 1) are formatted together in
        # fixed notation where possible, smaller ones together
        expo = [math.floor(math.log10(v)) if v > 0 else -50 for v in rest]
        fix = [e >= -3 or (e == -4 and digits > 1) for e in expo]
        fixed_part = iter(format_r([v for v, f in zip(rest, fix, strict=False) if f], digits))
        sci_part = iter(format_r([v for v, f in zip(rest, fix, strict=False) if not f], digits))
        formatted = [next(fixed_part) if f else next(sci_part) for f in fix]
    small = ""
    if any(is0):
        d = max(1, digits - 2)
        if formatted:
            nc = max(len(s) for s in formatted)
            if d > 1 and d + 6 > nc:
                d = max(1, nc - 7)
            sep = "" if d == 1 and nc <= 6 else " "
        else:
            sep = "" if d == 1 else " "
        small = "<" + sep + format_r([eps], d)[0]
    it = iter(formatted)
    return [small if z else next(it) for z in is0]


def signif_stars(p: float) -> str:
    """R's ``symnum`` codes: *** <= 0.001 < ** <= 0.01 < * <= 0.05 < . <= 0.1."""
    if not math.isfinite(p):
        return ""
    for cut, mark in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p <= cut:
            return mark
    return " "


STARS_LEGEND = "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1"


def abbreviate(names: Sequence[str], minlength: int = 4) -> list[str]:
    """R's ``abbreviate(names, minlength)`` (used for the correlation-of-fixed-effects labels).

    Drops lower-case vowels from the right, then lower-case letters, then any characters,
    never the first character of a word; duplicates get a longer abbreviation.
    """
    out = [_abbrev(n, minlength) for n in names]
    length = minlength
    while len(set(out)) < len(out) and length < max(len(n) for n in names):
        length += 1
        dup = {a for a in out if out.count(a) > 1}
        out = [_abbrev(n, length) if a in dup else a for n, a in zip(names, out, strict=False)]
    return out


def _abbrev(name: str, minlength: int) -> str:
    s = list(name.strip())
    if len(s) <= minlength:
        return "".join(s)

    def first(i: int) -> bool:
        return s[i - 1].isspace()

    def last(i: int) -> bool:
        return not s[i - 1].isspace() and (i + 1 >= len(s) or s[i + 1].isspace())

    rules = (
        lambda c, i: c in "aeiou" and last(i),
        lambda c, i: c in "aeiou" and not first(i),
        lambda c, i: c.islower() and last(i),
        lambda c, i: c.islower() and not first(i),
        lambda c, i: not first(i) and not c.isspace(),
    )
    for rule in rules:
        for i in range(len(s) - 1, 0, -1):
            if i < len(s) and rule(s[i], i):
                del s[i]
            if len(s) - sum(c.isspace() for c in s) <= minlength:
                return "".join(s)
    return "".join(s)


def print_matrix(
    cells: Sequence[Sequence[str]],
    colnames: Sequence[str],
    rownames: Sequence[str],
    right: bool,
) -> list[str]:
    """Lines of R's ``print`` of a character matrix with ``quote = FALSE``.

    Row names are left-justified; each column (header included) is justified to its widest
    cell, right or left as ``right``; columns are separated by one space.
    """
    rw = max((len(r) for r in rownames), default=0)
    widths = [
        max([len(colnames[j])] + [len(row[j]) for row in cells]) for j in range(len(colnames))
    ]

    def just(text: str, w: int) -> str:
        return text.rjust(w) if right else text.ljust(w)

    lines = [" " * rw + "".join(" " + just(c, w) for c, w in zip(colnames, widths, strict=False))]
    for name, row in zip(rownames, cells, strict=False):
        body = "".join(" " + just(c, w) for c, w in zip(row, widths, strict=False))
        lines.append(name.ljust(rw) + body)
    return lines


def print_named(values: Sequence[str], names: Sequence[str]) -> list[str]:
    """Lines of R's ``print`` of a short named vector (every field followed by a space)."""
    width = max(max(len(v) for v in values), max(len(n) for n in names))
    return [
        "".join(n.rjust(width) + " " for n in names),
        "".join(v.rjust(width) + " " for v in values),
    ]

"""Numbers as a paper table shows them (APA style by default), built on R's formatting.

Fixed decimals are R's ``sprintf("%.*f", d, round(x, d))`` (R's rounding from
:mod:`..rformat`), as sjPlot writes them, so a table reads the digits of an R table of the same
numbers, never in scientific notation.  APA conventions on top:

* p-values with ``p_digits`` decimals, below 10^-p_digits as ``< .001``, and rounding up to 1
  as ``> .999``;
* no leading zero for numbers that cannot exceed 1 in size (p, correlations, ICC, R²) unless
  ``leading_zero=True``;
* a non-zero number that would round to 0 keeps ``digits`` significant digits (a slope
  variance of 0.00031 reads 0.00031, not 0.00).
"""

from __future__ import annotations

import math

import numpy as np

from ..rformat import format_r, round_r


def fixed(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals (R's ``sprintf("%.*f", digits, round(x, digits))``)."""
    if not math.isfinite(value):
        return "" if math.isnan(value) else ("Inf" if value > 0 else "-Inf")
    rounded = round_r([value], digits)[0]
    if rounded == 0 and value != 0:
        # significant digits in positional notation (0.00031), never 3.1e-04
        return np.format_float_positional(
            value, precision=max(1, digits), unique=False, fractional=False, trim="-"
        )
    text = f"{rounded:.{digits}f}"  # R's sprintf("%.*f"), as sjPlot: never scientific
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def integer(value: float) -> str:
    """A count with thousands separators (APA: 7,185)."""
    return f"{int(round(value)):,}" if math.isfinite(value) else ""


def _drop_zero(text: str, leading_zero: bool) -> str:
    if leading_zero:
        return text
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def proportion(value: float, digits: int, leading_zero: bool = False) -> str:
    """A number bounded by 1 in size (ICC, R², a correlation): APA drops the leading zero."""
    if not math.isfinite(value):
        return ""
    return _drop_zero(fixed(value, digits), leading_zero)


def pvalue(p: float, digits: int = 3, leading_zero: bool = False) -> str:
    """``.023``, ``< .001``, ``> .999`` (APA); with ``leading_zero`` ``0.023``, ``< 0.001``."""
    if not math.isfinite(p):
        return ""
    smallest = 10.0**-digits
    if p < smallest:
        return "< " + _drop_zero(fixed(smallest, digits), leading_zero)
    text = f"{round_r([p], digits)[0]:.{digits}f}"
    if float(text) >= 1:
        return "> " + _drop_zero(f"{1 - smallest:.{digits}f}", leading_zero)
    return _drop_zero(text, leading_zero)


def interval(lower: float, upper: float, digits: int) -> str:
    """``[11.72, 12.51]`` (APA's brackets)."""
    if not (math.isfinite(lower) and math.isfinite(upper)):
        return ""
    return f"[{fixed(lower, digits)}, {fixed(upper, digits)}]"


#: Default significance marks (p below each threshold), as in sjPlot and modelsummary.
DEFAULT_STARS = {"*": 0.05, "**": 0.01, "***": 0.001}


def star(p: float, thresholds: dict[str, float]) -> str:
    """The mark of the smallest threshold that p is below ("" when none)."""
    if not math.isfinite(p):
        return ""
    marks = [m for m, cut in sorted(thresholds.items(), key=lambda kv: kv[1]) if p < cut]
    return marks[0] if marks else ""


def stars_legend(thresholds: dict[str, float], leading_zero: bool = False) -> str:
    items = sorted(thresholds.items(), key=lambda kv: -kv[1])
    return ", ".join(
        f"{mark} p < {_drop_zero(_shortest(cut), leading_zero)}" for mark, cut in items
    )


def _shortest(value: float) -> str:
    return format_r([value], 7)[0].strip()

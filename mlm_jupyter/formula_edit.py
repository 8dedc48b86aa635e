"""Edit lme4 formulas as text, safely for any column name (the advisor's "Try:" formulas).

The advisor rewrites a user's formula (put ``cwc(x, g)`` in the random part, add ``cm(x, g)``,
drop a slope).  Doing that with regular expressions breaks on names R allows and users have:
``ses.c``, ``my var`` or ```math score```.  Here a formula part is cut at its top-level
``+`` signs (outside parentheses, brackets, quotes and backticks), pieces are compared
with their spacing and backticks ignored, and every name written into a new formula is quoted
with backticks when it is not a plain identifier.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Sequence

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def quote(name: str) -> str:
    """``name`` as a formula can read it: as is when a plain identifier, else in backticks.

    >>> quote("ses"), quote("ses.c"), quote("my var")
    ('ses', '`ses.c`', '`my var`')
    """
    if name.startswith("`") and name.endswith("`") and len(name) > 1:
        return name
    if _PLAIN.fullmatch(name) and not keyword.iskeyword(name):
        return name
    return f"`{name}`"


def quote_group(group: str) -> str:
    """A grouping factor (``school`` or lme4's nested ``b:a``), each column quoted as needed."""
    return ":".join(quote(part.strip()) for part in group.split(":"))


def split_sum(text: str) -> list[str]:
    """The top-level ``+`` pieces of a formula part, stripped (``"1 + f(a + b)"`` -> 2 pieces)."""
    pieces, depth, current, quote_char = [], 0, [], ""
    for char in text:
        if quote_char:
            current.append(char)
            if char == quote_char:
                quote_char = ""
            continue
        if char in "`'\"":
            quote_char = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "+" and depth == 0:
            pieces.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    pieces.append("".join(current).strip())
    return [p for p in pieces if p]


def same_term(a: str, b: str) -> bool:
    """Whether two formula pieces are the same text up to spacing and backticks."""
    def norm(s: str) -> str:
        return "".join(s.split()).replace("`", "").replace("**", "^")
    return norm(a) == norm(b)


def edit_sum(text: str, edit: Callable[[str], str | None]) -> str:
    """``text`` with each top-level piece replaced by ``edit(piece)`` (None drops it)."""
    out = []
    for piece in split_sum(text):
        new = edit(piece)
        if new is not None:
            out.append(new)
    return " + ".join(out)


def replace_piece(text: str, old: str, new: str) -> str:
    """Replace the top-level piece equal to ``old`` (see :func:`same_term`) by ``new``."""
    return edit_sum(text, lambda piece: new if same_term(piece, old) else piece)


def drop_pieces(text: str, names: Sequence[str]) -> str:
    """Remove the top-level pieces equal to any of ``names``; an emptied part becomes ``1``."""
    kept = edit_sum(text, lambda piece: None if any(same_term(piece, n) for n in names) else piece)
    return kept or "1"


def call(function: str, *args: str) -> str:
    """``function(arg1, arg2)`` text."""
    return f"{function}({', '.join(args)})"


def render(response: str, fixed: str, randoms: Sequence[tuple[str, ...]]) -> str:
    """``response ~ fixed + (expr | group) + ...`` with grouping factors quoted as needed.

    ``randoms`` holds ``(left side, group)`` or ``(left side, group, bar)`` tuples, the group
    unquoted as :class:`~mlm_jupyter.spec.RandomTerm` stores it and ``bar`` ``"|"`` (default)
    or ``"||"``; duplicate bar terms are written once.
    """
    bars: list[str] = []
    for expr, group, *bar in randoms:
        text = f"({expr} {bar[0] if bar else '|'} {quote_group(group)})"
        if text not in bars:
            bars.append(text)
    parts = [p for p in [fixed, *bars] if p]
    return f"{response} ~ " + " + ".join(parts)

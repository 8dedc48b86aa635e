"""Tokenizer, renderer and expression check for lme4 model formulas.

Deliberately dumb, like formulaic's: it only cuts the text into names, numbers, operators,
parentheses and function calls, remembering where each token starts.  What the tokens mean is
decided by :mod:`mlm_jupyter.formula` and :mod:`mlm_jupyter._bars`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Longest first, so "||" wins over "|" and "**" over "*".
OPERATORS = ("||", "**", "~", "+", "-", "*", "/", ":", "|", "^")

# R's lexical rules, shared with the expression parser (:mod:`mlm_jupyter.rexpr`): names may
# contain dots (``mean.ses``); a leading dot must not start a number (``.5``).
R_NAME = re.compile(r"(?:[^\W\d]|\.(?![0-9]))[\w.]*")
R_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_QUOTES = "'\"`"


@dataclass(frozen=True)
class Token:
    """One piece of a formula.

    Attributes
    ----------
    kind : str
        ``"name"``, ``"number"``, ``"call"``, ``"op"``, ``"lparen"`` or ``"rparen"``.
    text : str
        Text to emit: as written, except that a call's whitespace is normalised.
    start, end : int
        Slice of the formula the token came from.
    """

    kind: str
    text: str
    start: int
    end: int

    @property
    def is_bar(self) -> bool:
        return self.kind == "op" and self.text in ("|", "||")

    def is_op(self, *texts: str) -> bool:
        return self.kind == "op" and (not texts or self.text in texts)

    @property
    def bare(self) -> str:
        """A name without its backticks (the data column it refers to)."""
        if self.kind == "name" and self.text.startswith("`"):
            return self.text[1:-1]
        return self.text


class Problem(Exception):
    """A malformed formula, found by a helper that does not hold the formula text.

    :func:`mlm_jupyter.formula.parse` turns it into a ``FormulaError`` quoting the formula.
    """

    def __init__(self, title: str, position: int | None, message: str, hint: str) -> None:
        super().__init__(title, position, message, hint)
        self.title, self.position, self.message, self.hint = title, position, message, hint


def tokenize(text: str) -> list[Token]:
    """Cut ``text`` into tokens; a name directly followed by ``(`` is a call, kept whole."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "`":
            close = text.find("`", i + 1)
            if close < 0:
                raise Problem(
                    "Unbalanced backtick",
                    i,
                    f"The backtick at position {i} is never closed.",
                    "Quote a column name with a backtick on each side: `my column`.",
                )
            if not text[i + 1 : close].strip():
                raise Problem(
                    "Empty quoted name",
                    i,
                    "There is no column name between the backticks.",
                    "Put the column name between them: `my column`.",
                )
            tokens.append(Token("name", text[i : close + 1], i, close + 1))
            i = close + 1
        elif number := R_NUMBER.match(text, i):
            tokens.append(Token("number", number.group(), i, number.end()))
            i = number.end()
        elif name := R_NAME.match(text, i):
            end = name.end()
            if end < n and text[end] == "(":
                close = _call_end(text, i, end)
                inner = _squash(text[end + 1 : close - 1])
                tokens.append(Token("call", f"{name.group()}({inner})", i, close))
                i = close
            else:
                tokens.append(Token("name", name.group(), i, end))
                i = end
        elif char == "(":
            tokens.append(Token("lparen", "(", i, i + 1))
            i += 1
        elif char == ")":
            tokens.append(Token("rparen", ")", i, i + 1))
            i += 1
        else:
            op = next((o for o in OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise Problem(
                    "Illegal character",
                    i,
                    f"{char!r} (position {i}) cannot appear here.",
                    _illegal_hint(char),
                )
            tokens.append(Token("op", op, i, i + len(op)))
            i += len(op)
    return tokens


def _illegal_hint(char: str) -> str:
    if char == "%":
        return "R operators such as %in% are not supported; write nesting as (1 | a/b)."
    if char in "'\"":
        return "Quote column names with backticks (`my column`), not quotes."
    if char == ",":
        return "Separate terms with '+'; commas only appear inside function calls such as C(f)."
    return "Use column names, numbers, function calls and the operators ~ + - * / : ^ | ||."


def _call_end(text: str, start: int, open_at: int) -> int:
    """Index just past the ``)`` matching the ``(`` at ``open_at``, skipping quoted strings."""
    depth, i, n = 0, open_at, len(text)
    while i < n:
        char = text[i]
        if char in _QUOTES:
            close = text.find(char, i + 1)
            if close < 0:
                raise Problem(
                    "Unbalanced quote",
                    i,
                    f"The {char} at position {i} is never closed.",
                    f"Close the quoted text with a second {char}.",
                )
            i = close
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    name = text[start:open_at]
    raise Problem(
        "Unbalanced parenthesis",
        n,
        f"The '(' of the call {name}( at position {open_at} is never closed.",
        f"Add ')' to close the call: {name}(...).",
    )


def _squash(code: str) -> str:
    """Collapse runs of whitespace outside quoted strings, so spacing does not change a spec."""
    out: list[str] = []
    i, n = 0, len(code)
    while i < n:
        char = code[i]
        if char in _QUOTES:
            close = code.find(char, i + 1)  # always found: _call_end checked the quotes
            out.append(code[i : close + 1])
            i = close + 1
            continue
        if char.isspace():
            while i < n and code[i].isspace():
                i += 1
            out.append(" ")
            continue
        out.append(char)
        i += 1
    return "".join(out).strip()


def is_unary(tokens: list[Token], index: int) -> bool:
    """True when the ``+``/``-`` at ``index`` is a sign rather than a binary operator."""
    return index == 0 or tokens[index - 1].kind in ("op", "lparen")


def render(tokens: list[Token]) -> str:
    """Canonical text: one space around ``~ + - * / | ||``, none around ``: ^ **`` or signs."""
    out: list[str] = []
    for i, token in enumerate(tokens):
        if token.kind != "op" or token.text in (":", "^", "**"):
            out.append(token.text)
        elif token.text in "+-" and is_unary(tokens, i):
            out.append(token.text)
        else:
            out.append(f" {token.text} ")
    return "".join(out).strip()


def pairs(tokens: list[Token]) -> dict[int, int]:
    """Index of each '(' -> index of its ')' (the tokens are known to be balanced)."""
    stack: list[int] = []
    matched: dict[int, int] = {}
    for i, token in enumerate(tokens):
        if token.kind == "lparen":
            stack.append(i)
        elif token.kind == "rparen":
            matched[stack.pop()] = i
    return matched


def check_expr(tokens: list[Token]) -> None:
    """Operands and binary operators must alternate (signs allowed); no empty '()'.

    ``tokens`` are balanced and non-empty.  The meaning of the operators is :mod:`.rterms`'s.
    """
    expect_operand = True
    prev: Token | None = None
    for token in tokens:
        if expect_operand:
            if token.kind in ("name", "number", "call"):
                expect_operand = False
            elif token.kind == "rparen" and prev is not None:  # balanced: a ')' is never first
                if prev.kind == "lparen":
                    raise Problem(
                        "Empty parentheses",
                        prev.start,
                        "The parentheses contain nothing.",
                        "Put a term inside them or remove them.",
                    )
                raise dangling(prev)
            elif token.is_op() and not token.is_op("+", "-"):
                if prev is not None and prev.is_op():
                    raise Problem(
                        "Two operators in a row",
                        token.start,
                        f"'{token.text}' at position {token.start} follows '{prev.text}'.",
                        "Remove one of them, or put a term between them.",
                    )
                raise Problem(
                    "Dangling operator",
                    token.start,
                    f"'{token.text}' at position {token.start} has no term before it.",
                    "Add a term before it, or remove it.",
                )
        elif token.kind == "op":
            expect_operand = True
        elif token.kind != "rparen" and prev is not None:
            raise Problem(
                "Missing operator",
                token.start,
                f"Nothing joins {prev.text!r} and {token.text!r}.",
                "Join terms with '+' (or ':' for an interaction).",
            )
        prev = token
    if expect_operand and prev is not None:
        raise dangling(prev)


def dangling(op: Token) -> Problem:
    return Problem(
        "Dangling operator",
        op.start,
        f"'{op.text}' at position {op.start} has no term after it.",
        "Add a term after it, or remove it.",
    )

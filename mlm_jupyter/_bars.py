"""Read one lme4 random-effects term ``(expr | group)`` or ``(expr || group)``.

lme4's rules, in Raudenbush-Bryk terms for ``y_ij = beta_0j + beta_1j x_ij + e_ij``:

- ``(x | g)`` is ``(1 + x | g)``: ``beta_0j = gamma_00 + u_0j``, ``beta_1j = gamma_10 + u_1j``
  with ``(u_0j, u_1j)`` bivariate normal (an unstructured 2x2 covariance); ``0`` or ``-1``
  removes ``u_0j``.
- ``(1 + x || g)`` is lme4's ``expandDoubleVerts``: ``(1 | g) + (0 + x | g)``, one term per
  R term label, so the covariance is diagonal.
- ``(1 | a/b)`` is ``(1 | a) + (1 | b:a)`` (lme4 names the nested factor ``b:a``).
"""

from __future__ import annotations

import re
from itertools import combinations

from ._tokens import Problem, Token, check_expr, render
from .spec import RandomTerm


def random_terms(tokens: list[Token], bar: int, close: Token) -> list[RandomTerm]:
    """The RandomTerms of the bar term whose inside is ``tokens`` (bar at index ``bar``).

    ``close`` is the term's ``)``, where a missing grouping factor is reported.
    """
    left, right, bar_token = tokens[:bar], tokens[bar + 1 :], tokens[bar]
    term, op = f"({render(tokens)})", bar_token.text
    if not right:
        raise Problem(
            "Missing grouping factor",
            close.start,
            f"Nothing follows '{op}' in {term}.",
            f"Name the grouping column after the bar: ({render(left) or '1'} {op} group).",
        )
    if not left:
        raise Problem(
            "Missing left side of the bar",
            bar_token.start,
            f"Nothing comes before '{op}' in {term}.",
            f"Put 1 there for a random intercept: (1 {op} {render(right)}).",
        )
    check_expr(left)
    groups = _groups(right, term)
    intercept, terms = _lhs_terms(left, term)
    if not intercept and not terms:
        raise Problem(
            "Empty random-effects term",
            left[0].start,
            f"{term} has neither an intercept nor a variable.",
            f"Use (1 {op} {render(right)}) for a random intercept.",
        )
    if op == "|":
        expr = " + ".join(["1" if intercept else "0", *(render(t) for t in terms)])
        return [RandomTerm(expr, g) for g in groups]
    # expandDoubleVerts splits first, then each piece is expanded over a/b: term-major order.
    exprs = (["1"] if intercept else []) + [f"0 + {label}" for label in _labels(terms, term)]
    return [RandomTerm(expr, g, correlated=False) for expr in exprs for g in groups]


def _lhs_terms(left: list[Token], term: str) -> tuple[bool, list[list[Token]]]:
    """Intercept flag and the variable terms (split at top-level '+'/'-') of a bar's left."""
    pieces: list[tuple[Token | None, list[Token]]] = []
    minus: Token | None = None
    current: list[Token] = []
    depth = 0
    for token in left:
        depth += token.kind == "lparen"
        depth -= token.kind == "rparen"
        # A '+'/'-' right after another operator (x:-z) is a sign inside the term, not a split.
        if depth == 0 and token.is_op("+", "-") and not (current and current[-1].is_op()):
            if current:
                pieces.append((minus, current))
                minus, current = None, []
            if token.text == "-":  # '- -' cancels
                minus = None if minus is not None else token
            continue
        current.append(token)
    pieces.append((minus, current))

    intercept: bool | None = None
    terms: list[list[Token]] = []
    for minus, toks in pieces:
        if len(toks) == 1 and toks[0].kind == "number":
            value = float(toks[0].text)
            if value not in (0.0, 1.0):
                raise Problem(
                    "Number as a term",
                    toks[0].start,
                    f"{toks[0].text} in {term} is not a term: only 1 (intercept) and "
                    "0 or -1 (no intercept) can stand alone.",
                    "Remove it, or use I(...) for arithmetic, e.g. I(2 * x).",
                )
            has = (value == 1.0) == (minus is None)
            if intercept is not None and intercept != has:
                raise Problem(
                    "Conflicting intercept",
                    toks[0].start,
                    f"{term} both includes and removes the intercept.",
                    "Keep either 1 (with intercept) or 0 (without).",
                )
            intercept = has
        elif minus is not None:
            raise Problem(
                "Subtracted term",
                minus.start,
                f"Only the intercept can be removed inside {term}.",
                "Leave the term out instead of subtracting it.",
            )
        elif all(render(toks) != render(t) for t in terms):
            terms.append(toks)
    return intercept is not False, terms


def _labels(terms: list[list[Token]], term: str) -> list[str]:
    """R's term labels: ``x*z`` -> x, z, x:z; ``b:a`` = ``a:b``; sorted by degree, stably."""
    labels: dict[frozenset[str], tuple[str, ...]] = {}
    for toks in terms:
        factors: list[list[str]] = [[]]
        for token in toks:
            if token.is_op("*"):
                factors.append([])
            elif token.kind in ("name", "call"):
                factors[-1].append(token.text)
            elif not token.is_op(":"):
                raise Problem(
                    "Term cannot be split",
                    token.start,
                    f"{render(toks)} in {term} cannot be split into uncorrelated terms.",
                    "Write the terms out with '+' and ':' (e.g. (x + z + x:z || g)), "
                    "or use a single bar '|'.",
                )
        for r in range(1, len(factors) + 1):
            for combo in combinations(factors, r):
                atoms = tuple(dict.fromkeys(a for factor in combo for a in factor))
                labels.setdefault(frozenset(atoms), atoms)
    return [":".join(atoms) for atoms in sorted(labels.values(), key=len)]


def _groups(right: list[Token], term: str) -> list[str]:
    """Grouping factors: ``a`` | ``a:b`` | ``a/b/c`` -> ``a``, ``b:a``, ``c:(b:a)``."""
    chunks: list[list[str]] = [[]]
    want_name = True
    for token in right:
        token = _factor_call(token)
        if want_name and token.kind == "name":
            if ":" in token.bare:  # RandomTerm.group_columns splits on ':'
                raise Problem(
                    "Grouping column with ':'",
                    token.start,
                    f"The column name {token.text} contains ':'.",
                    "Rename the column; ':' marks an interaction of columns.",
                )
            chunks[-1].append(token.bare)
            want_name = False
        elif not want_name and token.is_op(":", "/"):
            if token.text == "/":
                chunks.append([])
            want_name = True
        else:
            raise _bad_group(token, want_name, term)
    if want_name:
        last = right[-1]
        raise Problem(
            "Dangling operator",
            last.start,
            f"'{last.text}' at position {last.start} has no column after it.",
            "Add the grouping column after it, e.g. (1 | a/b), or remove it.",
        )
    # lme4's expandSlash names: a/b/c -> a, b:a, c:(b:a) (an inner interaction is bracketed).
    groups: list[str] = []
    for chunk in chunks:
        name = ":".join(chunk)
        if groups:
            outer = groups[-1]
            name += ":" + (f"({outer})" if ":" in outer else outer)
        groups.append(name)
    return groups


_FACTOR_CALL = re.compile(r"^(?:as\.)?factor\(\s*(`[^`]+`|[^\W\d][\w.]*|\.[^\W\d][\w.]*)\s*\)$")


def _factor_call(token: Token) -> Token:
    """``factor(g)`` / ``as.factor(g)`` as a grouping factor is ``g`` (lme4 makes it a factor)."""
    match = _FACTOR_CALL.match(token.text) if token.kind == "call" else None
    if match is None:
        return token
    return Token("name", match.group(1), token.start, token.end)


def _bad_group(token: Token, want_name: bool, term: str) -> Problem:
    what = "The grouping factor must be a column name, an interaction a:b or a nesting a/b"
    hint = "Name the column that identifies the groups, e.g. (1 | school)."
    if token.kind == "number":
        message = f"{what}, not the number {token.text}."
    elif token.kind == "call":
        message = f"{what}, not the call {token.text}."
        hint = "Add it to the data as a column first, then use that column's name."
    elif token.is_op("+"):
        message = f"{what}; '+' cannot join grouping columns in {term}."
        hint = "For crossed factors write one term each: (1 | g) + (1 | h)."
    elif not want_name:
        message = f"Nothing joins the grouping columns before {token.text!r} in {term}."
        hint = "Join grouping columns with ':' (interaction) or '/' (nesting)."
    else:
        message = f"{what}; {token.text!r} cannot appear there in {term}."
    return Problem("Invalid grouping factor", token.start, message, hint)

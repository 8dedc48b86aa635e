"""Parse lme4 model formulas into a :class:`~mlm_jupyter.spec.ModelSpec`.

``mathach ~ cses*catholic + meanses + (1 + cses | school)`` is read in three steps, as formulaic
reads its own formulas: :func:`~mlm_jupyter._tokens.tokenize` cuts the text into tokens; the
random-effects terms (a parenthesised group at the top level of the right-hand side holding a
``|`` or ``||``) are located and removed with the ``+`` joining them; what is left is the fixed
part.  The texts emitted (response, fixed part, each bar's left side) are R formula parts with
normalised spacing, so ``(1+x|g)`` and ``(1 + x | g)`` give equal specs.

In lme4 / Raudenbush-Bryk terms, ``y ~ x + (1 + x | g)`` is the model
``y_ij = (gamma_00 + u_0j) + (gamma_10 + u_1j) x_ij + e_ij`` with ``(u_0j, u_1j)`` correlated;
``(x || g)`` makes ``u_0j`` and ``u_1j`` independent, and ``(1 | a/b)`` adds an intercept per
level of ``a`` and one per level of ``b`` within ``a`` (lme4's group ``b:a``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from ._bars import random_terms
from ._tokens import Problem, Token, check_expr, pairs, render, tokenize
from .spec import ModelSpec, RandomTerm

__all__ = ["FormulaError", "as_spec", "parse", "unknown_column_error"]

_EXAMPLE = "y ~ x + (1 | group)"


class FormulaError(ValueError):
    """A formula that cannot be read, with the position of the problem.

    Parameters
    ----------
    message : str
        What is wrong.
    formula : str
        The formula as the user wrote it.
    position : int or None
        Index into ``formula`` of the offending character (a caret is drawn under it).
    hint : str
        How to fix it.
    title : str
        Short name of the problem, shown first (``"Unbalanced parenthesis"``).
    """

    def __init__(
        self,
        message: str,
        formula: str,
        position: int | None = None,
        hint: str = "",
        *,
        title: str = "Error",
    ) -> None:
        super().__init__(message)
        self.message, self.formula, self.position, self.hint = message, formula, position, hint
        self.title = title

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the keyword-only title when pickled (e.g. by multiprocessing).
        args = (self.message, self.formula, self.position, self.hint)
        return type(self), args, {"title": self.title}

    def __str__(self) -> str:
        tail = " ".join(part for part in (self.message, self.hint) if part)
        if not self.formula.strip():
            return f"{self.title}: {tail}"
        # Newlines and tabs become single spaces so the caret stays under the right character.
        shown = "".join(" " if c.isspace() else c for c in self.formula)
        lines = [f"{self.title} in the formula:", f"  {shown}"]
        if self.position is not None and self.position >= 0:  # str.find gives -1 for "nowhere"
            lines.append("  " + " " * min(self.position, len(shown)) + "^")
        lines.append(tail)
        return "\n".join(lines)


def unknown_column_error(formula: str, name: str, columns: Iterable[object]) -> FormulaError:
    """Build the error for a variable the data does not have, suggesting close column names.

    Parameters
    ----------
    formula : str
        The formula as written (the caret is put under the first use of ``name``).
    name : str
        The variable the formula uses.
    columns : iterable
        Column names of the data.
    """
    cols = [str(c) for c in columns]
    same_case = [c for c in cols if c.lower() == name.lower()]
    close = difflib.get_close_matches(name, cols, n=3, cutoff=0.6)
    close = [c for c in close if c not in same_case]
    suggestions = same_case + close
    if suggestions:
        hint = "Did you mean " + " or ".join(repr(c) for c in suggestions) + "?"
    else:
        listed = ", ".join(cols[:12])
        more = f", ... ({len(cols)} in all)" if len(cols) > 12 else ""
        hint = f"The columns are: {listed}{more}." if cols else "The data has no columns."
    return FormulaError(
        f"The data has no column named {name!r}.",
        formula,
        _locate(formula, name),
        hint,
        title="Unknown column",
    )


def _locate(formula: str, name: str) -> int | None:
    quoted = formula.find(f"`{name}`")
    if quoted >= 0:
        return quoted
    whole = re.search(rf"(?<![\w.`]){re.escape(name)}(?![\w.`])", formula)
    if whole:
        return whole.start()
    anywhere = formula.find(name)
    return anywhere if anywhere >= 0 else None


def as_spec(formula: str | ModelSpec) -> ModelSpec:
    """The parsed model of what every fitting function accepts: formula text or a spec.

    Raises
    ------
    FormulaError
        A malformed formula (see :func:`parse`).
    TypeError
        ``formula`` is neither a string nor a :class:`ModelSpec`.
    """
    if isinstance(formula, ModelSpec):
        return formula
    if not isinstance(formula, str):
        raise TypeError(
            f"formula must be a string such as '{_EXAMPLE}', not {type(formula).__name__}."
        )
    return parse(formula)


def parse(formula: str) -> ModelSpec:
    """Parse an lme4 formula such as ``"y ~ x + (1 + x | g)"``.

    Parameters
    ----------
    formula : str
        ``response ~ fixed part + (expr | group) ...``.  Random terms: ``(1 | g)`` random
        intercept ``u_0j``; ``(x | g)`` = ``(1 + x | g)`` correlated intercept and slope;
        ``(0 + x | g)`` slope only; ``(x || g)`` uncorrelated; ``(1 | a/b)`` nested = ``(1 | a)
        + (1 | b:a)``; ``(1 | a:b)`` interaction of columns; several terms for crossed factors.

    Returns
    -------
    ModelSpec

    Raises
    ------
    FormulaError
        For any malformed formula, with the position of the problem and a fix.
    TypeError
        If ``formula`` is not a string.
    """
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string such as {_EXAMPLE!r}, not {type(formula)!r}")
    try:
        return _parse(formula)
    except Problem as problem:
        raise FormulaError(
            problem.message, formula, problem.position, problem.hint, title=problem.title
        ) from None


def _parse(formula: str) -> ModelSpec:
    if not formula.strip():
        raise Problem(
            "Empty formula", None, "The formula is empty.", f"Write one such as {_EXAMPLE!r}."
        )
    tokens = tokenize(formula)
    _check_balance(tokens, len(formula))
    tilde = _find_tilde(tokens)
    response = _response(tokens[:tilde], tokens[tilde])
    rhs = tokens[tilde + 1 :]
    if not rhs:
        raise Problem(
            "Missing right-hand side",
            len(formula),
            "Nothing follows '~'.",
            f"Add predictors and a random-effects term: {response} ~ x + (1 | g).",
        )
    fixed_tokens, random = _split_rhs(rhs)
    fixed = "1"
    if fixed_tokens:
        check_expr(fixed_tokens)
        fixed = render(fixed_tokens)
    if not random:
        raise Problem(
            "No random-effects term",
            len(formula),
            "The formula has no random-effects term, so there is no multilevel structure.",
            "Use (1 | group) for a random intercept per group: "
            f"{response} ~ {fixed} + (1 | group).",
        )
    return ModelSpec(formula, response, fixed, tuple(random))


def _check_balance(tokens: list[Token], end: int) -> None:
    stack: list[int] = []
    for i, token in enumerate(tokens):
        if token.kind == "lparen":
            stack.append(i)
        elif token.kind == "rparen":
            if not stack:
                raise Problem(
                    "Unbalanced parenthesis",
                    token.start,
                    f"The ')' at position {token.start} has no matching '('.",
                    "Remove it, or add the missing '(' where the group starts.",
                )
            stack.pop()
    if stack:
        opened = stack[-1]  # innermost: the one whose ')' is due first
        rest = tokens[opened:]
        if any(t.is_bar for t in rest):
            hint = f"Add ')' after the grouping factor: {render(rest)})."
        else:
            hint = "Add the missing ')' where the group ends."
        raise Problem(
            "Unbalanced parenthesis",
            end,
            f"A '(' opened at position {tokens[opened].start} is never closed.",
            hint,
        )


def _find_tilde(tokens: list[Token]) -> int:
    tildes = [i for i, t in enumerate(tokens) if t.is_op("~")]
    if not tildes:
        raise Problem(
            "Missing '~'",
            None,
            "A model formula needs '~' between the response and the predictors.",
            f"Write it as response ~ predictors, e.g. {_EXAMPLE!r}.",
        )
    if len(tildes) > 1:
        second = tokens[tildes[1]].start
        raise Problem(
            "More than one '~'",
            second,
            f"A second '~' appears at position {second}; only one is allowed.",
            "Keep the single '~' between the response and the predictors.",
        )
    tilde = tildes[0]
    if any(o < tilde < c for o, c in pairs(tokens).items()):
        raise Problem(
            "'~' inside parentheses",
            tokens[tilde].start,
            "The '~' must not be inside parentheses.",
            f"Remove the parentheses around it: {_EXAMPLE!r}.",
        )
    return tilde


def _response(lhs: list[Token], tilde: Token) -> str:
    if not lhs:
        raise Problem(
            "Missing response",
            tilde.start,
            "Nothing is on the left of '~'.",
            f"Put the outcome column before it: {_EXAMPLE!r}.",
        )
    if len(lhs) != 1 or lhs[0].kind not in ("name", "call"):
        raise Problem(
            "Unsupported response",
            lhs[0].start,
            f"The response {render(lhs)!r} is not a single column or function call.",
            "Put one outcome column, or a call such as log(y) or I(y/10), left of '~'.",
        )
    return lhs[0].text


def _split_rhs(rhs: list[Token]) -> tuple[list[Token], list[RandomTerm]]:
    """Take the bar terms (and the '+' joining each) out of the right-hand side."""
    matched = pairs(rhs)
    groups: list[tuple[int, int]] = []
    i = 0
    while i < len(rhs):
        if rhs[i].kind == "lparen":
            groups.append((i, matched[i]))
            i = matched[i] + 1
            continue
        if rhs[i].is_bar:
            group = rhs[i + 1].bare if i + 1 < len(rhs) and rhs[i + 1].kind == "name" else "g"
            raise Problem(
                "Bar outside parentheses",
                rhs[i].start,
                f"'{rhs[i].text}' separates a random-effects term from its grouping "
                "factor and must be inside parentheses.",
                f"Wrap the term in parentheses and add it with '+', e.g. y ~ x + (1 | {group}).",
            )
        i += 1
    removed: set[int] = set()
    random: list[RandomTerm] = []
    for a, b in groups:
        located = _bar_term(rhs, a, b, matched)
        if located is None:
            continue
        _check_join(rhs, a, b)
        removed.update(range(a, b + 1))
        # Drop one joining '+': the one before, unless an earlier bar term already took it.
        # A '-' after the term is kept: in "(1 | g) - 1" it then removes the fixed intercept.
        if a > 0 and a - 1 not in removed:
            removed.add(a - 1)
        elif b + 1 < len(rhs) and rhs[b + 1].is_op("+"):
            removed.add(b + 1)
        lo, bar, hi = located
        random.extend(random_terms(rhs[lo:hi], bar - lo, rhs[hi]))
    return [t for i, t in enumerate(rhs) if i not in removed], random


def _bar_term(
    rhs: list[Token], a: int, b: int, matched: dict[int, int]
) -> tuple[int, int, int] | None:
    """(lo, bar, hi) of the bar term in the group ``rhs[a..b]``, or None if it has no bar."""
    lo, hi = a + 1, b
    while lo < hi and rhs[lo].kind == "lparen" and matched[lo] == hi - 1:
        lo, hi = lo + 1, hi - 1  # ((1 | g)) is (1 | g)
    depth = 0
    top: list[int] = []
    deep: list[int] = []
    for k in range(lo, hi):
        depth += rhs[k].kind == "lparen"
        depth -= rhs[k].kind == "rparen"
        if rhs[k].is_bar:
            (deep if depth else top).append(k)
    if deep:
        opened = max(o for o, c in matched.items() if lo <= o < deep[0] < c)
        inner = render(rhs[opened : matched[opened] + 1])
        if top:
            raise Problem(
                "Nested random-effects term",
                rhs[deep[0]].start,
                f"The term {inner} is inside another random-effects term.",
                "Write each random-effects term on its own, joined with '+': (1 | g) + (x | h).",
            )
        raise Problem(
            "Random-effects term inside parentheses",
            rhs[deep[0]].start,
            f"The random-effects term {inner} is part of a larger parenthesised expression.",
            f"Take it out and add it to the formula with '+': ... + {inner}.",
        )
    if not top:
        return None
    if len(top) > 1:
        raise Problem(
            "More than one bar in a term",
            rhs[top[1]].start,
            f"{render(rhs[a : b + 1])} has more than one '|'.",
            "A term has one bar: (1 + x | g). For crossed factors write (1 | g) + (1 | h).",
        )
    return lo, top[0], hi


def _check_join(rhs: list[Token], a: int, b: int) -> None:
    """A bar term must be added: '+' before it, and after it '+' or '-' (which bind looser)."""
    term = render(rhs[a : b + 1])
    for k in (a - 1, b + 1):
        if not 0 <= k < len(rhs) or rhs[k].is_op("+") or (k > b and rhs[k].is_op("-")):
            continue
        if rhs[k].kind == "op":
            raise Problem(
                "Random-effects term not added",
                rhs[k].start,
                f"'{rhs[k].text}' joins the random-effects term {term} to the formula.",
                f"Random-effects terms can only be added with '+': ... + {term}.",
            )
        where = rhs[a].start if k < a else rhs[k].start
        raise Problem(
            "Missing operator",
            where,
            f"Nothing joins {rhs[k].text!r} and the term {term}.",
            f"Add '+' between them: ... + {term}.",
        )

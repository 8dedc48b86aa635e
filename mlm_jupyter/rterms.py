"""R's formula algebra (``terms.formula``): a formula part -> intercept, terms, offsets.

``a*b`` is ``a + b + a:b``; ``a/b`` is ``a + a:b``; ``(a + b)^2`` all interactions up to
order 2; ``-`` deletes terms; ``0``/``-1`` remove and ``1`` restores the intercept (the last
one written wins); ``a:a`` is ``a``; ``b:a`` is ``a:b``.  Terms are ordered by degree (stable
within a degree) and a term's variables by their first appearance in the formula, so labels
and column names equal R's.  Variables are R expressions (names, calls such as ``log(x)``),
identified by their deparsed text; ``offset(z)`` is collected apart, as lme4 does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ._tokens import Token, tokenize
from .rexpr import ExprError, Node, deparse, parse_expr

__all__ = ["Terms", "TermsError", "expand"]


class TermsError(ValueError):
    """A formula part R would not read; ``token`` is the offending piece of text."""

    def __init__(self, message: str, token: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.token, self.hint = message, token, hint


@dataclass(frozen=True)
class Terms:
    """An expanded formula part.

    Attributes
    ----------
    intercept : bool
    variables : tuple of str
        R texts of the variables in order of first appearance (``"x"``, ``"log(z)"``).
    terms : tuple of tuple of int
        Each term's variable indices (ascending), terms in R's order.
    offsets : tuple of str
        R texts of the ``offset(...)`` arguments.
    nodes : tuple of Node
        Parsed expression of every variable.
    offset_nodes : tuple of Node
    """

    intercept: bool
    variables: tuple[str, ...]
    terms: tuple[tuple[int, ...], ...]
    offsets: tuple[str, ...]
    nodes: tuple[Node, ...]
    offset_nodes: tuple[Node, ...]

    def labels(self) -> tuple[str, ...]:
        """R's ``attr(terms, "term.labels")``."""
        return tuple(":".join(self.variables[v] for v in term) for term in self.terms)


_PRECEDENCE = {"^": 40, "**": 40, ":": 30, "*": 20, "/": 20, "+": 10, "-": 10}


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.variables: list[str] = []
        self.nodes: list[Node] = []
        self.offsets: list[str] = []
        self.offset_nodes: list[Node] = []

    # each expression evaluates to (terms, intercept-change) where terms is a list of frozensets
    def variable(self, token: Token) -> frozenset[int]:
        try:
            node = parse_expr(token.text)
        except ExprError as err:
            raise TermsError(f"{token.text} cannot be read: {err.message}", token.text,
                             err.hint) from None
        label = deparse(node)
        if label not in self.variables:
            self.variables.append(label)
            self.nodes.append(node)
        return frozenset({self.variables.index(label)})

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self, power: int = 0) -> tuple[list[frozenset[int]], bool | None]:
        """(terms, intercept) of the expression; intercept None when it says nothing."""
        token = self.peek()
        if token is None:
            raise TermsError("The formula part ends too early.", self.text)
        self.pos += 1
        terms: list[frozenset[int]]
        intercept: bool | None = None
        if token.kind == "lparen":
            terms, intercept = self.parse()
            self.pos += 1  # the matching ')': the formula parser checked the balance
        elif token.kind == "number":
            value = float(token.text)
            if value not in (0.0, 1.0):
                raise TermsError(
                    f"The number {token.text} is not a term: only 1 (intercept) and 0 or -1 "
                    "(no intercept) can stand alone.", token.text,
                    "Use I(...) for arithmetic, e.g. I(2 * x).")
            terms, intercept = [], value == 1.0
        elif token.is_op("-", "+"):
            terms, intercept = self.parse(35)
            if token.text == "-":
                if terms:
                    raise TermsError(
                        "A term cannot be removed before it is added.", token.text,
                        "Write the terms to keep; '-' after them removes some: a*b - a:b.")
                intercept = None if intercept is None else not intercept
        elif token.kind == "name" and token.bare == ".":
            raise TermsError(
                "'.' (every other column) is not supported.", ".",
                "Write the predictors out, e.g. y ~ x1 + x2 + (1 | g).")
        elif token.kind == "call" and token.text.startswith("offset("):
            node = self.variable_node(token)
            if len(node.args) != 1 or node.kwargs:
                raise TermsError("offset() takes one argument: offset(z).", token.text)
            label = deparse(node.args[0])
            if label not in self.offsets:
                self.offsets.append(label)
                self.offset_nodes.append(node.args[0])
            terms = []
        elif token.kind in ("name", "call"):
            terms = [self.variable(token)]
        else:
            raise TermsError(f"{token.text!r} cannot start a term.", token.text)
        while True:
            op = self.peek()
            if op is None or op.kind != "op" or op.text not in _PRECEDENCE:
                return terms, intercept
            prec = _PRECEDENCE[op.text]
            if prec <= power and not (op.text in ("^", "**") and prec == power):
                return terms, intercept
            self.pos += 1
            if op.text in ("^", "**"):
                exponent = self.peek()
                if exponent is None or exponent.kind != "number" or not float(
                    exponent.text).is_integer() or float(exponent.text) < 1:
                    raise TermsError("'^' in a formula needs a whole number: (a + b)^2.",
                                     op.text, "Use I(x^2) for the square of a variable.")
                self.pos += 1
                base = terms
                for _ in range(int(float(exponent.text)) - 1):
                    terms = _unique(terms + [a | b for a in terms for b in base])
                continue
            right, right_intercept = self.parse(prec)
            if op.text == "+":
                terms = _unique(terms + right)
                if right_intercept is not None:
                    intercept = right_intercept
            elif op.text == "-":
                drop = set(right)
                terms = [t for t in terms if t not in drop]
                if right_intercept is not None:
                    intercept = not right_intercept
            elif op.text == ":":
                terms = _unique([a | b for a in terms for b in right])
            elif op.text == "*":
                terms = _unique(terms + right + [a | b for a in terms for b in right])
            elif op.text == "/":
                whole = frozenset().union(*terms) if terms else frozenset()
                terms = _unique(terms + [whole | b for b in right])

    def variable_node(self, token: Token) -> Node:
        try:
            return parse_expr(token.text)
        except ExprError as err:
            raise TermsError(f"{token.text} cannot be read: {err.message}", token.text) from None


def _unique(terms: list[frozenset[int]]) -> list[frozenset[int]]:
    return list(dict.fromkeys(t for t in terms if t))


@lru_cache(maxsize=1024)
def expand(text: str) -> Terms:
    """Expand one formula part (``"1 + x*f"``) as R's ``terms()`` does.

    Raises
    ------
    TermsError
        Numbers as terms, ``.``, a bad ``^``, a removal before any term.
    """
    builder = _Builder(text)
    terms, intercept = builder.parse()
    if builder.peek() is not None:
        raise TermsError(f"Unexpected {builder.peek().text!r}.", builder.peek().text)  # type: ignore[union-attr]
    ordered = sorted(_unique(terms), key=len)  # stable: formula order within a degree
    return Terms(
        intercept=intercept is not False,
        variables=tuple(builder.variables),
        terms=tuple(tuple(sorted(t)) for t in ordered),
        offsets=tuple(builder.offsets),
        nodes=tuple(builder.nodes),
        offset_nodes=tuple(builder.offset_nodes),
    )

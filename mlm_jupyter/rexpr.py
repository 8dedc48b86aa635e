"""R expressions inside formulas: ``log(x.1)``, ``I(x^2)``, ``poly(age, 2)``, ``factor(g)``.

A small parser for R's expression grammar (names with dots, ```backticked names```, numbers,
strings, calls with named arguments, ``^ - * / %% %/% + - < > <= >= == != ! & |``, with R's
precedence), a deparser that writes an expression as R's ``deparse`` does (so column names
equal ``model.matrix``'s: ``I(x/1000)``, ``log(x + 1)``, ``poly(x, 2)1``), and the
:class:`Node` trees the evaluator (:mod:`mlm_jupyter.rfunctions`) walks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ._tokens import R_NAME, R_NUMBER

__all__ = ["Node", "ExprError", "parse_expr", "deparse", "r_number", "r_name"]

_RESERVED = {
    "if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE",
    "NULL", "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "in",
}
_SYNTACTIC = re.compile(r"^(?:[^\W\d_]|\.(?![0-9]))[\w.]*$|^\.$")
_NUMBER = re.compile(R_NUMBER.pattern + "L?")  # R's integer suffix: 2L
_OPS = ("%/%", "%%", "<=", ">=", "==", "!=", "&&", "||", "**", "^", "-", "+", "*", "/", "<",
        ">", "!", "&", "|", "(", ")", ",", "=", ":")
# Binding powers (left, right) of R's binary operators, tightest first.
_BINARY = {
    "^": (70, 69), ":": (60, 61), "%%": (50, 51), "%/%": (50, 51), "*": (40, 41),
    "/": (40, 41), "+": (30, 31), "-": (30, 31), "<": (20, 21), ">": (20, 21),
    "<=": (20, 21), ">=": (20, 21), "==": (20, 21), "!=": (20, 21), "&": (12, 13),
    "&&": (12, 13), "|": (10, 11), "||": (10, 11),
}
_UNARY_MINUS = 65  # between ^ and : (R: -x^2 is -(x^2), -1:2 is (-1):2)
_UNARY_NOT = 15
_SPACED = {"+", "-", "*", "<", ">", "<=", ">=", "==", "!=", "&", "&&", "|", "||"}


class ExprError(ValueError):
    """An expression that cannot be read; ``offset`` is its position in the text."""

    def __init__(self, message: str, offset: int = 0, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.offset, self.hint = message, offset, hint


@dataclass(frozen=True)
class Node:
    """One node of an expression tree.

    ``kind`` is ``"name"`` (``value`` the column name, backticks removed), ``"num"``
    (``value`` a float, ``text`` as written), ``"str"``, ``"call"`` (``value`` the function,
    ``args`` positional and ``kwargs`` named arguments), ``"op"`` (``value`` the operator,
    one or two ``args``) or ``"paren"``.
    """

    kind: str
    value: object = None
    args: tuple[Node, ...] = ()
    kwargs: tuple[tuple[str, Node], ...] = ()
    text: str = ""

    def names(self) -> list[str]:
        """Every name the expression reads (column candidates), in order of appearance."""
        out: list[str] = []
        if self.kind == "name":
            out.append(str(self.value))
        for child in (*self.args, *(v for _, v in self.kwargs)):
            out += [n for n in child.names() if n not in out]
        return out


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "`":
            close = text.find("`", i + 1)
            if close < 0:
                raise ExprError("A backtick is never closed.", i)
            out.append(("name", text[i + 1 : close], i))
            i = close + 1
        elif char in "\"'":
            close = text.find(char, i + 1)
            if close < 0:
                raise ExprError("A quoted string is never closed.", i)
            out.append(("str", text[i + 1 : close], i))
            i = close + 1
        elif m := _NUMBER.match(text, i):
            out.append(("num", m.group(), i))
            i = m.end()
        elif m := R_NAME.match(text, i):
            out.append(("name", m.group(), i))
            i = m.end()
        else:
            op = next((o for o in _OPS if text.startswith(o, i)), None)
            if op is None:
                raise ExprError(f"{char!r} cannot appear in an expression.", i)
            out.append(("op", op, i))
            i += len(op)
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise ExprError("The expression ends too early.", len(self.text))
        self.pos += 1
        return token

    def expect(self, op: str) -> None:
        token = self.take()
        if token[:2] != ("op", op):
            raise ExprError(f"Expected {op!r} but found {token[1]!r}.", token[2])

    def expr(self, power: int = 0) -> Node:
        kind, value, at = self.take()
        left: Node
        if kind == "num":
            left = Node("num", float(value.rstrip("L")), text=value)
        elif kind == "str":
            left = Node("str", value)
        elif kind == "name":
            nxt = self.peek()
            if nxt is not None and nxt[:2] == ("op", "("):
                self.take()
                left = self.call(value)
            elif value in ("TRUE", "FALSE"):
                left = Node("bool", value == "TRUE")
            else:
                left = Node("name", value)
        elif kind == "op" and value == "(":
            inner = self.expr()
            self.expect(")")
            left = Node("paren", args=(inner,))
        elif kind == "op" and value in ("-", "+"):
            left = Node("op", value, (self.expr(_UNARY_MINUS),))
        elif kind == "op" and value == "!":
            left = Node("op", "!", (self.expr(_UNARY_NOT),))
        else:
            raise ExprError(f"{value!r} cannot start an expression.", at)
        while True:
            token = self.peek()
            if token is None or token[0] != "op":
                if token is not None:
                    raise ExprError(f"Nothing joins the expression and {token[1]!r}.", token[2])
                return left
            op = "^" if token[1] == "**" else token[1]
            if op not in _BINARY:
                return left
            lbp, rbp = _BINARY[op]
            if lbp < power:
                return left
            self.take()
            left = Node("op", op, (left, self.expr(rbp)))

    def call(self, function: str) -> Node:
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        token = self.peek()
        if token is not None and token[:2] == ("op", ")"):
            self.take()
            return Node("call", function)
        while True:
            token = self.peek()
            after = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
            if token is not None and token[0] == "name" and after is not None and after[:2] == (
                "op",
                "=",
            ):
                self.pos += 2
                kwargs.append((token[1], self.expr()))
            else:
                if kwargs:
                    raise ExprError("A positional argument follows a named one.", token[2] if
                                    token else len(self.text))
                args.append(self.expr())
            token = self.take()
            if token[:2] == ("op", ")"):
                return Node("call", function, tuple(args), tuple(kwargs))
            if token[:2] != ("op", ","):
                raise ExprError(f"Expected ',' or ')' but found {token[1]!r}.", token[2])


def parse_expr(text: str) -> Node:
    """Parse one R expression (the text of a formula variable such as ``log(x.1 + 1)``)."""
    parser = _Parser(text)
    if not parser.tokens:
        raise ExprError("The expression is empty.", 0)
    node = parser.expr()
    if parser.peek() is not None:
        token = parser.peek()
        assert token is not None
        raise ExprError(f"Unexpected {token[1]!r}.", token[2])
    return node


def r_name(name: str) -> str:
    """A name as R deparses it: backticks around non-syntactic names (```x 1```)."""
    if _SYNTACTIC.match(name) and name not in _RESERVED:
        return name
    return "`" + name.replace("`", "\\`") + "`"


def r_number(value: float) -> str:
    """A number as R's ``deparse`` writes it (15 significant digits, R's fixed/sci choice)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    digits = f"{abs(value):.15g}"
    mantissa, _, exp_text = f"{abs(value):.14e}".partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    exponent = int(exp_text)
    sci = f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    fixed = digits if "e" not in digits else f"{abs(value):.{max(0, -exponent + 14)}f}"
    if "." in fixed:
        fixed = fixed.rstrip("0").rstrip(".")
    sign = "-" if value < 0 else ""
    return sign + (fixed if len(fixed) <= len(sci) else sci)


def deparse(node: Node) -> str:
    """R's ``deparse`` of an expression: spaces around ``+ - * < ...``, none around ``/ ^ :``."""
    kind = node.kind
    if kind == "name":
        return r_name(str(node.value))
    if kind == "num":
        if node.text.endswith("L"):
            return node.text
        return r_number(float(node.value))  # type: ignore[arg-type]
    if kind == "bool":
        return "TRUE" if node.value else "FALSE"
    if kind == "str":
        return '"' + str(node.value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind == "paren":
        return f"({deparse(node.args[0])})"
    if kind == "call":
        parts = [deparse(a) for a in node.args]
        parts += [f"{r_name(k)} = {deparse(v)}" for k, v in node.kwargs]
        return f"{r_name(str(node.value))}({', '.join(parts)})"
    op = str(node.value)
    if len(node.args) == 1:
        return f"{op}{deparse(node.args[0])}"
    left, right = (deparse(a) for a in node.args)
    return f"{left} {op} {right}" if op in _SPACED else f"{left}{op}{right}"

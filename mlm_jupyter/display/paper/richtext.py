"""Rich text for table cells: a tuple of spans (plain, subscript, superscript, italic).

Labels such as τ₀₀, σ², *p* and 95% CI need sub-/superscripts and italics in every output
format; a cell holds spans and each renderer (HTML, LaTeX, Word, Markdown) turns them into
its own markup, escaping the text of every span.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

STYLES = ("", "sub", "sup", "italic", "bold")
_SUB = str.maketrans("0123456789+-()", "₀₁₂₃₄₅₆₇₈₉₊₋₍₎")
_SUP = str.maketrans("0123456789+-()*", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾*")


@dataclass(frozen=True)
class Span:
    """A run of text in one style (``""`` plain, ``"sub"``, ``"sup"``, ``"italic"``, ``"bold"``)."""

    text: str
    style: str = ""

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"unknown span style {self.style!r}; use one of {STYLES}")


Rich = tuple[Span, ...]


def rich(*parts: str | Span | tuple[str, str]) -> Rich:
    """Build rich text from strings (plain), spans and ``(text, style)`` pairs."""
    out: list[Span] = []
    for part in parts:
        if isinstance(part, Span):
            span = part
        elif isinstance(part, tuple):
            span = Span(*part)
        else:
            span = Span(str(part))
        if span.text:
            out.append(span)
    return tuple(out)


def concat(*texts: Rich) -> Rich:
    return tuple(span for text in texts for span in text)


def plain_text(text: Rich, unicode: bool = True) -> str:
    """One string: digits in sub-/superscripts as Unicode sub-/superscript characters
    (τ₀₀, σ²) where they exist, otherwise the characters as they are."""
    out = []
    for span in text:
        if unicode and span.style == "sub" and all(c in "0123456789+-()" for c in span.text):
            out.append(span.text.translate(_SUB))
        elif unicode and span.style == "sup" and all(c in "0123456789+-()*" for c in span.text):
            out.append(span.text.translate(_SUP))
        else:
            out.append(span.text)
    return "".join(out)


def is_empty(text: Rich) -> bool:
    return not any(span.text for span in text)


def join(texts: Iterable[Rich], separator: str) -> Rich:
    out: list[Span] = []
    for k, text in enumerate(texts):
        if k:
            out.append(Span(separator))
        out.extend(text)
    return tuple(out)

"""Immutable description of a parsed lme4 model formula.

A :class:`ModelSpec` is what :func:`mlm_jupyter.formula.parse` returns and what
:func:`mlm_jupyter.design.build_design` consumes.  It holds text only (no data), so
it can be built, compared and printed before any data frame is seen.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RandomTerm:
    """One random-effects term ``(expr | group)``.

    Attributes
    ----------
    expr : str
        Left side of the bar as R formula text, with the intercept made explicit:
        ``"1"``, ``"1 + Days"``, ``"0 + Days"``.  ``(Days | g)`` is stored as
        ``"1 + Days"`` (lme4's implicit intercept).
    group : str
        Grouping factor: a column name, or an interaction of columns joined by
        ``":"`` (``"cask:batch"``).  ``(1 | a/b)`` is expanded to the groups
        ``"a"`` and ``"b:a"`` (lme4's naming).
    correlated : bool
        ``False`` when the term came from a double-bar ``(x || g)`` expansion.
    """

    expr: str
    group: str
    correlated: bool = True

    @property
    def group_columns(self) -> tuple[str, ...]:
        """Data columns whose interaction defines the grouping factor."""
        return tuple(part.strip().strip("()") for part in self.group.split(":"))


@dataclass(frozen=True)
class ModelSpec:
    """A parsed lme4 formula.

    Attributes
    ----------
    formula : str
        The formula exactly as the user wrote it.
    response : str
        Left side of ``~`` (R expression text; usually a column name).
    fixed : str
        Right side of the fixed part as R formula text, bar terms removed
        (``"1"`` when only an intercept remains; ``"0"`` / ``"-1"`` kept).
    random : tuple of RandomTerm
        Random terms in the order written, ``||`` and ``a/b`` already expanded.
    """

    formula: str
    response: str
    fixed: str
    random: tuple[RandomTerm, ...]

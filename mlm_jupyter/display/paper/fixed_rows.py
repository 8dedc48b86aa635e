"""Fixed-effect rows: the union of the models' terms, their labels and their cells.

Terms are matched across models by the set of their interaction parts (``a:b`` is ``b:a``);
the order is the intercept, main effects in order of first appearance, then interactions by
order.  Every number placed in a cell is recorded at full precision (:class:`Recorder`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...naming import split_interaction
from . import formatting as fmt
from .columns import ModelColumn
from .layout import Cell, Row
from .options import Options
from .richtext import Rich, concat, rich

INTERCEPT = "(Intercept)"


def _term_key(name: str) -> frozenset[str]:
    return frozenset(split_interaction(name))


def fixed_rows(columns: Sequence[ModelColumn], terms: tuple[str, ...] | None) -> list[str]:
    """The union of the fixed effects, as spelt by the first model that has each."""
    seen: dict[frozenset[str], tuple[int, int, str]] = {}
    for column in columns:
        for name in column.fixed.index:
            key = _term_key(str(name))
            if key not in seen:
                order = 0 if name == INTERCEPT else len(key)
                seen[key] = (order, len(seen), str(name))
    ordered = [name for _, _, name in sorted(seen.values())]
    if terms is None:
        return ordered
    by_key = {_term_key(n): n for n in ordered}
    out = []
    for t in terms:
        if _term_key(t) not in by_key:
            hint = difflib.get_close_matches(t, ordered, n=1)
            more = f" Did you mean {hint[0]!r}?" if hint else ""
            raise ValueError(f"terms: {t!r} is not a fixed effect of any model.{more} "
                             f"Fixed effects: {ordered}.")
        out.append(by_key[_term_key(t)])
    return out


def _find(column: ModelColumn, name: str) -> str | None:
    key = _term_key(name)
    return next((str(n) for n in column.fixed.index if _term_key(str(n)) == key), None)


def check_labels(labels: Mapping[str, str], columns: Sequence[ModelColumn]) -> None:
    """Every label must name a term (or part of one) or a grouping factor: catch typos."""
    known = {INTERCEPT}
    for column in columns:
        for name in column.fixed.index:
            known.add(str(name))
            known.update(split_interaction(str(name)))
        known.update(column.ngroups)
        for entry in column.random:
            known.update(entry.key[2:])
    for key in labels:
        if key not in known and _term_key(key) not in {_term_key(k) for k in known}:
            hint = difflib.get_close_matches(key, sorted(known), n=1)
            more = f" Did you mean {hint[0]!r}?" if hint else ""
            raise ValueError(f"labels: {key!r} is not a term or grouping factor of any model."
                             f"{more}")


def term_label(name: str, labels: Mapping[str, str]) -> str:
    """A user's label, else "Intercept" / the parts of an interaction joined by " × "."""
    if name in labels:
        return labels[name]
    key = _term_key(name)
    for k, v in labels.items():
        if _term_key(k) == key:
            return v
    if name == INTERCEPT:
        return "Intercept"
    return " × ".join(labels.get(p, p) for p in split_interaction(name))


# -- cells -----------------------------------------------------------------------------------
class Recorder:
    """Collects (model, section, row, statistic, value) for every number shown."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, Any]] = []

    def add(self, model: str, section: str, row: str, statistic: str, value: Any) -> None:
        self.rows.append((model, section, row, statistic, value))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["model", "section", "row", "statistic", "value"])


def header(stat: str, column: ModelColumn, opt: Options) -> Rich:
    """A statistic's column header (estimate and test-statistic names from the column)."""
    ci = f"{100 * opt.level:g}% {column.interval_label}"
    return {
        "estimate": rich(column.estimate_label),
        "se": rich(("SE", "italic")),
        "ci": rich(ci),
        "t": rich((column.statistic, "italic")),
        "df": rich(("df", "italic")),
        "p": rich(("p", "italic")),
        "std_estimate": rich("β"),
        "std_se": rich(("SE", "italic"), " (β)"),
        "std_ci": rich(f"{ci} (β)"),
        "rhat": rich("R̂"),
        "ess": rich("ESS"),
        "fmi": rich("FMI"),
    }[stat]


Numbers = list[tuple[str, float]]


def _fixed_text(stat: str, row: pd.Series, opt: Options) -> tuple[Rich, Numbers]:
    """The cell text of one statistic of one fixed effect, and the numbers behind it."""
    d = opt.digits
    if stat == "estimate":
        text = rich(fmt.fixed(row["estimate"], d))
        if opt.stars:
            text = concat(text, rich((fmt.star(row["p"], opt.stars), "sup")))
        return text, [("estimate", row["estimate"])]
    if stat in ("ci", "std_ci"):
        pre = "std_" if stat == "std_ci" else ""
        lower, upper = row[f"{pre}lower"], row[f"{pre}upper"]
        return rich(fmt.interval(lower, upper, d)), [(f"{pre}lower", lower), (f"{pre}upper", upper)]
    if stat == "df":
        value = row["df"]
        text = fmt.integer(value) if float(value).is_integer() else fmt.fixed(value, 1)
        return rich(text), [("df", value)]
    if stat == "p":
        return rich(fmt.pvalue(row["p"], opt.p_digits, opt.leading_zero)), [("p", row["p"])]
    if stat in ("rhat", "ess", "fmi"):  # statistics of one kind of column only
        column = {"rhat": "rhat", "ess": "ess_bulk", "fmi": "fmi"}[stat]
        value = float(row.get(column, float("nan")))
        text = {"rhat": lambda v: fmt.fixed(v, 3), "ess": fmt.integer,
                "fmi": lambda v: fmt.proportion(v, opt.digits, opt.leading_zero)}[stat](value)
        return rich(text), [(column, value)]
    column = {"se": "std_error", "t": "t", "std_estimate": "std_estimate",
              "std_se": "std_std_error"}[stat]
    return rich(fmt.fixed(row[column], d)), [(column, row[column])]


def _stacked(stat: str, text: Rich, column: ModelColumn, opt: Options) -> Rich:
    """A line under an estimate in the stacked layout: (SE), [CI], p = .012, t = 2.10."""
    if not text:
        return text
    if stat in ("se", "std_se"):
        return concat(rich("("), text, rich(")"))
    if stat in ("p", "t", "df", "std_estimate", "rhat", "ess", "fmi"):
        relation = " " if text[0].text.startswith(("<", ">")) else " = "
        return concat(header(stat, column, opt), rich(relation), text)
    return text


def fixed_section(
    columns: Sequence[ModelColumn], names: Sequence[str], opt: Options, rec: Recorder
) -> list[Row]:
    """One row per fixed effect (more in the stacked layout), cells per model and statistic."""
    rows = []
    for term in fixed_rows(columns, opt.terms):
        label = rich(term_label(term, opt.labels))
        # lines[i][m]: the cells of statistic line i (one line in the wide layout) of model m
        n_lines = 1 if opt.layout == "wide" else len(opt.statistics)
        lines: list[list[Cell]] = [[] for _ in range(n_lines)]
        for name, column in zip(names, columns, strict=True):
            found = _find(column, term)
            for i, stat in enumerate(opt.statistics):
                line = 0 if opt.layout == "wide" else i
                if found is None:
                    lines[line].append(Cell(rich()))
                    continue
                text, numbers = _fixed_text(stat, column.fixed.loc[found], opt)
                if opt.layout == "stacked" and i > 0:
                    text = _stacked(stat, text, column, opt)
                lines[line].append(Cell(text))
                for statistic, value in numbers:
                    if math.isfinite(float(value)):
                        rec.add(name, "fixed", term, statistic, float(value))
        for i, cells in enumerate(lines):
            rows.append(Row(label if i == 0 else rich(), tuple(cells), continued=i > 0))
    return rows

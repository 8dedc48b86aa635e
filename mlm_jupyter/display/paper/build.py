"""Models side by side: align their rows and lay out the cells of a paper table.

Rows are the union over the models, in a fixed order: fixed effects (intercept, main effects
in order of first appearance, then interactions by order; ``a:b`` and ``b:a`` are one row),
then the random part (σ², per grouping factor its τ's and ρ's, the ICC, the numbers of
groups, the observations), then the fit.  A model without a row's quantity leaves its cell
empty.  Every number placed in a cell is also recorded, with its full precision, in the
table's ``data`` (one row per model, row and statistic), which the tests hold against the
results' own attributes.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from ...naming import split_interaction
from . import formatting as fmt
from .columns import ModelColumn
from .layout import Cell, Grid, Row
from .richtext import Rich, Span, concat, rich

INTERCEPT = "(Intercept)"
STATISTICS = ("estimate", "se", "ci", "t", "df", "p", "std_estimate", "std_se", "std_ci")
RANDOM_ROWS = ("sigma2", "tau", "rho", "icc", "ngroups", "nobs")
FIT_ROWS = ("r2", "criterion", "aic", "bic", "loglik", "estimation", "ddf")
DEFAULT_FIT = ("r2", "criterion", "aic", "estimation", "ddf")
LAYOUTS = ("wide", "stacked")


@dataclass(frozen=True)
class Options:
    """Validated display options of :func:`mlm_jupyter.table`."""

    statistics: tuple[str, ...] = ("estimate", "ci", "p")
    random: tuple[str, ...] = RANDOM_ROWS
    fit: tuple[str, ...] = DEFAULT_FIT
    labels: Mapping[str, str] = field(default_factory=dict)
    terms: tuple[str, ...] | None = None
    stars: dict[str, float] | None = None
    digits: int = 2
    p_digits: int = 3
    level: float = 0.95
    std: str | None = None
    layout: str = "wide"
    leading_zero: bool = False
    title: str | None = None
    notes: tuple[str, ...] = ()


def _choice(name: str, values: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    bad = [v for v in values if v not in allowed]
    if bad:
        hint = difflib.get_close_matches(bad[0], allowed, n=1)
        more = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ValueError(f"{name}: {bad[0]!r} is not one of {tuple(allowed)}.{more}")
    return tuple(values)


def make_options(
    statistics: Sequence[str] = ("estimate", "ci", "p"),
    random: Sequence[str] = RANDOM_ROWS,
    fit: Sequence[str] = DEFAULT_FIT,
    labels: Mapping[str, str] | None = None,
    terms: Sequence[str] | None = None,
    stars: bool | Mapping[str, float] = False,
    digits: int = 2,
    p_digits: int = 3,
    level: float = 0.95,
    std: bool | str | None = None,
    layout: str = "wide",
    leading_zero: bool = False,
    title: str | None = None,
    notes: str | Sequence[str] | None = None,
) -> Options:
    """Check every option once, with messages that say what to write instead."""
    stats = _choice("statistics", statistics, STATISTICS)
    if not stats:
        raise ValueError("statistics: name at least one, e.g. ('estimate', 'ci', 'p').")
    if std is True:
        std = "refit"
    if std is False:
        std = None
    if std is not None:
        std = str(std).lower()
        if std not in ("refit", "basic"):
            raise ValueError(f"std must be 'refit', 'basic', True or None, not {std!r}.")
        if not any(s.startswith("std_") for s in stats):
            at = stats.index("estimate") + 1 if "estimate" in stats else 0
            stats = stats[:at] + ("std_estimate",) + stats[at:]
    elif any(s.startswith("std_") for s in stats):
        std = "refit"
    for name, value in (("digits", digits), ("p_digits", p_digits)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
            raise ValueError(f"{name} must be a whole number from 0 to 10, got {value!r}.")
    if not 0 < float(level) < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}.")
    if stars is True:
        marks: dict[str, float] | None = dict(fmt.DEFAULT_STARS)
    elif not stars:
        marks = None
    else:
        marks = {str(k): float(v) for k, v in dict(stars).items()}
        if not all(0 < v < 1 for v in marks.values()):
            raise ValueError(f"stars: thresholds must be between 0 and 1, got {marks}.")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}.")
    if isinstance(notes, str):
        notes = (notes,)
    return Options(
        statistics=stats,
        random=_choice("random", random, RANDOM_ROWS),
        fit=_choice("fit", fit, FIT_ROWS),
        labels=dict(labels or {}),
        terms=None if terms is None else tuple(terms),
        stars=marks,
        digits=digits,
        p_digits=p_digits,
        level=float(level),
        std=std,
        layout=layout,
        leading_zero=bool(leading_zero),
        title=title,
        notes=tuple(str(n) for n in (notes or ())),
    )


# -- rows shared by the models ------------------------------------------------------------
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


def _header(stat: str, column: ModelColumn, opt: Options) -> Rich:
    ci = f"{100 * opt.level:g}% CI"
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
    column = {"se": "std_error", "t": "t", "std_estimate": "std_estimate",
              "std_se": "std_std_error"}[stat]
    return rich(fmt.fixed(row[column], d)), [(column, row[column])]


def _stacked(stat: str, text: Rich, column: ModelColumn, opt: Options) -> Rich:
    """A line under an estimate in the stacked layout: (SE), [CI], p = .012, t = 2.10."""
    if not text:
        return text
    if stat in ("se", "std_se"):
        return concat(rich("("), text, rich(")"))
    if stat in ("p", "t", "df"):
        relation = " " if text[0].text.startswith(("<", ">")) else " = "
        return concat(_header(stat, column, opt), rich(relation), text)
    return text


def _head(columns: Sequence[ModelColumn], names: Sequence[str], opt: Options) -> list[Row]:
    wide = opt.layout == "wide"
    k = len(opt.statistics) if wide else 1
    rows = [Row(rich(), tuple(Cell(rich(n), k) for n in names), "head")]
    if wide and opt.statistics != ("estimate",):
        cells = tuple(Cell(_header(s, c, opt)) for c in columns for s in opt.statistics)
        rows.append(Row(rich(), cells, "head"))
    return rows


def _fixed_section(
    columns: Sequence[ModelColumn], names: Sequence[str], opt: Options, rec: Recorder
) -> list[Row]:
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


# -- the random part -------------------------------------------------------------------------
def _random_keys(columns: Sequence[ModelColumn], opt: Options) -> list[tuple[str, ...]]:
    groups: dict[str, int] = {}
    for column in columns:
        for entry in column.random:
            if entry.key[0] != "sigma2":
                groups.setdefault(entry.key[1], len(groups))
        for g in column.ngroups:
            groups.setdefault(g, len(groups))
    order: dict[tuple[str, ...], tuple] = {}
    for column in columns:
        for entry in column.random:
            kind = entry.key[0]
            if kind not in opt.random:
                continue
            if kind == "sigma2":
                rank: tuple = (0,)
            else:
                rank = (1, groups[entry.key[1]], kind == "rho", int(entry.index or 99), len(order))
            order.setdefault(entry.key, rank)
        if "icc" in opt.random:
            order.setdefault(("icc",), (2,))
        if "ngroups" in opt.random:
            for g in column.ngroups:
                order.setdefault(("ngroups", g), (3, groups[g]))
        if "nobs" in opt.random:
            order.setdefault(("nobs",), (4,))
    return sorted(order, key=order.__getitem__)


def _random_label(key: tuple[str, ...], indices: set[str], opt: Options) -> Rich:
    labels = opt.labels
    kind = key[0]
    if kind == "sigma2":
        return rich("σ", ("2", "sup"))
    if kind == "icc":
        return rich("ICC")
    if kind == "nobs":
        return rich("Observations")
    group = labels.get(key[1], key[1])
    if kind == "ngroups":
        return rich(("N", "italic"), f" {group}")
    index = next(iter(indices)) if len(indices) == 1 else ""
    if kind == "tau":
        term = key[2]
        extra = "" if term == INTERCEPT and index else f": {term_label(term, labels)}"
        return rich("τ", (index, "sub"), f" {group}{extra}")
    terms = ", ".join(term_label(t, labels) for t in key[2:])
    return rich("ρ", (index, "sub"), f" {group}" + ("" if index else f": {terms}"))


def _random_value(key: tuple[str, ...], column: ModelColumn, opt: Options) -> float | None:
    kind = key[0]
    if kind == "icc":
        return column.icc
    if kind == "nobs":
        return float(column.nobs)
    if kind == "ngroups":
        n = column.ngroups.get(key[1])
        return None if n is None else float(n)
    entry = next((e for e in column.random if e.key == key), None)
    return None if entry is None else entry.value


def _random_text(key: tuple[str, ...], value: float, opt: Options) -> str:
    kind = key[0]
    if kind in ("nobs", "ngroups"):
        return fmt.integer(value)
    if kind == "icc":
        return fmt.proportion(value, opt.p_digits, opt.leading_zero)
    if kind == "rho":
        return fmt.proportion(value, opt.digits, opt.leading_zero)
    return fmt.fixed(value, opt.digits)


def _span_rows(
    entries: list[tuple[str, Rich, list[tuple[str, float] | None]]],
    names: Sequence[str],
    k: int,
    section: str,
    rec: Recorder,
) -> list[Row]:
    """Rows with one cell per model spanning its ``k`` value columns."""
    rows = []
    for key, label, cells in entries:
        shown = []
        for name, cell in zip(names, cells, strict=True):
            if cell is None:
                shown.append(Cell(rich(), k))
                continue
            text, value = cell
            shown.append(Cell(rich(text), k))
            if isinstance(value, float) and math.isfinite(value):
                rec.add(name, section, key, "value", value)
            elif isinstance(value, str):
                rec.add(name, section, key, "value", value)
        rows.append(Row(label, tuple(shown)))
    return rows


def _key_name(key: tuple[str, ...]) -> str:
    return "|".join(key)


def _random_section(
    columns: Sequence[ModelColumn], names: Sequence[str], opt: Options, rec: Recorder, k: int
) -> list[Row]:
    entries = []
    for key in _random_keys(columns, opt):
        indices = {e.index for c in columns for e in c.random if e.key == key}
        cells: list[Any] = []
        for column in columns:
            value = _random_value(key, column, opt)
            cells.append(None if value is None else (_random_text(key, value, opt), value))
        entries.append((_key_name(key), _random_label(key, indices, opt), cells))
    return _span_rows(entries, names, k, "random", rec)


# -- fit -------------------------------------------------------------------------------------
_FIT_LABELS: dict[str, Rich] = {
    "r2_marginal": rich("Marginal R", ("2", "sup")),
    "r2_conditional": rich("Conditional R", ("2", "sup")),
    "reml_criterion": rich("REML criterion"),
    "deviance": rich("Deviance"),
    "aic": rich("AIC"),
    "bic": rich("BIC"),
    "loglik": rich("Log-likelihood"),
    "estimation": rich("Estimation"),
    "ddf": rich(("df", "italic"), " method"),
}
_FIT_KEYS = {
    "r2": ("r2_marginal", "r2_conditional"),
    "criterion": ("reml_criterion", "deviance"),
    "aic": ("aic",),
    "bic": ("bic",),
    "loglik": ("loglik",),
    "estimation": ("estimation",),
    "ddf": ("ddf",),
}


def _fit_section(
    columns: Sequence[ModelColumn], names: Sequence[str], opt: Options, rec: Recorder, k: int
) -> list[Row]:
    entries = []
    for group in FIT_ROWS:
        if group not in opt.fit:
            continue
        for key in _FIT_KEYS[group]:
            cells: list[Any] = []
            for column in columns:
                if key == "estimation":
                    cells.append((column.estimation, column.estimation))
                elif key == "ddf":
                    cells.append((column.ddf, column.ddf))
                elif key in column.fit:
                    v = column.fit[key]
                    text = (fmt.proportion(v, opt.p_digits, opt.leading_zero)
                            if key.startswith("r2") else fmt.fixed(v, opt.digits))
                    cells.append((text, v))
                else:
                    cells.append(None)
            if any(c is not None for c in cells):
                entries.append((key, _FIT_LABELS[key], cells))
    return _span_rows(entries, names, k, "fit", rec)


# -- notes -----------------------------------------------------------------------------------
_DDF_SENTENCES = {
    "Satterthwaite": "t tests with Satterthwaite's degrees of freedom (as lmerTest's summary)",
    "Kenward-Roger": "t tests with Kenward-Roger degrees of freedom and adjusted standard "
    "errors (as pbkrtest)",
    "Residual": "t tests with n - p residual degrees of freedom",
}


def _inference_note(columns: Sequence[ModelColumn], names: Sequence[str], opt: Options) -> str:
    shown = [s for s in opt.statistics if s in ("ci", "p", "std_ci", "t", "df")]
    if not shown and not opt.stars:
        return ""
    what = []
    if "ci" in shown or "std_ci" in shown:
        what.append(f"{100 * opt.level:g}% confidence intervals")
    if "p" in shown or opt.stars:
        what.append("two-sided p-values")
    if not what:
        what.append("test statistics")
    methods = dict.fromkeys(c.ddf for c in columns)
    if len(methods) == 1:
        how = _DDF_SENTENCES.get(next(iter(methods)), next(iter(methods)))
    else:
        how = "; ".join(
            f"{n}: {_DDF_SENTENCES.get(c.ddf, c.ddf)}" for n, c in zip(names, columns, strict=True)
        )
    return f"Fixed effects: {' and '.join(what)} from {how}."


def _symbol_notes(opt: Options, body: Sequence[Row]) -> list[Rich]:
    labels = [lab[0].text for lab in (r.label for r in body) if lab]
    out: list[Rich] = []
    if "σ" in labels:
        out.append(rich("σ", ("2", "sup"), ": residual variance"))
    if "τ" in labels:
        out.append(rich("τ: variances of the random effects (subscripts as the u's of the model "
                        "equations)"))
    if "ρ" in labels:
        out.append(rich("ρ: correlations of the random effects"))
    if "ICC" in labels:
        out.append(rich("ICC: adjusted intraclass correlation (Nakagawa)"))
    if "Marginal R" in labels:
        out.append(rich("R", ("2", "sup"), ": Nakagawa's marginal (fixed effects) and "
                        "conditional (fixed and random effects)"))
    return out


def _notes(
    columns: Sequence[ModelColumn], names: Sequence[str], opt: Options, body: Sequence[Row]
) -> list[Rich]:
    notes: list[Rich] = []
    symbols = _symbol_notes(opt, body)
    if symbols:
        joined: list[Span] = []
        for k, s in enumerate(symbols):
            joined += ([Span("; ")] if k else []) + list(s)
        notes.append(concat(tuple(joined), rich(".")))
    inference = _inference_note(columns, names, opt)
    if inference:
        notes.append(rich(inference))
    if opt.layout == "stacked" and len(opt.statistics) > 1:
        under = {"se": "(SE)", "ci": f"[{100 * opt.level:g}% CI]", "p": "p", "t": "t",
                 "df": "df", "std_estimate": "β", "std_se": "(SE of β)",
                 "std_ci": f"[{100 * opt.level:g}% CI of β]"}
        listed = ", ".join(under[s] for s in opt.statistics if s != "estimate")
        notes.append(rich(f"Under each estimate: {listed}."))
    if opt.std == "refit":
        notes.append(rich("β: standardised coefficients, from a refit with every numeric "
                          "variable z-scored, the response included (effectsize's refit method, "
                          "as sjPlot's show.std)."))
    elif opt.std == "basic":
        notes.append(rich("β: coefficients times SD(predictor column) / SD(response) "
                          "(effectsize's basic method)."))
    if "aic" in opt.fit and any(c.estimation == "REML" for c in columns):
        notes.append(rich("AIC of REML fits is based on the REML criterion (as lme4's): it "
                          "compares only models with the same fixed effects."))
    if opt.stars:
        notes.append(rich(fmt.stars_legend(opt.stars, opt.leading_zero) + "."))
    for name, column in zip(names, columns, strict=True):
        for note in column.notes:
            notes.append(rich(f"{name}: {note}."))
    notes += [rich(n) for n in opt.notes]
    if notes:
        notes[0] = concat(rich(("Note.", "italic"), " "), notes[0])
    return notes


def build_grid(
    columns: Sequence[ModelColumn], names: Sequence[str], opt: Options
) -> tuple[Grid, pd.DataFrame]:
    """The table's layout and the long table of every number it shows."""
    check_labels(opt.labels, columns)
    rec = Recorder()
    fixed = _fixed_section(columns, names, opt, rec)
    if not fixed:  # only random effects (y ~ 0 + (1 | g)): no statistic columns to head
        opt = replace(opt, statistics=("estimate",), stars=None)
    k = len(opt.statistics) if opt.layout == "wide" else 1
    body: list[Row] = []
    sections = (
        ("Fixed effects", fixed),
        ("Random effects", _random_section(columns, names, opt, rec, k)),
        ("Model fit", _fit_section(columns, names, opt, rec, k)),
    )
    for title, rows in sections:
        if rows:
            body += [Row(rich(title), (), "section"), *rows]
    grid = Grid(
        title=opt.title,
        head=tuple(_head(columns, names, opt)),
        body=tuple(body),
        notes=tuple(_notes(columns, names, opt, body)),
        model_spans=tuple(k for _ in columns),
    )
    return grid, rec.frame()

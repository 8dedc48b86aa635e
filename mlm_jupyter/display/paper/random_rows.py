"""Rows of the random part (σ², τ and ρ per grouping factor, ICC, groups, observations) and of
the fit (R², REML criterion or deviance, AIC, BIC, log-likelihood, estimation, df method).

One cell per model, spanning its statistic columns.  τ and ρ carry the index of the u's in
``res.equations()``; when models disagree on a row's index it is dropped and the terms named.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import formatting as fmt
from .columns import ModelColumn
from .fixed_rows import INTERCEPT, Recorder, term_label
from .layout import Cell, Row
from .options import FIT_ROWS, Options
from .richtext import Rich, rich


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


def random_section(
    columns: Sequence[ModelColumn], names: Sequence[str], opt: Options, rec: Recorder, k: int
) -> list[Row]:
    """σ², τ's and ρ's per grouping factor, ICC, groups and observations; one cell per model."""
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


def fit_section(
    columns: Sequence[ModelColumn], names: Sequence[str], opt: Options, rec: Recorder, k: int
) -> list[Row]:
    """R², REML criterion / deviance, AIC, BIC, log-likelihood, estimation and df method."""
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

"""Centring and specification advisor: where a model "smushes" within and between effects.

Level 1 versus level 2 is read from the data, per grouping factor g: a predictor constant
within every cluster of g is level 2; one that varies within clusters is level 1, and it
*carries between-cluster variance* unless all its cluster means are equal (as for
``cwc(x, g)``, or a precomputed cluster-mean-centred column like hsb's ``cses``).  A level-2
column counts as the cluster mean of x when it equals x̄_j row by row (``cm(x, g)`` or a
precomputed column like ``meanses``).  Each :class:`Advice` names the variables and gives a
concrete corrected formula that parses and differs from the fitted one (names that are not
plain identifiers are written in backticks); the random-effects structure (identification,
singular fits, sparse information) is judged in :mod:`.advice_structure`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .design import variable_values
from .effects._common import level_of, within_between
from .formula_edit import call, quote, render, replace_piece

#: Every kind of advice and the plain title the displays show for it.
TITLES = {
    "smushed_random_slope": "Random slope mixes within- and between-cluster differences",
    "smushed_fixed_effect": "Within- and between-cluster effects mixed in one slope",
    "smushed_cross_level": "Cross-level interaction mixes within and between effects",
    "cross_level_without_random_slope": "Cross-level interaction without its random slope",
    "slope_not_identified": "Random slope that cannot be estimated",
    "singular_fit": "Singular fit",
    "sparse_clusters": "Little information for a random slope",
}
KINDS = tuple(TITLES)
#: Significance level of the ANOVA test that a level-1 predictor's cluster means differ.
BETWEEN_P = 1e-3


@dataclass(frozen=True)
class Advice:
    """One piece of advice: what is wrong (``message``) and a corrected formula to try."""

    kind: str
    message: str
    suggestion: str
    variables: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """Plain-words name of the kind (``kind`` is the stable identifier for code)."""
        return TITLES.get(self.kind, self.kind.replace("_", " ").capitalize())

    def __str__(self) -> str:
        text = f"{self.title}: {self.message}"
        if not self.suggestion:
            return text
        label = "Try" if "~" in self.suggestion else "Then"
        return f"{text}\n    {label}: {self.suggestion}"

    def _repr_html_(self) -> str:
        from .display.html import advice_html

        return advice_html([self], title="")


class AdviceList(list):
    """``res.advice()``: a list of :class:`Advice` that displays as readable text and HTML."""

    def __str__(self) -> str:
        if not self:
            return "Advice: nothing to report."
        return "\n".join(str(a) for a in self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        from .display.html import advice_html

        return advice_html(self)


class _Model:
    """The fitted model's terms, each factor's data values, and formula-editing helpers."""

    def __init__(self, res: Any):
        self.res = res
        self.data = res.data
        self.spec = res.spec
        #: variable text -> how to write it in a formula (column names quoted)
        self.text: dict[str, str] = {}
        self.fixed_terms = self._factors(res.design.fixed_model_spec)
        self.random_terms = []  # (design term index, group, factor tuple)
        for k, term in enumerate(res.design.terms):
            for factors in self._factors(term.model_spec):
                self.random_terms.append((k, term.group, factors))
        self._values: dict[str, np.ndarray | None] = {}

    def _factors(self, model_spec: Any) -> list[tuple[str, ...]]:
        columns = {str(c) for c in self.data.columns}
        out = []
        for names in model_spec.term_variables():
            for name in names:  # a data column is a name to quote; anything else an expression
                bare = name[1:-1] if name.startswith("`") and name.endswith("`") else name
                self.text.setdefault(name, quote(bare) if bare in columns else name)
            if names:
                out.append(tuple(names))
        return out

    def name(self, factor: str) -> str:
        """The factor as formula text (a column name in backticks when it needs them)."""
        return self.text.get(factor, factor)

    def values(self, factor: str) -> np.ndarray | None:
        """The factor's columns on the fitted rows (n x k), or None if not evaluable."""
        if factor not in self._values:
            self._values[factor] = variable_values(self.res, factor)
        return self._values[factor]

    def level(self, factor: str, codes: np.ndarray, n_levels: int) -> str | None:
        """``"L2"``, ``"L1"`` (varies within and between clusters) or ``"L1-within"``.

        A level-1 column counts as carrying between-cluster variance when its cluster means
        differ more than chance allows (one-way ANOVA F test, p < BETWEEN_P): purely
        within-cluster noise always has a little between-cluster variance in a sample.
        Only single numeric columns are judged; factors (several dummy columns) get None.
        """
        vals = self.values(factor)
        if vals is None or vals.shape[1] != 1:
            return None
        kind = level_of(vals[:, 0], codes, n_levels)
        if kind == "L2":
            return "L2"
        if kind != "L1":
            return "L1-within"
        within, between = within_between(vals[:, 0], codes, n_levels)
        n_obs = len(codes)
        if n_obs <= n_levels or within <= 0:
            return "L1"
        f = (between / (n_levels - 1)) / (within / (n_obs - n_levels))
        p = float(stats.f.sf(f, n_levels - 1, n_obs - n_levels))
        return "L1" if p < BETWEEN_P else "L1-within"

    def is_cluster_mean_of(self, between: str, factor: str, codes: np.ndarray, n: int) -> bool:
        b, x = self.values(between), self.values(factor)
        if b is None or x is None or b.shape[1] != 1 or x.shape[1] != 1:
            return False
        counts = np.bincount(codes, minlength=n)
        means = np.bincount(codes, weights=x[:, 0], minlength=n) / np.maximum(counts, 1)
        return bool(np.allclose(b[:, 0], means[codes], rtol=1e-6, atol=1e-8))

    def same_within_part(self, a: str, b: str, codes: np.ndarray, n: int) -> bool:
        """True when two columns differ only by a cluster constant (x, cwc(x, g), cses)."""
        va, vb = self.values(a), self.values(b)
        if va is None or vb is None or va.shape[1] != 1 or vb.shape[1] != 1:
            return False
        diff = va[:, 0] - vb[:, 0]
        return level_of(diff, codes, n) == "L2" or np.allclose(diff, 0.0)

    def formula(self, fixed: str | None = None, randoms: list | None = None) -> str:
        if randoms is None:
            randoms = [(t.expr, t.group) for t in self.spec.random]
        return render(self.spec.response, self.spec.fixed if fixed is None else fixed, randoms)

    def with_random(self, group: str, edit: Any) -> str:
        """Formula with ``edit(expr)`` applied to the random terms of ``group`` (None drops)."""
        randoms = [
            (edit(t.expr) if t.group == group else t.expr, t.group) for t in self.spec.random
        ]
        return self.formula(randoms=[r for r in randoms if r[0] is not None])


def group_argument(res: Any, group: str, n_levels: int) -> str | None:
    """A column to centre within for ``group``: itself, or for a nested ``b:a`` the first
    column when its labels alone identify the clusters (ids unique across ``a``).  None
    when no single column does (cwc/cm take one grouping column)."""
    columns = [c.strip() for c in group.split(":")]
    if len(columns) == 1:
        return columns[0]
    first = columns[0]
    if first in res.data.columns and res.data[first].nunique() == n_levels:
        return first
    return None


def _centring_advice(m: _Model, group: str, codes: np.ndarray, n: int) -> list[Advice]:
    out: list[Advice] = []
    column = group_argument(m.res, group, n)
    if column is None:
        return out
    g = quote(column)
    level = {f: m.level(f, codes, n) for t in m.fixed_terms for f in t}
    mains = [t[0] for t in m.fixed_terms if len(t) == 1]
    random_here = [(k, f) for k, grp, f in m.random_terms if grp == group and len(f) == 1]

    def cwc(factor: str) -> str:
        return call("cwc", m.name(factor), g)

    def cm(factor: str) -> str:
        return call("cm", m.name(factor), g)

    for _, (factor,) in random_here:
        if m.level(factor, codes, n) == "L1":
            fix = m.with_random(group, lambda e, f=factor: replace_piece(e, m.name(f), cwc(f)))
            out.append(Advice(
                "smushed_random_slope",
                f"The random slope of '{factor}' over '{group}' is on a level-1 predictor that "
                f"still varies between clusters, so its variance mixes differences in the "
                f"within-cluster slope with intercept heteroscedasticity. Put the "
                f"cluster-mean-centred version in the random part.",
                fix, (factor, group),
            ))

    def between_term(factor: str) -> str | None:
        return next(
            (
                b for b in mains
                if level.get(b) == "L2" and m.is_cluster_mean_of(b, factor, codes, n)
            ),
            None,
        )

    for factor in mains:
        if level.get(factor) == "L1" and between_term(factor) is None:
            out.append(Advice(
                "smushed_fixed_effect",
                f"'{factor}' varies within and between clusters of '{group}' but enters "
                f"without its cluster mean, so its single slope blends the within-cluster and "
                f"the between-cluster effect. Add the cluster mean (the slope of '{factor}' "
                "then is the within effect; the contextual effect is the slope of the mean).",
                m.formula(fixed=f"{m.spec.fixed} + {cm(factor)}"), (factor, group),
            ))

    for term in m.fixed_terms:
        if len(term) < 2 or any(level.get(f) is None for f in term):
            continue
        l1 = [f for f in term if level[f] != "L2"]
        l2 = [f for f in term if level[f] == "L2"]
        if len(l1) != 1 or not l2:
            continue
        x = l1[0]
        moderators = ":".join(l2)
        written = ":".join(m.name(f) for f in l2)
        if level[x] == "L1":
            mean = between_term(x)
            matched = mean is not None and any(
                set(t) == {mean, *l2} for t in m.fixed_terms
            )
            if not matched:
                add = f"{m.name(mean)}:{written}" if mean else f"{cm(x)}*{written}"
                out.append(Advice(
                    "smushed_cross_level",
                    f"The cross-level interaction {':'.join(term)} uses '{x}', which still "
                    f"varies between clusters of '{group}', without the matching interaction "
                    f"of its cluster mean with {moderators}: the interaction blends how "
                    f"{moderators} moderates the within and the between effect of '{x}'.",
                    m.formula(fixed=f"{m.spec.fixed} + {add}"), (x, *l2, group),
                ))
        has_slope = any(m.same_within_part(x, f[0], codes, n) for _, f in random_here)
        if not has_slope:
            slope = cwc(x) if level[x] == "L1" else m.name(x)
            out.append(Advice(
                "cross_level_without_random_slope",
                f"The cross-level interaction {':'.join(term)} moderates the slope of '{x}', "
                f"but that slope is not random over '{group}'. Without the random slope the "
                f"interaction's standard error is too small (type I error risk). Fit the "
                f"model with the random slope and test it first with "
                f"mlm.compare(this_model, model_with_slope).",
                m.with_random(group, lambda e, s=slope: f"{e} + {s}"), (x, *l2, group),
            ))
    return out


def _usable(suggestion: str, spec: Any) -> bool:
    """A formula suggestion must parse and describe another model than the fitted one."""
    if "~" not in suggestion:
        return True  # advice in words (e.g. which df to use), not a formula
    from .formula import parse

    try:
        new = parse(suggestion)
    except ValueError:
        return False
    return (new.response, new.fixed, new.random) != (spec.response, spec.fixed, spec.random)


def advise(res: Any) -> AdviceList:
    """Advice on centring, cross-level interactions and the random-effects structure.

    Returns
    -------
    AdviceList
        A list of :class:`Advice`; empty for a model that follows the recommendations
        (``cwc()`` in the random part, ``cm()`` present, matching level-2 interactions
        present, an identified random part the data support).  Every formula suggestion
        parses and differs from the fitted formula (one that would not is left out and the
        advice keeps its message only).
    """
    from .advice_structure import structure_advice
    from .caching import result_memo
    from .warehouse.rows import origin_of

    if origin_of(res) is not None:  # the advisor reads the rows' values; they stay elsewhere
        return AdviceList(())
    memo = result_memo(res)
    if "advice" in memo:  # every display asks; the structure checks may refit the model
        return AdviceList(memo["advice"])
    m = _Model(res)
    out: list[Advice] = []
    seen_groups: list[str] = []
    for term in res.design.terms:
        if term.group in seen_groups:
            continue
        seen_groups.append(term.group)
        out += _centring_advice(m, term.group, term.codes, term.n_levels)
    out += structure_advice(m)
    unique: dict[tuple[str, str], Advice] = {}
    for a in out:
        if a.suggestion and not _usable(a.suggestion, res.spec):
            a = Advice(a.kind, a.message, "", a.variables)
        unique.setdefault((a.kind, a.suggestion or a.message), a)
    memo["advice"] = tuple(unique.values())
    return AdviceList(memo["advice"])

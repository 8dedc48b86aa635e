"""Centring and specification advisor: where a model "smushes" within and between effects.

Level 1 versus level 2 is read from the data, per grouping factor g: a predictor constant
within every cluster of g is level 2; one that varies within clusters is level 1, and it
*carries between-cluster variance* unless all its cluster means are equal (as for
``cwc(x, g)``, or a precomputed cluster-mean-centred column like hsb's ``cses``).  A level-2
column counts as the cluster mean of x when it equals x̄_j row by row (``cm(x, g)`` or a
precomputed column like ``meanses``).  Each :class:`Advice` names the variables and gives a
concrete corrected formula.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .design import variable_values
from .effects._common import level_of, term_covariances, within_between

KINDS = (
    "smushed_random_slope",
    "smushed_fixed_effect",
    "smushed_cross_level",
    "cross_level_without_random_slope",
    "singular_fit",
    "sparse_clusters",
)
#: Random slopes need enough information per cluster: below a median of this many
#: observations per cluster, or fewer clusters than MIN_CLUSTERS, slope variances are poorly
#: estimated (Maas & Hox 2005; McNeish & Stapleton 2016).
MIN_MEDIAN_CLUSTER_SIZE = 10
MIN_CLUSTERS = 20
#: Significance level of the ANOVA test that a level-1 predictor's cluster means differ.
BETWEEN_P = 1e-3


@dataclass(frozen=True)
class Advice:
    """One piece of advice: what is wrong (``message``) and a corrected formula."""

    kind: str
    message: str
    suggestion: str
    variables: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"[{self.kind}] {self.message}\n    Suggestion: {self.suggestion}"

    def _repr_html_(self) -> str:
        e = html.escape
        names = ", ".join(f"<code>{e(v)}</code>" for v in self.variables)
        return (
            f'<div class="mlm-advice mlm-advice-{e(self.kind)}"><strong>{e(self.kind)}</strong>'
            f"{' (' + names + ')' if names else ''}: {e(self.message)}<br>"
            f"Suggestion: <code>{e(self.suggestion)}</code></div>"
        )


def _render(response: str, fixed: str, randoms: list[tuple[str, str]]) -> str:
    bars = [f"({expr} | {group})" for expr, group in randoms]
    parts = [fixed] + [b for i, b in enumerate(bars) if b not in bars[:i]]
    return f"{response} ~ " + " + ".join(p for p in parts if p)


def _replace_token(text: str, old: str, new: str) -> str:
    return re.sub(r"(?<![\w.])" + re.escape(old) + r"(?![\w.(])", new, text)


class _Model:
    """The fitted model's terms, each factor's data values, and formula-editing helpers."""

    def __init__(self, res: Any):
        self.res = res
        self.data = res.data
        self.spec = res.spec
        self.fixed_terms = res.design.fixed_model_spec.term_variables()
        self.random_terms = []  # (design term index, group, factor tuple)
        for k, term in enumerate(res.design.terms):
            for factors in term.model_spec.term_variables():
                self.random_terms.append((k, term.group, factors))
        self._values: dict[str, np.ndarray | None] = {}

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
        return _render(self.spec.response, self.spec.fixed if fixed is None else fixed, randoms)

    def with_random(self, group: str, edit: Any) -> str:
        """Formula with ``edit(expr)`` applied to the random terms of ``group``."""
        randoms = [
            (edit(t.expr) if t.group == group else t.expr, t.group) for t in self.spec.random
        ]
        return self.formula(randoms=[r for r in randoms if r[0] is not None])


def _cwc(factor: str, group: str) -> str:
    return f"cwc({factor}, {group})"


def _cm(factor: str, group: str) -> str:
    return f"cm({factor}, {group})"


def _group_argument(res: Any, group: str, n_levels: int) -> str | None:
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
    group_arg = _group_argument(m.res, group, n)
    if group_arg is None:
        return out
    level = {f: m.level(f, codes, n) for t in m.fixed_terms for f in t}
    mains = [t[0] for t in m.fixed_terms if len(t) == 1]
    random_here = [(k, f) for k, g, f in m.random_terms if g == group and len(f) == 1]

    for _, (factor,) in random_here:
        if m.level(factor, codes, n) == "L1":
            fix = m.with_random(group, lambda e, f=factor: _replace_token(e, f, _cwc(f, group_arg)))
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
                m.formula(fixed=f"{m.spec.fixed} + {_cm(factor, group_arg)}"), (factor, group),
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
        if level[x] == "L1":
            mean = between_term(x)
            matched = mean is not None and any(
                set(t) == {mean, *l2} for t in m.fixed_terms
            )
            if not matched:
                cm_text = mean or _cm(x, group_arg)
                add = f"{cm_text}:{moderators}" if mean else f"{cm_text}*{moderators}"
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
            slope = _cwc(x, group_arg) if level[x] == "L1" else x
            groups = [t.group for t in m.spec.random]
            fix = m.with_random(group, lambda e, s=slope: f"{e} + {s}")
            if group not in groups:  # pragma: no cover - every group comes from a term
                fix = m.formula()
            out.append(Advice(
                "cross_level_without_random_slope",
                f"The cross-level interaction {':'.join(term)} moderates the slope of '{x}', "
                f"but that slope is not random over '{group}'. Without the random slope the "
                f"interaction's standard error is too small (type I error risk). Fit the "
                f"model with the random slope and test it first with "
                f"mlm.compare(this_model, model_with_slope).",
                fix, (x, *l2, group),
            ))
    return out


def _singular_advice(m: _Model) -> list[Advice]:
    res = m.res
    if not res.is_singular:
        return []
    from .engine.objective import split_theta

    out = []
    thetas = split_theta(res.engine.cp, res.theta)
    for term, T, Sigma in zip(res.design.terms, thetas, term_covariances(res), strict=True):
        if not np.any(np.abs(np.diag(T)) < 1e-4):  # lme4's isSingular rule
            continue
        zero = [c for i, c in enumerate(term.columns) if Sigma[i, i] < 1e-8 * res.sigma**2]
        where = f"({' + '.join(term.columns)} | {term.group})"
        if zero and len(zero) == term.q:
            others = [(_block_expr(b), b.group) for b in res.design.terms if b is not term]
            fix = m.formula(randoms=others) if others else (
                f"{m.spec.response} ~ {m.spec.fixed}  (no random part: ordinary regression)"
            )
            out.append(Advice(
                "singular_fit",
                f"Singular fit: the variance of {where} is estimated as 0 (on the boundary). "
                "Drop the term.",
                fix, (*term.columns, term.group),
            ))
        elif zero:
            names = [c for c in zero if c != "(Intercept)"] or zero

            def drop(e: str, names: list[str] = names) -> str:
                for c in names:
                    e = re.sub(r"\s*\+\s*" + re.escape(c) + r"(?![\w.])", "", e)
                return e

            out.append(Advice(
                "singular_fit",
                f"Singular fit: in {where} the variance of {names} is estimated as 0 (on the "
                "boundary). Drop it from the random part.",
                m.with_random(term.group, drop), (*names, term.group),
            ))
        else:
            fix = m.formula().replace(f"| {term.group})", f"|| {term.group})")
            out.append(Advice(
                "singular_fit",
                f"Singular fit: the random effects of {where} are perfectly correlated (their "
                "covariance matrix is on the boundary). Remove the correlation with '||' or "
                "drop a slope.",
                fix, (*term.columns, term.group),
            ))
    return out


def _block_expr(block: Any) -> str:
    """Left side of a bar term from a design block's column names."""
    cols = ["1" if c == "(Intercept)" else c for c in block.columns]
    return " + ".join(cols if "1" in cols else ["0", *cols])


def _sparse_advice(m: _Model) -> list[Advice]:
    out = []
    res = m.res
    for term in res.design.terms:
        slopes = [c for c in term.columns if c != "(Intercept)"]
        if not slopes:
            continue
        counts = np.bincount(term.codes, minlength=term.n_levels)
        median = float(np.median(counts))
        if median >= MIN_MEDIAN_CLUSTER_SIZE and term.n_levels >= MIN_CLUSTERS:
            continue
        fix = m.with_random(term.group, lambda e: "1")
        out.append(Advice(
            "sparse_clusters",
            f"Random slope(s) {slopes} over '{term.group}' with {term.n_levels} clusters and a "
            f"median of {median:g} observations per cluster (advice: at least "
            f"{MIN_CLUSTERS} clusters and a median of {MIN_MEDIAN_CLUSTER_SIZE}); slope "
            "variances and their correlations will be poorly estimated. Consider a random "
            "intercept only, or compare both models with mlm.compare.",
            fix, (*slopes, term.group),
        ))
    return out


def advise(res: Any) -> list[Advice]:
    """Advice on centring, cross-level interactions, singularity and sparse clusters.

    Returns
    -------
    list of Advice
        Empty for a model that follows the recommendations (``cwc()`` in the random part,
        ``cm()`` present, matching level-2 interactions present, identified random part).
    """
    m = _Model(res)
    out: list[Advice] = []
    seen_groups: list[str] = []
    for term in res.design.terms:
        if term.group in seen_groups:
            continue
        seen_groups.append(term.group)
        out += _centring_advice(m, term.group, term.codes, term.n_levels)
    out += _singular_advice(m)
    out += _sparse_advice(m)
    unique: dict[tuple[str, str], Advice] = {}
    for a in out:
        unique.setdefault((a.kind, a.suggestion), a)
    return list(unique.values())

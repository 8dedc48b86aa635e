"""The model in Raudenbush-Bryk level-1 / level-2 notation and as the combined equation.

For ``mathach ~ cses * catholic + meanses + (1 + cses | school)``:

    Level 1:  mathach_ij = β0j + β1j·cses_ij + r_ij
    Level 2:  β0j = γ00 + γ01·catholic_j + γ02·meanses_j + u0j
              β1j = γ10 + γ11·catholic_j + u1j
    Combined: mathach_ij = γ00 + γ01·catholic_j + γ02·meanses_j + γ10·cses_ij
                           + γ11·catholic_j·cses_ij + u0j + u1j·cses_ij + r_ij

A predictor is level 2 when it is constant within every cluster of the grouping factor
(read from the data, not guessed from names).  Models with several grouping factors get
the combined equation only, in lme4's form.  A GLMM's level-1 equation is on the link scale
with no residual, its response's distribution stated instead (:mod:`.equation_outcomes`):

    pass_ij ~ Bernoulli(p_ij),  logit(p_ij) = β0j + β1j·motiv_ij
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..naming import split_interaction
from .equation_outcomes import glmm_outcome

if TYPE_CHECKING:  # pragma: no cover
    from ..results import MixedModelResult

INTERCEPT = "(Intercept)"


@dataclass(frozen=True)
class Coefficient:
    """One γ: which level-1 slot it belongs to and which level-2 predictor it carries."""

    name: str  # fixed-effect column name
    slot: str  # level-1 part ("(Intercept)" for the intercept equation)
    level2: str  # level-2 part ("" for the slot's own γ_s0)


@dataclass(frozen=True)
class ModelEquations:
    """Equations of a two-level model as plain text, HTML and LaTeX lines.

    ``distribution`` states the random parts' distributions (r ~ N(0, σ²), u ~ N(0, T)).
    """

    level1: str
    level2: tuple[str, ...]
    combined: str
    level1_html: str
    level2_html: tuple[str, ...]
    combined_html: str
    level1_latex: str = ""
    level2_latex: tuple[str, ...] = ()
    combined_latex: tuple[str, ...] = ()
    distribution: str = ""
    distribution_latex: str = ""

    def __str__(self) -> str:
        if not self.level1:
            return f"Combined: {self.combined}"
        lines = [f"Level 1:  {self.level1}", "Level 2:  " + self.level2[0]]
        lines += ["          " + line for line in self.level2[1:]]
        lines.append(f"Combined: {self.combined}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = []
        if self.level1_html:
            rows.append(("Level 1", self.level1_html))
            rows += [("Level 2" if i == 0 else "", line) for i, line in enumerate(self.level2_html)]
        rows.append(("Combined", self.combined_html))
        body = "".join(
            f"<tr><th style='text-align:left;padding-right:1em;font-weight:600'>{label}</th>"
            f"<td style='text-align:left;font-family:serif;font-size:1.05em'>{line}</td></tr>"
            for label, line in rows
        )
        return f"<table class='mlm-equations'>{body}</table>"

    def to_text(self) -> str:
        """The equations and the distributions of the random parts, as plain text."""
        text = str(self)
        return f"{text}\n          {self.distribution}" if self.distribution else text

    def to_latex(self) -> str:
        """An amsmath ``aligned`` block (inside ``\\[ ... \\]`` or an equation environment)."""
        rows = []
        if self.level1_latex:
            rows.append(rf"\text{{Level 1:}}\quad & {self.level1_latex}")
            rows += [
                (r"\text{Level 2:}\quad" if i == 0 else "") + f" & {line}"
                for i, line in enumerate(self.level2_latex)
            ]
        # the combined equation, four terms to a line
        terms = list(self.combined_latex)
        lhs, first = terms[0], terms[1:5]
        rows.append(r"\text{Combined:}\quad & " + lhs + " = " + " + ".join(first))
        for k in range(5, len(terms), 4):
            rows.append(r" & \quad + " + " + ".join(terms[k : k + 4]))
        if self.distribution_latex:
            rows.append(r" & " + self.distribution_latex)
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def _is_level2(values: np.ndarray, codes: np.ndarray, n_levels: int) -> bool:
    """Constant within every cluster (up to rounding)."""
    counts = np.bincount(codes, minlength=n_levels)
    sums = np.bincount(codes, weights=values, minlength=n_levels)
    means = np.divide(sums, counts, out=np.zeros(n_levels), where=counts > 0)
    spread = np.abs(values - means[codes]).max(initial=0.0)
    return bool(spread <= 1e-9 * max(1.0, np.abs(values).max(initial=0.0)))


def classify_coefficients(res: MixedModelResult, group: str | None = None) -> list[Coefficient]:
    """Split every fixed effect into a level-1 slot and a level-2 moderator."""
    design = res.design
    group = group or design.terms[0].group
    term = next(t for t in design.terms if t.group == group)
    names = list(design.fixed_names)
    from ..warehouse.rows import origin_of

    if origin_of(res) is not None:  # rows in a database: within-cluster spread from its sums
        from ..warehouse.effects import fixed_level2

        def level2(j: int) -> bool:
            return fixed_level2(res, j, term.group)
    else:
        def level2(j: int) -> bool:
            return _is_level2(design.X[:, j], term.codes, term.n_levels)
    level2_part: dict[str, bool] = {}
    for j, name in enumerate(names):
        if name != INTERCEPT and len(split_interaction(name)) == 1:
            level2_part[name] = level2(j)
    out = []
    for j, name in enumerate(names):
        if name == INTERCEPT:
            out.append(Coefficient(name, INTERCEPT, ""))
            continue
        parts = split_interaction(name)
        if len(parts) == 1:
            l2 = level2_part[name]
            out.append(Coefficient(name, INTERCEPT if l2 else name, name if l2 else ""))
            continue
        # A part without its own main-effect column: decide from the interaction column.
        flags = [
            level2_part[p] if p in level2_part else level2(j) for p in parts
        ]
        slot = ":".join(p for p, f in zip(parts, flags, strict=True) if not f) or INTERCEPT
        l2 = ":".join(p for p, f in zip(parts, flags, strict=True) if f)
        out.append(Coefficient(name, slot, l2))
    return out


#: One piece of an equation as (plain text, HTML, LaTeX); all are built side by side.
Piece = tuple[str, str, str]
_GREEK = {"β": r"\beta", "γ": r"\gamma", "σ": r"\sigma", "τ": r"\tau"}


def _tex_name(name: str) -> str:
    """A data column's name in math mode: upright text, LaTeX specials escaped."""
    from .paper.render_latex import escape_latex

    return rf"\text{{{escape_latex(_plain(name))}}}"


def _plain(name: str) -> str:
    """A name without R's backticks (they quote non-syntactic names; not part of the name)."""
    return name.replace("`", "")


def _sub(text: str, index: str) -> Piece:
    symbol = _GREEK.get(text) or (text if len(text) == 1 and text.isascii() else _tex_name(text))
    return (
        f"{text}_{index}",
        f"{html.escape(text)}<sub>{html.escape(index)}</sub>",
        f"{symbol}_{{{index}}}",
    )


def _var(name: str, index: str) -> Piece | None:
    """A variable with its subscript (factors of an interaction each subscripted); None for
    the intercept, which multiplies nothing."""
    if name == INTERCEPT:
        return None
    parts = [_plain(p) for p in split_interaction(name)]
    plain = "·".join(f"{p}_{index}" for p in parts)
    markup = "·".join(f"{html.escape(p)}<sub>{index}</sub>" for p in parts)
    tex = r"\,".join(f"{_tex_name(p)}_{{{index}}}" for p in parts)
    return plain, markup, tex


def _times(coefficient: Piece, variable: Piece | None) -> Piece:
    if variable is None:
        return coefficient
    return (
        f"{coefficient[0]}·{variable[0]}",
        f"{coefficient[1]}·{variable[1]}",
        rf"{coefficient[2]}\,{variable[2]}",
    )


def _equation(lhs: Piece, terms: list[Piece]) -> Piece:
    return (
        f"{lhs[0]} = " + " + ".join(t[0] for t in terms),
        f"{lhs[1]} = " + " + ".join(t[1] for t in terms),
        f"{lhs[2]} = " + " + ".join(t[2] for t in terms),
    )


def _distribution(res: MixedModelResult, index: str) -> tuple[str, str]:
    """``r ~ N(0, σ²)`` (a GLMM: the response's distribution, e.g. ``y ~ Bernoulli(p)``) and
    per random term ``(u_0j, u_1j)' ~ N(0, T)`` (text, LaTeX).

    ``index`` is the observation subscript (``ij`` for one grouping factor, ``i`` for
    several, where each factor's u's are normal with that factor's T).
    """
    design = res.design
    indices = random_indices(res)
    groups = list(dict.fromkeys(t.group for t in design.terms))
    glmm = glmm_outcome(res, index)
    if glmm is None:
        text = [f"r_{index} ~ N(0, σ²)"]
        tex = [rf"r_{{{index}}} \sim N(0, \sigma^2)"]
    else:  # the response's distribution given the random effects, no residual term
        text, tex = [glmm.response[0]], [glmm.response[1]]
    for term in design.terms:
        ks = [indices[(term.group, c)] for c in term.columns]
        taus = [[f"{min(a, b)}{max(a, b)}" for b in ks] for a in ks]
        if len(groups) == 1:
            names = [f"u_{k}j" for k in ks]
            tex_names = [f"u_{{{k}j}}" for k in ks]
            tau, tex_tau, big_t = "τ_{}", r"\tau_{{{}}}", "T"
        else:  # each factor has its own τ's: the factor's name goes on them
            group = term.group
            names = [f"u[{c}]_{group}" for c in term.columns]
            tex_names = [rf"u^{{({_tex_name(c)})}}_{{{_tex_name(group)}}}" for c in term.columns]
            tau = "τ_{}" + f"({group})"
            tex_tau = r"\tau^{{(" + _tex_name(group).replace("{", "{{").replace("}", "}}")
            tex_tau += r")}}_{{{}}}"
            big_t = f"T({group})"
        if len(ks) == 1:
            text.append(f"{names[0]} ~ N(0, {tau.format(taus[0][0])})")
            tex.append(rf"{tex_names[0]} \sim N(0, {tex_tau.format(taus[0][0])})")
            continue
        text.append(f"({', '.join(names)})' ~ N(0, {big_t})")
        rows = r" \\ ".join(" & ".join(tex_tau.format(t) for t in row) for row in taus)
        vector = r" \\ ".join(tex_names)
        tex.append(
            rf"\begin{{pmatrix}}{vector}\end{{pmatrix}} \sim N\left(\mathbf{{0}}, "
            rf"\begin{{pmatrix}}{rows}\end{{pmatrix}}\right)"
        )
    return ";  ".join(text), r",\quad ".join(tex)


def slot_indices(res: MixedModelResult) -> dict[str, int]:
    """Level-1 slot -> its index k in β_kj (the intercept 0), for one grouping factor.

    The index of u_kj and of τ_kk: slots of fixed effects in model-matrix order, then the
    random terms without a fixed part.  Several grouping factors: positions within each
    factor's random terms are used instead (see :func:`random_indices`).
    """
    terms = res.design.terms
    coefs = classify_coefficients(res, terms[0].group)
    columns = [c for t in terms if t.group == terms[0].group for c in t.columns]
    slots = [INTERCEPT] + [c.slot for c in coefs if c.slot != INTERCEPT]
    slots = list(dict.fromkeys(slots + [c for c in columns if c not in slots]))
    return {s: i for i, s in enumerate(slots)}


def random_indices(res: MixedModelResult) -> dict[tuple[str, str], int]:
    """(grouping factor, random-term column) -> the index k of u_kj and τ_kk.

    One grouping factor: the slot index of the level-2 equations (:func:`slot_indices`), so a
    table's τ11 is the variance of the u1j in ``res.equations()``.  Several factors: the
    position among the factor's columns (intercept 0 when present, then the slopes 1, 2, ...;
    sjPlot's convention), over all of the factor's terms (``||`` pieces included).
    """
    design = res.design
    if len({t.group for t in design.terms}) == 1:
        slots = slot_indices(res)
        return {(t.group, c): slots[c] for t in design.terms for c in t.columns}
    out: dict[tuple[str, str], int] = {}
    for group in dict.fromkeys(t.group for t in design.terms):
        columns = [c for t in design.terms if t.group == group for c in t.columns]
        start = 0 if INTERCEPT in columns else 1
        ordered = [c for c in columns if c == INTERCEPT] + [c for c in columns if c != INTERCEPT]
        for k, c in enumerate(dict.fromkeys(ordered)):
            out[(group, c)] = k + start
    return out


def _outcome(res: MixedModelResult, index: str) -> tuple[Piece, list[Piece]]:
    """The left-hand side and the terms after the predictors: y and r for a linear mixed
    model; the link of the mean and any offsets for a GLMM (:mod:`.equation_outcomes`)."""
    glmm = glmm_outcome(res, index)
    if glmm is not None:
        return glmm.lhs, list(glmm.offsets)
    residual = (f"r_{index}", f"r<sub>{index}</sub>", f"r_{{{index}}}")
    return _sub(res.spec.response.strip().strip("`"), index), [residual]


def model_equations(res: MixedModelResult) -> ModelEquations:
    """Level-1/level-2 equations (single grouping factor) and the combined equation."""
    design = res.design
    if len({t.group for t in design.terms}) > 1:
        return _combined_only(res)
    term = design.terms[0]
    coefs = classify_coefficients(res, term.group)
    # all terms of the factor: (x || g) is split into (1 | g) + (0 + x | g)
    random_cols = list(dict.fromkeys(c for t in design.terms for c in t.columns))
    slot_index = slot_indices(res)
    slots = list(slot_index)
    y, tail = _outcome(res, "ij")
    level1 = _equation(
        y, [_times(_sub("β", f"{slot_index[s]}j"), _var(s, "ij")) for s in slots] + tail
    )
    level2: list[Piece] = []
    combined: list[Piece] = []
    for s in slots:
        k = slot_index[s]
        own = [c for c in coefs if c.slot == s]
        gammas = [
            _times(_sub("γ", f"{k}{w}"), _var(c.level2, "j") if c.level2 else None)
            for w, c in enumerate(own)
        ]
        combined += [_times(g, _var(s, "ij")) for g in gammas]
        terms = gammas + ([_sub("u", f"{k}j")] if s in random_cols else [])
        level2.append(_equation(_sub("β", f"{k}j"), terms or [("0", "0", "0")]))
    combined += [_times(_sub("u", f"{slot_index[s]}j"), _var(s, "ij")) for s in random_cols]
    combined_eq = _equation(y, combined + tail)
    distribution = _distribution(res, "ij")
    return ModelEquations(
        level1[0],
        tuple(e[0] for e in level2),
        combined_eq[0],
        level1[1],
        tuple(e[1] for e in level2),
        combined_eq[1],
        level1[2],
        tuple(e[2] for e in level2),
        (y[2], *(t[2] for t in combined + tail)),
        *distribution,
    )


def _combined_only(res: MixedModelResult) -> ModelEquations:
    """lme4-style combined equation for models with several grouping factors."""
    terms = [
        _times(_sub("γ", str(k)), _var(name, "i")) for k, name in enumerate(res.design.fixed_names)
    ]
    for term in res.design.terms:
        for col in term.columns:
            u = (
                f"u[{col}]_{term.group}[i]",
                f"u<sub>{html.escape(term.group)}[i]</sub><sup>({html.escape(col)})</sup>",
                rf"u^{{({_tex_name(col)})}}_{{{_tex_name(term.group)}[i]}}",
            )
            terms.append(_times(u, _var(col, "i")))
    y, tail = _outcome(res, "i")
    combined = _equation(y, terms + tail)
    latex = (y[2], *(t[2] for t in terms + tail))
    return ModelEquations(
        "", (), combined[0], "", (), combined[1], "", (), latex, *_distribution(res, "i")
    )

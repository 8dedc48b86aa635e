"""The model in Raudenbush-Bryk level-1 / level-2 notation and as the combined equation.

For ``mathach ~ cses * catholic + meanses + (1 + cses | school)``:

    Level 1:  mathach_ij = β0j + β1j·cses_ij + r_ij
    Level 2:  β0j = γ00 + γ01·catholic_j + γ02·meanses_j + u0j
              β1j = γ10 + γ11·catholic_j + u1j
    Combined: mathach_ij = γ00 + γ01·catholic_j + γ02·meanses_j + γ10·cses_ij
                           + γ11·catholic_j·cses_ij + u0j + u1j·cses_ij + r_ij

A predictor is level 2 when it is constant within every cluster of the grouping factor
(read from the data, not guessed from names).  Models with several grouping factors get
the combined equation only, in lme4's form.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..naming import split_interaction

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
    """Equations of a two-level model as plain text and HTML lines."""

    level1: str
    level2: tuple[str, ...]
    combined: str
    level1_html: str
    level2_html: tuple[str, ...]
    combined_html: str

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
    level2_part: dict[str, bool] = {}
    for j, name in enumerate(names):
        if name != INTERCEPT and len(split_interaction(name)) == 1:
            level2_part[name] = _is_level2(design.X[:, j], term.codes, term.n_levels)
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
            level2_part.get(p, _is_level2(design.X[:, j], term.codes, term.n_levels)) for p in parts
        ]
        slot = ":".join(p for p, f in zip(parts, flags, strict=True) if not f) or INTERCEPT
        l2 = ":".join(p for p, f in zip(parts, flags, strict=True) if f)
        out.append(Coefficient(name, slot, l2))
    return out


def _sub(text: str, index: str) -> tuple[str, str]:
    return f"{text}_{index}", f"{html.escape(text)}<sub>{html.escape(index)}</sub>"


def _var(name: str, index: str) -> tuple[str, str]:
    """A variable with its subscript, factors of an interaction each subscripted."""
    parts = split_interaction(name)
    plain = "·".join(f"{p}_{index}" for p in parts)
    markup = "·".join(f"{html.escape(p)}<sub>{index}</sub>" for p in parts)
    return plain, markup


def model_equations(res: MixedModelResult) -> ModelEquations:
    """Level-1/level-2 equations (single grouping factor) and the combined equation."""
    response = res.spec.response.strip().strip("`")
    design = res.design
    if len({t.group for t in design.terms}) > 1:
        return _combined_only(res)
    term = design.terms[0]
    coefs = classify_coefficients(res, term.group)
    random_cols = list(term.columns)
    slots = [INTERCEPT] + [c.slot for c in coefs if c.slot != INTERCEPT]
    slots = list(dict.fromkeys(slots + [c for c in random_cols if c not in slots]))
    slot_index = {s: i for i, s in enumerate(slots)}

    l1_plain, l1_html = [], []
    for s in slots:
        b_plain, b_html = _sub("β", f"{slot_index[s]}j")
        if s == INTERCEPT:
            l1_plain.append(b_plain)
            l1_html.append(b_html)
        else:
            v_plain, v_html = _var(s, "ij")
            l1_plain.append(f"{b_plain}·{v_plain}")
            l1_html.append(f"{b_html}·{v_html}")
    y_plain, y_html = _sub(response, "ij")
    level1 = f"{y_plain} = " + " + ".join(l1_plain) + " + r_ij"
    level1_html = f"{y_html} = " + " + ".join(l1_html) + " + r<sub>ij</sub>"

    level2, level2_html, comb_plain, comb_html = [], [], [], []
    for s in slots:
        k = slot_index[s]
        terms_plain, terms_html = [], []
        w = 0
        for c in coefs:
            if c.slot != s:
                continue
            g_plain, g_html = _sub("γ", f"{k}{w}")
            w += 1
            if c.level2:
                v_plain, v_html = _var(c.level2, "j")
                terms_plain.append(f"{g_plain}·{v_plain}")
                terms_html.append(f"{g_html}·{v_html}")
            else:
                terms_plain.append(g_plain)
                terms_html.append(g_html)
            x_plain, x_html = ("", "") if s == INTERCEPT else _var(s, "ij")
            comb_plain.append(terms_plain[-1] + (f"·{x_plain}" if x_plain else ""))
            comb_html.append(terms_html[-1] + (f"·{x_html}" if x_html else ""))
        if s in random_cols:
            u_plain, u_html = _sub("u", f"{k}j")
            terms_plain.append(u_plain)
            terms_html.append(u_html)
        if not terms_plain:
            terms_plain, terms_html = ["0"], ["0"]
        b_plain, b_html = _sub("β", f"{k}j")
        level2.append(f"{b_plain} = " + " + ".join(terms_plain))
        level2_html.append(f"{b_html} = " + " + ".join(terms_html))
    for s in random_cols:
        u_plain, u_html = _sub("u", f"{slot_index[s]}j")
        if s == INTERCEPT:
            comb_plain.append(u_plain)
            comb_html.append(u_html)
        else:
            x_plain, x_html = _var(s, "ij")
            comb_plain.append(f"{u_plain}·{x_plain}")
            comb_html.append(f"{u_html}·{x_html}")
    combined = f"{y_plain} = " + " + ".join(comb_plain) + " + r_ij"
    combined_html = f"{y_html} = " + " + ".join(comb_html) + " + r<sub>ij</sub>"
    return ModelEquations(
        level1, tuple(level2), combined, level1_html, tuple(level2_html), combined_html
    )


def _combined_only(res: MixedModelResult) -> ModelEquations:
    """lme4-style combined equation for models with several grouping factors."""
    response = res.spec.response.strip().strip("`")
    parts_plain, parts_html = [], []
    for k, name in enumerate(res.design.fixed_names):
        g_plain, g_html = _sub("γ", str(k))
        if name == INTERCEPT:
            parts_plain.append(g_plain)
            parts_html.append(g_html)
        else:
            v_plain, v_html = _var(name, "i")
            parts_plain.append(f"{g_plain}·{v_plain}")
            parts_html.append(f"{g_html}·{v_html}")
    for term in res.design.terms:
        for col in term.columns:
            u_plain = f"u[{col}]_{term.group}[i]"
            u_html = f"u<sub>{html.escape(term.group)}[i]</sub><sup>({html.escape(col)})</sup>"
            if col == INTERCEPT:
                parts_plain.append(u_plain)
                parts_html.append(u_html)
            else:
                v_plain, v_html = _var(col, "i")
                parts_plain.append(f"{u_plain}·{v_plain}")
                parts_html.append(f"{u_html}·{v_html}")
    y_plain, y_html = _sub(response, "i")
    combined = f"{y_plain} = " + " + ".join(parts_plain) + " + r_i"
    combined_html = f"{y_html} = " + " + ".join(parts_html) + " + r<sub>i</sub>"
    return ModelEquations("", (), combined, "", (), combined_html)

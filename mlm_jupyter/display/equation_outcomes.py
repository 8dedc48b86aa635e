"""The outcome side of a model's equations: what the level-1 equation models and how.

A linear mixed model models the response itself with a normal residual,
``y_ij = β0j + β1j·x_ij + r_ij``.  A GLMM models the link of the conditional mean, with no
residual term, and states the response's distribution (Raudenbush & Bryk's notation for
generalised models):

    binomial:  pass_ij ~ Bernoulli(p_ij),        logit(p_ij) = β0j + β1j·motiv_ij
    counts:    events_ij ~ Poisson(λ_ij),         log(λ_ij) = β0j + ... + log(exposure_ij)
    neg. bin.: count_ij ~ NegBinomial(μ_ij, θ),  log(μ_ij) = β0j + ...

Each piece is (plain text, HTML, LaTeX), as in :mod:`.equations`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

Piece = tuple[str, str, str]

_MEAN = {"binomial": ("p", "p"), "poisson": ("λ", r"\lambda"),
         "negative_binomial": ("μ", r"\mu")}
_LINK_TEX = {"logit": r"\operatorname{logit}", "probit": r"\Phi^{-1}",
             "cloglog": r"\operatorname{cloglog}", "log": r"\log"}
_OFFSET = re.compile(r"offset\(\s*(.+)\s*\)$")


@dataclass(frozen=True)
class Outcome:
    """A GLMM's level-1 left-hand side (the link of the mean), its offset terms and the
    response's distribution (text, LaTeX)."""

    lhs: Piece
    offsets: tuple[Piece, ...]
    response: tuple[str, str]


def _tex_name(name: str) -> str:
    from .paper.render_latex import escape_latex

    return rf"\text{{{escape_latex(name.replace('`', ''))}}}"


def _indexed(name: str, index: str) -> Piece:
    name = name.replace("`", "")
    return (f"{name}_{index}", f"{html.escape(name)}<sub>{index}</sub>",
            rf"{_tex_name(name)}_{{{index}}}")


def _split_args(text: str, separator: str = ",") -> list[str]:
    """``text`` split at ``separator`` outside brackets."""
    depth, parts, current = 0, [], []
    for char in text:
        depth += char in "(["
        depth -= char in ")]"
        if char == separator and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def offset_terms(res: Any, index: str) -> tuple[Piece, ...]:
    """The formula's ``offset(...)`` terms as pieces (``log(exposure)_ij``)."""
    out = []
    for term in _split_args(res.spec.fixed, "+"):
        match = _OFFSET.match(term.strip())
        if match:
            out.append(_indexed(match.group(1), index))
    return tuple(out)


def _response_name(res: Any) -> tuple[str, bool]:
    """The count of successes (first argument of ``cbind``) or the response; whether the
    response is a number of trials (cbind or prior weights) rather than 0/1."""
    response = res.spec.response.strip()
    if response.startswith("cbind(") and response.endswith(")"):
        return _split_args(response[6:-1])[0], True
    weights = getattr(res.fit_state.family, "weights", None)
    trials = weights is not None and not np.allclose(weights, 1.0)
    return response, bool(trials)


def _glmm_outcome(res: Any, index: str) -> Outcome:
    symbol, tex_symbol = _MEAN[res.family]
    mean = (f"{symbol}_{index}", f"{symbol}<sub>{index}</sub>", rf"{tex_symbol}_{{{index}}}")
    link = res.link
    lhs = (f"{link}({mean[0]})", f"{link}({mean[1]})",
           rf"{_LINK_TEX.get(link, _tex_name(link))}({mean[2]})")
    name, trials = _response_name(res)
    y = _indexed(name, index)
    if res.family == "binomial" and trials:
        n = (f"n_{index}", f"n<sub>{index}</sub>", f"n_{{{index}}}")
        count = (f"{n[0]}·{y[0]}", rf"{n[2]}\,{y[2]}") if not res.spec.response.startswith(
            "cbind(") else (y[0], y[2])
        response = (f"{count[0]} ~ Binomial({n[0]}, {mean[0]})",
                    rf"{count[1]} \sim \operatorname{{Binomial}}({n[2]}, {mean[2]})")
    elif res.family == "binomial":
        response = (f"{y[0]} ~ Bernoulli({mean[0]})",
                    rf"{y[2]} \sim \operatorname{{Bernoulli}}({mean[2]})")
    elif res.family == "poisson":
        response = (f"{y[0]} ~ Poisson({mean[0]})",
                    rf"{y[2]} \sim \operatorname{{Poisson}}({mean[2]})")
    else:
        response = (f"{y[0]} ~ NegBinomial({mean[0]}, θ)",
                    rf"{y[2]} \sim \operatorname{{NegBinomial}}({mean[2]}, \theta)")
    return Outcome(lhs, offset_terms(res, index), response)


def glmm_outcome(res: Any, index: str) -> Outcome | None:
    """A GLMM's outcome pieces with observation subscript ``index`` (``ij`` or ``i``); None
    for a linear mixed model, whose y and r :mod:`.equations` writes itself."""
    return _glmm_outcome(res, index) if getattr(res, "is_glmm", False) else None

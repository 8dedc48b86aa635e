"""The explorer state of a GLMM: the LMM's state (schema version 1) plus a ``glmm`` block.

The browser computes everything on the response scale from the same fixed effects, Var(β̂),
T and conditional modes it uses for an LMM (``js/src/glmm.js``), with the block's family and
link: the typical cluster's curve g⁻¹(x(v)'β̂ + offset) with its Wald band, the quantiles of
the clusters' curves g⁻¹(η ± z√(z(v)'Tz(v))) (exact: g is monotone and z'b normal), each
cluster's own curve at its conditional modes, link-scale simple slopes with Wald z tests and
their ratios exp(·).  What does not carry over from the LMM is switched off here: no
Satterthwaite df (``satterthwaite`` and ``ddf_residual`` null, so every test is a z test),
no reliabilities (they need a residual variance), no Predictions tab (its prediction band
is Gaussian); the Diagnostics tab gets Pearson residuals and the GLMM's influence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

RATIO_NAMES = {"logit": "odds ratio", "log": "rate ratio", "cloglog": "hazard ratio"}
SCALE_NAMES = {"binomial": "probability", "poisson": "expected count",
               "negative_binomial": "expected count"}


def _median_ratios(res: Any) -> dict[str, float]:
    if res.link not in ("logit", "log"):
        return {}
    try:
        return {str(k): float(v) for k, v in res.median_odds_ratio().items()}
    except ValueError:
        return {}


def _latent_residual(res: Any) -> float | None:
    try:
        value = float(res.variance_components()["var.residual"])
    except (ValueError, ArithmeticError, KeyError):
        return None
    return value if np.isfinite(value) else None


def response_name(res: Any) -> str:
    """What the response scale is "of": the column (backticks dropped), or for
    ``cbind(successes, failures)`` the successes."""
    text = res.spec.response.strip()
    if text.startswith("cbind(") and text.endswith(")"):
        text = text[len("cbind("):-1].split(",")[0].strip()
    return text.replace("`", "")


def glmm_block(res: Any) -> dict:
    """``state.glmm``: family, link, how the response scale is named, the offset the curves
    hold, the ratio name, the latent residual variance and the median odds (rate) ratios."""
    offset = res.design.offset
    scale = SCALE_NAMES[res.family]
    if offset is not None and res.family != "binomial":
        scale = "expected count (offset at its mean)"
    return {
        "family": res.family,
        "link": res.link,
        "nagq": int(res.nagq),
        "scale": scale,
        "scale_label": f"{scale} of {response_name(res)}",
        "offset": float(offset.mean()) if offset is not None else 0.0,
        "ratio": RATIO_NAMES.get(res.link),
        "latent_residual": _latent_residual(res),
        "median_ratio": _median_ratios(res),
        "dispersion": float(res.dispersion) if np.isfinite(res.dispersion) else None,
        "level": 0.95,
    }


def adapt_state(state: dict, res: Any) -> dict:
    """The LMM state of ``res`` made a GLMM's (see the module docstring)."""
    state["glmm"] = glmm_block(res)
    state["satterthwaite"] = None
    state["ddf_residual"] = None
    state["reliability"] = None
    state.pop("predictions", None)
    return state

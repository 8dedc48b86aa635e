"""Link functions: the one place where estimates move from the link to the response scale.

Predictions, marginal means and pairwise comparisons are computed on the scale of the linear
predictor η = x'γ (+ z'u), where they are linear in the estimates and their standard errors,
t statistics and df are exact.  ``type="response"`` then maps them through the inverse link
μ = g⁻¹(η) here and nowhere else:

- an estimate becomes g⁻¹(η̂);
- its standard error becomes |dμ/dη| · SE(η̂) (the delta method);
- an interval's limits are mapped one by one, g⁻¹(lower), g⁻¹(upper) (emmeans' ``regrid``
  rule: the interval keeps its coverage, it is simply no longer symmetric);
- a difference of two means on a log or logit scale becomes a ratio (odds ratio),
  exp(η̂_a - η̂_b), with SE exp(·) · SE by the delta method; its t and p stay those of the
  link scale, as emmeans reports them.

A linear mixed model has the identity link, for which both types give the same numbers; a
generalised model plugs in by exposing ``res.link`` (``"logit"``, ``"probit"``, ``"log"``,
``"cloglog"``, ``"inverse"``, ``"identity"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

TYPES = ("link", "response")


@dataclass(frozen=True)
class Link:
    """A link g with its inverse μ = g⁻¹(η) and derivative dμ/dη (R's ``linkinv``, ``mu.eta``)."""

    name: str
    inverse: Callable[[np.ndarray], np.ndarray]
    mu_eta: Callable[[np.ndarray], np.ndarray]
    ratio: bool = False  # differences on this scale back-transform to ratios (log, logit)


def _cloglog_inverse(eta: np.ndarray) -> np.ndarray:
    return -np.expm1(-np.exp(eta))


_LINKS = {
    "identity": Link("identity", lambda e: e, np.ones_like),
    "log": Link("log", np.exp, np.exp, ratio=True),
    "logit": Link("logit", special.expit, lambda e: special.expit(e) * special.expit(-e), True),
    "probit": Link("probit", stats.norm.cdf, stats.norm.pdf),
    "cloglog": Link("cloglog", _cloglog_inverse, lambda e: np.exp(e - np.exp(e))),
    "inverse": Link("inverse", lambda e: 1.0 / e, lambda e: -1.0 / e**2),
}


def link_of(res: Any) -> Link:
    """The link of a fitted model (``res.link``; a linear mixed model's is the identity)."""
    name = str(getattr(res, "link", None) or "identity")
    if name not in _LINKS:
        raise ValueError(f"link {name!r} is not supported; known links: {sorted(_LINKS)}.")
    return _LINKS[name]


def check_type(type: str) -> str:
    """Validate a ``type`` argument (``"link"`` or ``"response"``)."""
    key = str(type).lower()
    if key not in TYPES:
        raise ValueError(f"type must be 'link' or 'response', not {type!r}.")
    return key


def on_response_scale(table: pd.DataFrame, link: Link, estimate: str = "estimate") -> pd.DataFrame:
    """Map ``estimate`` (and ``std_error``, ``lower``, ``upper`` when present) through g⁻¹.

    The identity link returns the table unchanged.
    """
    if link.name == "identity":
        return table
    out = table.copy()
    eta = out[estimate].to_numpy(dtype=float)
    out[estimate] = link.inverse(eta)
    if "std_error" in out:
        out["std_error"] = np.abs(link.mu_eta(eta)) * out["std_error"].to_numpy(dtype=float)
    for col in ("lower", "upper"):
        if col in out:
            out[col] = link.inverse(out[col].to_numpy(dtype=float))
    if link.name == "inverse" and {"lower", "upper"} <= set(out.columns):
        # 1/η reverses the order of the limits
        lo, hi = out["lower"].to_numpy(), out["upper"].to_numpy()
        out["lower"], out["upper"] = np.minimum(lo, hi), np.maximum(lo, hi)
    return out


def contrasts_on_response_scale(table: pd.DataFrame, link: Link) -> tuple[pd.DataFrame, str]:
    """Pairwise differences on the response scale: ratios for log/logit links.

    Returns the table and a note.  Links without a ratio reading (probit, cloglog, inverse)
    keep their differences on the link scale, as emmeans does, and the note says so.
    """
    if link.name == "identity":
        return table, ""
    if not link.ratio:
        return table, f"Differences are on the {link.name} (link) scale."
    out = table.copy()
    ratio = np.exp(out["estimate"].to_numpy(dtype=float))
    out["estimate"] = ratio
    out["std_error"] = ratio * out["std_error"].to_numpy(dtype=float)
    out["contrast"] = out["contrast"].str.replace(" - ", " / ", regex=False)
    what = "odds ratios" if link.name == "logit" else "ratios"
    return out, f"Comparisons are {what}; tests are performed on the {link.name} scale."

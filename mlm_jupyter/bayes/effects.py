"""Quantities derived from the posterior draws: cluster effects, simple slopes, ICC."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .names import brms_coef

if TYPE_CHECKING:  # pragma: no cover
    from .result import BayesianResult

SLOPE_COLUMNS = ["estimate", "std_error", "lower", "upper", "prob_positive"]


def _interval(x: np.ndarray, level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    lo = (1.0 - level) / 2.0
    return np.quantile(x, lo, axis=axis), np.quantile(x, 1.0 - lo, axis=axis)


def ranef_summary(res: BayesianResult, group: str | None, level: float) -> pd.DataFrame:
    """brms' ``ranef()``: one row per level and term with the posterior mean, SD and interval."""
    group = res.group_names[0] if group is None else group
    terms = [(k, t) for k, t in enumerate(res.design.terms) if t.group == group]
    if not terms:
        raise KeyError(f"'{group}' is not a grouping factor of this model; use one of "
                       f"{res.group_names}.")
    frames = []
    for k, term in terms:
        draws = res.draws.ranef[k].reshape(-1, term.n_levels, term.q)
        lower, upper = _interval(draws, level)
        for i, col in enumerate(term.columns):
            frames.append(pd.DataFrame({
                "level": list(term.levels), "term": col, "parameter": [
                    f"r_{group}[{lev},{brms_coef(col)}]" for lev in term.levels],
                "mean": draws[:, :, i].mean(axis=0), "sd": draws[:, :, i].std(axis=0, ddof=1),
                "lower": lower[:, i], "upper": upper[:, i],
            }))
    out = pd.concat(frames, ignore_index=True)
    out.attrs["level"] = level
    return out


def cluster_coefficients(res: BayesianResult) -> dict[str, pd.DataFrame]:
    """Posterior means of β + b_j per cluster (lme4's ``coef()`` layout)."""
    out = {}
    for group, re in res.ranef.items():
        table = pd.DataFrame(np.tile(res.fixef.to_numpy(), (len(re), 1)), index=re.index,
                             columns=res.fixef.index)
        for col in re.columns:
            table[col] = table[col] + re[col] if col in table.columns else re[col]
        out[group] = table
    return out


def slope_draws(res: BayesianResult, of: str, values: dict[str, Any]) -> np.ndarray:
    """Draws of the simple slope of ``of`` at moderator ``values`` (all draws, flattened)."""
    from ..effects.slopes import _SlopeVectors

    L = _SlopeVectors(res, of).checked_vector(values)
    return res.draws.beta.reshape(-1, res.design.p) @ L


def simple_slopes(res: BayesianResult, of: str, at: dict[str, Any] | None,
                  level: float) -> pd.DataFrame:
    """Posterior of the slope of ``of`` at every combination of ``at`` (as the REML version).

    Columns: the ``at`` variables, ``estimate`` (posterior mean), ``std_error`` (posterior
    SD), ``lower, upper`` (equal-tailed credible interval), ``prob_positive`` (posterior
    probability that the slope is > 0), ``held_at``.
    """
    from ..effects.slopes import slope_combinations

    keys, held, combinations = slope_combinations(res, of, at)
    rows = []
    beta = res.draws.beta.reshape(-1, res.design.p)
    for values, L in combinations:
        s = beta @ L
        lower, upper = _interval(s, level)
        rows.append({**values, "estimate": float(s.mean()), "std_error": float(s.std(ddof=1)),
                     "lower": float(lower), "upper": float(upper),
                     "prob_positive": float((s > 0).mean()), "held_at": held})
    out = pd.DataFrame(rows, columns=[*keys, *SLOPE_COLUMNS, "held_at"])
    out.attrs.update({"of": of, "level": level, "held_at": held, "interval": "credible"})
    return out


def icc(res: BayesianResult) -> pd.Series:
    """Posterior of the ICC sd₀²/(sd₀² + σ²) of the first factor's intercept (mean, interval)."""
    first = res.names.sds[0]
    if res.design.terms[first.term].columns[first.column] != "(Intercept)":
        raise ValueError("The ICC needs a random intercept in the first grouping factor.")
    v = res.draws.sd[:, :, 0] ** 2
    r = (v / (v + res.draws.sigma**2)).ravel()
    lower, upper = _interval(r, 0.95)
    return pd.Series({"icc": float(r.mean()), "lower": float(lower), "upper": float(upper)},
                     name=first.group)


def fitted(res: BayesianResult, include_re: bool = True) -> pd.Series:
    """X β̄ (+ Z b̄) at the posterior means."""
    values = res.design.X @ res.fixef.to_numpy()
    if include_re:
        for term, b in zip(res.design.terms, res.random_effects, strict=True):
            values = values + np.einsum("nq,nq->n", term.Z, b[term.codes])
    return pd.Series(values, index=res.design.row_index, name="fitted")


def explorer(res: BayesianResult, **kwargs: Any) -> Any:
    """The explorer of the REML fit with the cluster slopes' distribution from the posterior."""
    from ..display.widget import ModelExplorer

    return ModelExplorer(res.reml_fit, posterior=res, **kwargs)

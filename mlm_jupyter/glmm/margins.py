"""Marginal means, simple slopes and average marginal effects of a GLMM.

- ``marginal_means``: emmeans' ``emmeans(m, specs, by, at)`` for a glmer fit: a reference
  grid (factors at all levels, numeric covariates at their means unless given in ``at``,
  an offset at its mean over the data), averaged with equal weights over the factors not
  in ``specs``/``by``; asymptotic (z) intervals.  ``type="response"`` back-transforms the
  estimate and the interval and gives the delta-method SE |dμ/dη|·SE (emmeans' ``regrid``
  is not needed for one inverse link).
- ``simple_slopes``: the LMM's emtrends-like slopes (here Wald z), on the link scale, with
  exp of the slope and of its interval for logit/log/cloglog links.
- ``average_marginal_effect``: mean over the rows used of dμ_i/dx (numerically in x, as
  marginaleffects' ``avg_slopes``), at the clusters' modes or at b = 0, with the delta
  method over β.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from ..engine.families import inverse_link, inverse_link_derivative
from .predict import linear_predictor, matrices

if TYPE_CHECKING:  # pragma: no cover
    from .results import GLMMResult


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str) or np.ndim(value) == 0:
        return [value]
    return list(value)


def _predictors(res: GLMMResult) -> list[str]:
    """Columns the fixed part reads (response and grouping columns excluded)."""
    from .predict import response_variables

    groups = {c for t in res.design.terms for c in t.group_columns}
    skip = set(response_variables(res)) | groups
    fixed_words = _words(res.spec.fixed)
    return [v for v in res.design.variables if v not in skip and v in fixed_words]


def _words(text: str) -> set[str]:
    import re

    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", text))


def reference_grid(res: GLMMResult, at: dict[str, Any] | None = None) -> pd.DataFrame:
    """emmeans' reference grid: every factor level, numeric covariates at their means."""
    data = res.data
    at = dict(at or {})
    axes: dict[str, list] = {}
    for v in _predictors(res):
        col = data[v]
        if v in at:
            axes[v] = _as_list(at[v])
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            axes[v] = [float(col.mean())]
        elif isinstance(col.dtype, pd.CategoricalDtype):
            axes[v] = [c for c in col.cat.categories if c in set(col)]
        else:
            axes[v] = sorted(col.dropna().unique(), key=str)
    unknown = [k for k in at if k not in axes]
    if unknown:
        raise ValueError(f"{unknown} in `at` are not predictors of the fixed part {list(axes)}.")
    rows = list(itertools.product(*axes.values()))
    grid = pd.DataFrame(rows, columns=list(axes))
    for v in axes:
        if isinstance(data[v].dtype, pd.CategoricalDtype):
            grid[v] = pd.Categorical(grid[v], categories=data[v].cat.categories)
    for g in {c for t in res.design.terms for c in t.group_columns}:
        grid[g] = data[g].iloc[0]  # not used by the fixed part; formulas may still read it
    return grid


def marginal_means(res: GLMMResult, specs: Any, by: Any = None, at: dict | None = None,
                   type: str = "link", level: float = 0.95,
                   offset: float | None = None) -> pd.DataFrame:
    """Estimated marginal means (see the module docstring).

    Parameters
    ----------
    specs, by : str or list of str
        Variables whose levels (or ``at`` values) index the rows.
    at : dict, optional
        Values of covariates (numeric ones otherwise at their mean).
    type : {"link", "response"}
    offset : float, optional
        The offset on the grid (default: its mean over the data, as emmeans; 0 gives
        rates per unit of exposure).

    Returns
    -------
    DataFrame
        The ``specs``/``by`` columns, then ``estimate, std_error, df, lower, upper``.
    """
    if type not in ("link", "response"):
        raise ValueError(f"type must be 'link' or 'response', not {type!r}.")
    keys = _as_list(specs) + _as_list(by)
    grid = reference_grid(res, at)
    missing = [k for k in keys if k not in grid.columns]
    if missing:
        raise ValueError(f"{missing} are not predictors of the fixed part {list(grid.columns)}.")
    X = matrices(res, grid, include_re=False).X
    if offset is None:
        offset = float(res.design.offset.mean()) if res.design.offset is not None else 0.0
    labels = grid[keys].astype(object)
    groups = labels.apply(tuple, axis=1)
    order = list(dict.fromkeys(groups))
    L = np.array([X[(groups == g).to_numpy()].mean(axis=0) for g in order])
    beta, V = res.fixef.to_numpy(), res.vcov.to_numpy()
    est = L @ beta + offset
    se = np.sqrt(np.einsum("ij,jk,ik->i", L, V, L))
    z = stats.norm.ppf(0.5 + level / 2)
    lo, hi = est - z * se, est + z * se
    if type == "response":
        se = se * np.abs(inverse_link_derivative(res.link, est))
        est, lo, hi = (inverse_link(res.link, v) for v in (est, lo, hi))
    out = pd.DataFrame(order, columns=keys)
    out["estimate"], out["std_error"], out["df"] = est, se, np.inf
    out["lower"], out["upper"] = lo, hi
    out.attrs.update(type=type, level=level, offset=offset)
    return out


def simple_slopes(res: GLMMResult, of: str, at: dict | None = None,
                  level: float = 0.95) -> pd.DataFrame:
    """Link-scale slopes with Wald z tests, and their ratios exp(·) where the link has one."""
    from ..effects import simple_slopes as link_slopes
    from .effects import RATIO_NAMES

    out = link_slopes(res, of, at, level=level)
    if res.link in RATIO_NAMES:
        for col in ("estimate", "lower", "upper"):
            out[f"{col}_ratio"] = np.exp(out[col])
        out.attrs["kind"] = RATIO_NAMES[res.link]
    return out


def average_marginal_effect(res: GLMMResult, of: str, include_re: bool = True,
                            level: float = 0.95, step: float | None = None) -> pd.Series:
    """AME of a numeric predictor on the response scale (see the module docstring).

    Returns
    -------
    pandas.Series
        ``estimate, std_error, z, p, lower, upper`` (dμ/dx averaged over the rows).
    """
    data = res.data
    if of not in data.columns or not pd.api.types.is_numeric_dtype(data[of]):
        raise ValueError(f"'{of}' is not a numeric predictor of the model.")
    x = data[of].to_numpy(dtype=float)
    h = step if step is not None else 1e-4 * max(float(np.std(x)), 1e-8)
    eta, X0, _ = linear_predictor(res, data, include_re=include_re)
    eta_p, Xp, _ = linear_predictor(res, data.assign(**{of: x + h}), include_re=include_re)
    eta_m, Xm, _ = linear_predictor(res, data.assign(**{of: x - h}), include_re=include_re)
    dX = (Xp - Xm) / (2 * h)  # ∂x_row/∂x: the fixed part's derivative
    slope = (eta_p - eta_m) / (2 * h)  # dη/dx, a random slope's b_j included
    d1 = inverse_link_derivative(res.link, eta)
    # dμ'/dη by a central difference of the inverse link's derivative
    e = 1e-5
    d2 = (inverse_link_derivative(res.link, eta + e) - inverse_link_derivative(res.link,
                                                                               eta - e)) / (2 * e)
    ame = float(np.mean(d1 * slope))
    grad = (X0 * (d2 * slope)[:, None] + dX * d1[:, None]).mean(axis=0)
    se = float(np.sqrt(grad @ res.vcov.to_numpy() @ grad))
    zc = stats.norm.ppf(0.5 + level / 2)
    zval = ame / se if se > 0 else np.nan
    return pd.Series({"estimate": ame, "std_error": se, "z": zval,
                      "p": float(2 * stats.norm.sf(abs(zval))), "lower": ame - zc * se,
                      "upper": ame + zc * se}, name=f"AME({of})")


ADJUST = ("tukey", "holm", "bonferroni", "none")


def adjust_pvalues(z: np.ndarray, method: str, n_means: int) -> np.ndarray:
    """Two-sided p-values of z statistics, adjusted for the family of pairwise comparisons."""
    raw = 2 * stats.norm.sf(np.abs(z))
    if method == "none":
        return raw
    if method == "bonferroni":
        return np.minimum(1.0, raw * raw.size)
    if method == "holm":
        order = np.argsort(raw)
        adj = np.empty_like(raw)
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, (raw.size - rank) * raw[i])
            adj[i] = min(1.0, running)
        return adj
    if method == "tukey":  # asymptotic df: the studentized range with infinite df
        return stats.studentized_range.sf(np.abs(z) * np.sqrt(2), n_means, np.inf)
    raise ValueError(f"adjust must be one of {ADJUST}, not {method!r}.")


def pairwise(res: GLMMResult, specs: Any, by: Any = None, at: dict | None = None,
             adjust: str = "tukey", type: str = "link", level: float = 0.95) -> pd.DataFrame:
    """emmeans' ``pairs()`` of the marginal means (asymptotic z tests).

    ``type="link"``: differences on the link scale ("a - b"); ``"response"``: for log and
    logit links the ratios exp(difference) ("a / b": odds or rate ratios, SE by the delta
    method, the same z and p), otherwise differences of the back-transformed means;
    ``"difference"``: differences of the means on the response scale (emmeans'
    ``regrid``).  ``adjust``: tukey, holm, bonferroni or none (within each ``by`` group).
    """
    if type not in ("link", "response", "difference"):
        raise ValueError(f"type must be 'link', 'response' or 'difference', not {type!r}.")
    if adjust not in ADJUST:
        raise ValueError(f"adjust must be one of {ADJUST}, not {adjust!r}.")
    from .effects import RATIO_NAMES

    spec_keys, by_keys = _as_list(specs), _as_list(by)
    grid = reference_grid(res, at)
    X = matrices(res, grid, include_re=False).X
    keys = spec_keys + by_keys
    groups = grid[keys].astype(object).apply(tuple, axis=1)
    order = list(dict.fromkeys(groups))
    L = np.array([X[(groups == g).to_numpy()].mean(axis=0) for g in order])
    offset = float(res.design.offset.mean()) if res.design.offset is not None else 0.0
    beta, V = res.fixef.to_numpy(), res.vcov.to_numpy()
    eta = L @ beta + offset
    ratio = type == "response" and res.link in ("log", "logit")
    diff_scale = type == "difference" or (type == "response" and not ratio)
    rows = []
    by_values = list(dict.fromkeys(g[len(spec_keys):] for g in order))
    for bv in by_values:
        members = [i for i, g in enumerate(order) if g[len(spec_keys):] == bv]
        block = []
        for a_pos, i in enumerate(members):
            for j in members[a_pos + 1:]:
                name_i = " ".join(str(v) for v in order[i][:len(spec_keys)])
                name_j = " ".join(str(v) for v in order[j][:len(spec_keys)])
                if diff_scale:
                    d1 = inverse_link_derivative(res.link, eta[[i, j]])
                    grad = d1[0] * L[i] - d1[1] * L[j]
                    est = float(inverse_link(res.link, eta[i]) - inverse_link(res.link, eta[j]))
                    se = float(np.sqrt(grad @ V @ grad))
                    z = est / se
                else:
                    dL = L[i] - L[j]
                    est = float(dL @ beta)
                    se = float(np.sqrt(dL @ V @ dL))
                    z = est / se
                    if ratio:
                        est, se = float(np.exp(est)), float(np.exp(est) * se)
                sep = " / " if ratio else " - "
                row = {"contrast": _spec_label(spec_keys, name_i, name_j, sep),
                       **dict(zip(by_keys, bv, strict=True)),
                       "estimate": est, "std_error": se, "df": np.inf, "z": z}
                block.append(row)
        p = adjust_pvalues(np.array([r["z"] for r in block]), adjust, len(members))
        for row, pv in zip(block, p, strict=True):
            row["p"] = float(pv)
        rows += block
    out = pd.DataFrame(rows, columns=["contrast", *by_keys, "estimate", "std_error", "df", "z",
                                      "p"])
    out.attrs.update(type=type, adjust=adjust, level=level,
                     kind=RATIO_NAMES.get(res.link) if ratio else "difference")
    return out


def _spec_label(keys: list[str], a: str, b: str, sep: str) -> str:
    """emmeans' contrast labels: the level names, prefixed by the variable for one numeric
    or single-factor spec as emmeans writes them (``period1 - period2``)."""
    if len(keys) == 1:
        return f"{keys[0]}{a}{sep}{keys[0]}{b}" if _numeric_like(a) else f"{a}{sep}{b}"
    return f"{a}{sep}{b}"


def _numeric_like(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

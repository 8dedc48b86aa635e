"""Parts of the explorer state computed once in Python: diagnostics and model summaries.

``diagnostics_block`` builds ``state.diagnostics`` (schema in ``js/STATE.md``) for the
explorer's Diagnostics panel: per-cluster influence of the explorer's grouping factor
(Cook's distance, covratio, leverage and the 4/G flag from ``res.influence``), a seeded
sample of conditional residuals against fitted values, normal QQ data of each random effect
with a pointwise envelope, and ``res.check()`` findings.  The summary helpers (Satterthwaite
parts, ICC/R², reliability, random-slope ranges) live here too so ``explorer_state`` stays
about assembling the state.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

_SIG_DIGITS = 8  # per-cluster arrays: plenty for plotting, keeps 1,000-cluster states small
MAX_RESIDUAL_POINTS = 2000  # residual-vs-fitted points shipped to the browser
MAX_QQ_POINTS = 2000  # QQ points per random effect (both tails kept whole)
_PLOT_DIGITS = 4  # residual and QQ points only feed scatter plots: 4 significant digits
EXACT_MAX_CLUSTERS = 300  # exact refits (θ re-estimated) up to this many clusters
# With several random-effect terms the one-step update is a refactorization per cluster (no
# vectorized path), so the explorer computes it only up to this many clusters.
ONE_STEP_MAX_CLUSTERS_MULTI = 1000


# ---------------------------------------------------------------------------------------
# number formatting shared with explorer_state
def _compact(values: Any, digits: int = _SIG_DIGITS) -> list:
    """Floats rounded to `digits` significant digits; NaN/inf become None (valid JSON)."""
    out = []
    for v in np.asarray(values, dtype=float).ravel():
        out.append(float(f"{v:.{digits}g}") if math.isfinite(v) else None)
    return out


def _full(values: Any) -> Any:
    """Full-precision nested lists (fixed effects and covariances must match Python exactly);
    NaN/inf become None so the state is strict JSON."""
    arr = np.asarray(values, dtype=float)
    if np.isfinite(arr).all():
        return arr.tolist()
    obj = arr.astype(object)
    obj[~np.isfinite(arr)] = None
    return obj.tolist()


def _term_index(res: Any, group: str) -> list[int]:
    return [k for k, term in enumerate(res.design.terms) if term.group == group]


# ---------------------------------------------------------------------------------------
# model summaries
def _satterthwaite(res: Any) -> dict | None:
    try:
        from ..inference import satterthwaite_parts
    except ImportError:
        return None
    try:
        grad, cov = satterthwaite_parts(res)
    except Exception:  # noqa: BLE001 - the explorer falls back to residual df, says so in STATE
        return None
    return {"vcov_grad": _full(grad), "varpar_cov": _full(cov)}


def _optional(res: Any, method: str, *args: Any) -> Any:
    """Call an interpretation helper if it exists and works; None otherwise."""
    fn = getattr(res, method, None)
    if fn is None:
        return None
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - optional summary; the panel hides what is missing
        return None


def _reliability(res: Any, group: str, tau: np.ndarray, terms: list[str]) -> dict | None:
    """Mean reliability of each term's OLS estimate (Raudenbush & Bryk).

    λ_qj = τ_qq / (τ_qq + Δ_j,qq) with Δ_j = σ² (Z_j' Z_j)^{-1}; clusters whose Z_j' Z_j is
    singular (too few observations for the term) are left out. Uses ``res.reliability``
    when the effects module provides it.
    """
    table = _optional(res, "reliability", group)
    if isinstance(table, pd.DataFrame) and "(mean)" in table.index:
        row = table.loc["(mean)"]
        found = {t: float(row[t]) for t in terms if t in row.index and math.isfinite(row[t])}
        if found:
            return found
    if isinstance(table, pd.Series) and len(table):
        return {str(k): float(v) for k, v in table.items() if str(k) in terms}
    ks = _term_index(res, group)
    Z = np.hstack([res.design.terms[k].Z for k in ks])
    codes = res.design.terms[ks[0]].codes
    G = res.ngroups[group]
    ZtZ = np.zeros((G, Z.shape[1], Z.shape[1]))
    np.add.at(ZtZ, codes, Z[:, :, None] * Z[:, None, :])
    s2 = res.sigma**2
    rel = np.full((G, len(terms)), np.nan)
    for j in range(G):
        if np.linalg.matrix_rank(ZtZ[j]) < len(terms):
            continue
        delta = s2 * np.diag(np.linalg.inv(ZtZ[j]))
        rel[j] = np.diag(tau) / (np.diag(tau) + delta)
    with np.errstate(invalid="ignore"):
        means = np.nanmean(rel, axis=0) if np.isfinite(rel).any() else None
    if means is None:
        return None
    return {t: float(v) for t, v in zip(terms, means, strict=True) if math.isfinite(v)}


def _slope_ranges(res: Any) -> list[dict]:
    """Fixed effect ± 1.96 SD for every random term with a matching fixed effect."""
    table = _optional(res, "random_slope_ranges")
    rows = []
    if isinstance(table, pd.DataFrame) and {"lower", "upper"} <= set(table.columns):
        for _, r in table.reset_index().iterrows():
            rows.append({
                "group": str(r.get("group", "")), "term": str(r.get("term", r.iloc[0])),
                "estimate": float(r.get("estimate", r.get("fixed", np.nan))),
                "sd": float(r.get("sd", np.nan)),
                "lower": float(r["lower"]), "upper": float(r["upper"]),
                "share_opposite_sign": _finite_or_none(r.get("share_opposite_sign")),
            })
        return rows
    z = 1.959963984540054
    for group in res.ngroups:
        tau = res.tau(group)
        for term in tau.index:
            if term not in res.fixef.index:
                continue
            sd = math.sqrt(max(float(tau.loc[term, term]), 0.0))
            est = float(res.fixef[term])
            rows.append({"group": group, "term": term, "estimate": est, "sd": sd,
                         "lower": est - z * sd, "upper": est + z * sd,
                         # P(cluster coefficient has the other sign) under normal effects
                         "share_opposite_sign": _norm_cdf(-abs(est) / sd) if sd > 0 else 0.0})
    return rows


def _norm_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


def _finite_or_none(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _series(obj: Any, keys: tuple[str, ...]) -> dict | None:
    if isinstance(obj, pd.Series) and all(k in obj.index for k in keys):
        return {k: float(obj[k]) for k in keys}
    return None




# ---------------------------------------------------------------------------------------
# state.diagnostics
def _influence(res: Any, group: str) -> dict:
    """Per-cluster influence of ``group``: exact refits when cheap and well defined.

    Exact (θ re-estimated without each cluster, as lme4's ``influence()``) when the model has
    a single grouping factor and at most ``EXACT_MAX_CLUSTERS`` clusters; otherwise the
    one-step approximation with θ held at θ̂ (``exact=False``).
    """
    from ..diagnostics.influence import group_codes

    codes, levels = group_codes(res, group)
    G = len(levels)
    # ids and n are always filled: residual points refer to clusters by position in ids.
    empty = {"ids": [str(v) for v in levels],
             "n": [int(c) for c in np.bincount(codes, minlength=G)],
             "cooks": [None] * G, "covratio": [None] * G, "leverage": [None] * G,
             "flag": [False] * G, "note": [""] * G}
    exact = len(res.ngroups) == 1 and G <= EXACT_MAX_CLUSTERS
    out: dict[str, Any] = {
        "exact": exact,
        "method": ("exact refits without each cluster (θ re-estimated)" if exact
                   else "one-step approximation (θ held at its estimate)"),
        "cutoff": 4.0 / max(G, 1),
        "cutoff_rule": "4/G",
    }
    if not exact and len(res.design.terms) > 1 and G > ONE_STEP_MAX_CLUSTERS_MULTI:
        out.update(empty, error=(f"influence not computed for the explorer: {G} clusters and "
                                 f"several random-effect terms (one refactorization each); run "
                                 f"res.influence({group!r}, exact=False) to get it"))
        return out
    try:
        table = res.influence(group, exact=exact, progress=False)
    except Exception as exc:  # noqa: BLE001 - the panel says why instead of failing the explorer
        out.update(empty, error=f"influence could not be computed: {exc}")
        return out
    out.update(
        error=None,
        ids=[str(i) for i in table.index],
        n=[int(v) for v in table["n_obs"]],
        # a GLMM's influence table may lack leverage, covratio and notes: left empty
        **{key: (_compact(table[key].to_numpy(dtype=float)) if key in table
                 else [None] * len(table)) for key in ("cooks", "covratio", "leverage")},
        flag=[bool(v) for v in table["flag"]],
        note=[str(v) for v in table["note"]] if "note" in table else [""] * len(table),
    )
    return out


def _residual_sample(res: Any, group: str, seed: int, max_points: int) -> dict:
    """Conditional residuals y − Xγ̂ − Zû against fitted values, a seeded sample of rows
    (a GLMM: Pearson residuals against the fitted means, ``kind`` "pearson").

    Rows drawn by ``numpy.random.default_rng(seed).choice(N, max_points, replace=False)``
    (sorted) when N > ``max_points``; ``cluster`` is each row's index into the influence
    ``ids`` (the levels of ``group``) so selected clusters can be highlighted.
    """
    from ..diagnostics.influence import group_codes

    codes, _ = group_codes(res, group)
    fitted = res.fitted().to_numpy(dtype=float)
    # a GLMM: Pearson residuals (SD 1 under the model) against fitted means
    kind = "pearson" if getattr(res, "is_glmm", False) else "conditional"
    resid = res.residuals(kind).to_numpy(dtype=float)
    N = fitted.size
    sampled = N > max_points
    keep = (np.sort(np.random.default_rng(seed).choice(N, size=max_points, replace=False))
            if sampled else np.arange(N))
    return {
        "kind": kind, "fitted": _compact(fitted[keep], _PLOT_DIGITS),
        "residual": _compact(resid[keep], _PLOT_DIGITS), "cluster": [int(c) for c in codes[keep]],
        "sigma": float(res.sigma), "sampled": bool(sampled), "total": int(N),
        "seed": int(seed) if sampled else None, "max_points": int(max_points),
    }


def qq_rows(n: int, max_points: int | None) -> np.ndarray:
    """Order statistics kept: all when n ≤ max_points (or no limit), else both tails whole
    and a thinned middle."""
    if max_points is None or n <= max_points:
        return np.arange(n)
    tail = max_points // 10
    middle = np.linspace(tail, n - tail - 1, max_points - 2 * tail).round().astype(int)
    return np.unique(np.concatenate([np.arange(tail), middle, np.arange(n - tail, n)]))


def qq_envelope(
    values: np.ndarray, level: float = 0.95, max_points: int | None = None
) -> dict[str, np.ndarray]:
    """Normal QQ data of ``values``: standardized (mean 0, SD 1) and sorted, with theoretical
    quantiles Φ⁻¹((i − ½)/n) and the pointwise ``level`` envelope Φ⁻¹(Beta(i, n − i + 1)
    quantiles), the exact limit of a simulation envelope.  With ``max_points``, only the
    order statistics of :func:`qq_rows` are returned (and computed).

    The one implementation behind the explorer and ``diagnostic_charts.qq_frame``; it lives
    here because that module imports Altair, which would add about a second to opening the
    explorer.
    """
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = v.size
    sd = v.std(ddof=1) if n > 1 else 1.0
    z = np.sort((v - v.mean()) / (sd if sd > 0 else 1.0))
    rows = qq_rows(n, max_points)
    i = rows + 1
    a = (1 - level) / 2
    return {
        "theoretical": stats.norm.ppf((i - 0.5) / n), "sample": z[rows],
        "lower": stats.norm.ppf(stats.beta.ppf(a, i, n - i + 1)),
        "upper": stats.norm.ppf(stats.beta.ppf(1 - a, i, n - i + 1)),
    }


def _qq(res: Any, group: str, max_points: int, level: float = 0.95) -> dict:
    """QQ data (``qq_envelope``) of each random effect (BLUP column) of ``group``, with the
    level ids in the sorted order."""
    table = res.ranef[group]
    ids = np.asarray([str(i) for i in table.index])
    out = {}
    for col in table.columns:
        values = table[col].to_numpy(dtype=float)
        ok = np.isfinite(values)
        order = np.argsort(values[ok], kind="stable")
        frame = qq_envelope(values[ok], level, max_points)
        rows = qq_rows(int(ok.sum()), max_points)
        out[str(col)] = {"ids": ids[ok][order][rows].tolist()}
        for key in ("theoretical", "sample", "lower", "upper"):
            out[str(col)][key] = _compact(frame[key], _PLOT_DIGITS)
    return {"level": level, "terms": out}


def _checks(res: Any) -> list[dict]:
    findings = _optional(res, "check") or []
    return [{"check": str(f.check), "finding": str(f.finding), "look_at": str(f.look_at),
             "severity": str(f.severity)} for f in findings]


def diagnostics_block(res: Any, group: str, *, seed: int = 0,
                      max_points: int = MAX_RESIDUAL_POINTS,
                      max_qq: int = MAX_QQ_POINTS) -> dict:
    """``state.diagnostics``: influence, residuals vs fitted, random-effect QQ data, checks.

    Parameters
    ----------
    res : MixedModelResult
    group : str
        The explorer's grouping factor (clusters of the influence chart).
    seed : int
        Seed of the residual sample (``numpy.random.default_rng(seed)``).
    max_points : int
        At most this many residual-vs-fitted points.
    max_qq : int
        At most this many QQ points per random effect.
    """
    from ..warehouse.rows import origin_of

    if origin_of(res) is not None:  # rows in a database: a sample of them, no refits
        from ..warehouse.explorer import influence_unavailable, residual_points

        points = residual_points(res, group, seed, max_points)
        points["fitted"] = _compact(points["fitted"], _PLOT_DIGITS)
        points["residual"] = _compact(points["residual"], _PLOT_DIGITS)
        points["cluster"] = [int(c) for c in points["cluster"]]
        return {"group": group, "influence": influence_unavailable(res, group),
                "residuals": points, "qq": _qq(res, group, max_qq), "checks": _checks(res)}
    return {
        "group": group,
        "influence": _influence(res, group),
        "residuals": _residual_sample(res, group, seed, max_points),
        "qq": _qq(res, group, max_qq),
        "checks": _checks(res),
    }

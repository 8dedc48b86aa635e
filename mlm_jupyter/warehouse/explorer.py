"""The explorer's per-variable and per-cluster values, computed in the database.

The explorer draws each cluster's fitted line over the cluster's own range of the
predictor and places clusters by their means, so it needs, per cluster, the count and
the minimum, maximum and mean of every variable in the model's monomials; and, over all
rows, each variable's range, mean, SD and whether it is binary.  One ``GROUP BY`` over the
explorer's grouping factor and one global aggregate give them all (the same dictionary
that :func:`mlm_jupyter.display.explorer_state._row_stats` computes from rows).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .plan import FRAME, frame_sql
from .rows import origin_of
from .summaries import column_moments

__all__ = ["cluster_stats"]


def _variable_exprs(res: Any, names: set[str]) -> dict[str, str]:
    """SQL of every candidate variable: a numeric data column, else a model-matrix column."""
    origin = origin_of(res)
    plan = origin.plan
    d = origin.source.dialect
    columns: dict[str, str] = {}
    for part in (plan.fixed, *plan.random):
        for name, expr in zip(part.names, part.exprs, strict=True):
            if expr is not None:
                columns.setdefault(name, expr)
    out = {}
    for name in names:
        kind = plan.kinds.get(name)
        if kind == "numeric":
            out[name] = d.quote(name)
        elif kind == "bool":
            out[name] = f"(CASE WHEN {d.quote(name)} THEN 1.0 ELSE 0.0 END)"
        elif name in columns:
            out[name] = columns[name]
    return out


def _factor_columns(res: Any, names: set[str]) -> dict[str, dict]:
    """Text columns whose treatment dummies the model uses (as ``_factors``)."""
    origin = origin_of(res)
    plan = origin.plan
    out: dict[str, dict] = {}
    for spec in (res.design.fixed_model_spec, *(t.model_spec for t in res.design.terms)):
        for info in spec.variables:
            col = info.name
            if info.levels is None or plan.kinds.get(col) != "factor" or col in out:
                continue
            levels = list(info.levels)
            dummies = {f"{col}{lv}": lv for lv in levels if f"{col}{lv}" in names}
            if dummies and len(dummies) < len(levels):
                reference = next(lv for lv in levels if f"{col}{lv}" not in dummies)
                out[col] = {"levels": levels, "reference": reference, "dummies": dummies}
    return out


def cluster_stats(res: Any, group: str, ks: list[int], names: set[str]) -> dict[str, Any]:
    """The explorer's statistics for ``group`` (design terms ``ks``) from the database."""
    origin = origin_of(res)
    plan, source = origin.plan, origin.source
    d = source.dialect
    term = res.design.terms[ks[0]]
    G = term.n_levels
    exprs = _variable_exprs(res, names)
    factors = _factor_columns(res, names)
    for col, fac in factors.items():
        for dummy, level in fac["dummies"].items():
            exprs[dummy] = (f"(CASE WHEN {d.quote(col)} = {d.literal(level)} THEN 1.0 "
                            "ELSE 0.0 END)")
    order = sorted(exprs)
    keys = [d.quote(c) for c in term.group_columns]
    items = [f"{k} AS k{j}" for j, k in enumerate(keys)] + ["COUNT(*) AS n"]
    for i, name in enumerate(order):
        e = exprs[name]
        items += [f"MIN({e}) AS lo{i}", f"MAX({e}) AS hi{i}", f"SUM({e}) AS s{i}"]
    fcols = list(factors)
    for i, col in enumerate(fcols):
        items += [f"COUNT(DISTINCT {d.quote(col)}) AS fd{i}", f"MIN({d.quote(col)}) AS ff{i}"]
    head = frame_sql(plan)
    got = source.run(f"{head}SELECT {', '.join(items)} FROM {FRAME} GROUP BY {', '.join(keys)}")
    level = _level_index(origin, ks[0], term, got)
    counts = np.zeros(G)
    counts[level] = got["n"].astype(float)

    def per_cluster(values: np.ndarray, fill: float) -> np.ndarray:
        out = np.full(G, fill)
        out[level] = values.astype(float)
        return out

    glob = ["COUNT(*) AS n"]
    for i, name in enumerate(order):
        e = exprs[name]
        glob += [f"AVG({e}) AS m{i}", f"STDDEV_SAMP({e}) AS sd{i}",
                 f"approx_count_distinct({e}) AS u{i}"]
    tot = source.run(f"{head}SELECT {', '.join(glob)} FROM {FRAME}")
    variables, means, lows, highs = {}, {}, {}, {}
    for i, name in enumerate(order):
        lo, hi = per_cluster(got[f"lo{i}"], np.inf), per_cluster(got[f"hi{i}"], -np.inf)
        cmean = per_cluster(got[f"s{i}"], 0.0) / np.maximum(counts, 1)
        means[name], lows[name], highs[name] = cmean, lo, hi
        vmin, vmax = float(lo.min()), float(hi.max())
        scale = max(abs(vmin), abs(vmax), 1e-300)
        is_level2 = bool(np.all((hi - lo)[counts > 0] <= 1e-9 * scale))
        sd = tot[f"sd{i}"][0]
        info: dict[str, Any] = {"level": 2 if is_level2 else 1, "min": vmin, "max": vmax,
                                "mean": float(tot[f"m{i}"][0]),
                                "sd": float(sd) if sd is not None and np.isfinite(sd) else 0.0}
        if int(tot[f"u{i}"][0]) == 2 and vmin != vmax:
            info.update(kind="binary", values=[vmin, vmax])
        else:
            info["kind"] = "continuous"
            base = cmean[counts > 0] if is_level2 else None
            if base is not None:
                m, s = float(base.mean()), float(base.std(ddof=1)) if len(base) > 1 else 0.0
            else:
                m, s = info["mean"], info["sd"]
            ticks: list[dict[str, Any]] = [
                {"value": m - s, "label": "−1 SD"}, {"value": m, "label": "mean"},
                {"value": m + s, "label": "+1 SD"}]
            info["ticks"] = [t for t in ticks if vmin <= t["value"] <= vmax]
        variables[name] = info
    factor_first = {}
    for i, col in enumerate(fcols):
        distinct = per_cluster(got[f"fd{i}"], 0.0)
        factors[col]["level"] = 2 if int(distinct.max()) == 1 else 1
        first = np.full(G, "", dtype=object)
        first[level] = [str(v) for v in got[f"ff{i}"]]
        factor_first[col] = list(first)
    held_fixed = column_moments(origin.cells, origin.fixed_exprs)[0]
    z = [e for k in ks for e in origin.z_exprs[k]]
    held_random = column_moments(origin.cells, tuple(z))[0]
    return {
        "variables": variables, "factors": factors, "counts": counts.astype(int),
        "cluster_means": means, "cluster_min": lows, "cluster_max": highs,
        "factor_first": factor_first,
        "held_fixed": [float(v) for v in held_fixed],
        "held_random": [float(v) for v in held_random],
    }


def _level_index(origin: Any, k: int, term: Any, got: dict) -> np.ndarray:
    """The design level of every row of a per-cluster query (keyed by the raw group values)."""
    codes = origin.cell_levels[k]
    cols = term.group_columns
    levels, first = np.unique(codes, return_index=True)
    lookup = {tuple(_key(origin.cells.keys[c][i]) for c in cols): lv
              for lv, i in zip(levels, first, strict=True)}
    n = len(got["n"])
    return np.array([lookup[tuple(_key(got[f"k{j}"][r]) for j in range(len(cols)))]
                     for r in range(n)], dtype=np.int64)


def _key(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def influence_unavailable(res: Any, group: str) -> dict:
    """The explorer's influence block for a warehouse fit: cluster ids and sizes, and why
    the deletion statistics are not there (each needs its cluster's rows)."""
    from .effects import cluster_counts

    term = next(t for t in res.design.terms if t.group == group)
    G = term.n_levels
    counts = cluster_counts(res, group)
    return {"exact": False, "method": "not computed", "cutoff": 4.0 / max(G, 1),
            "cutoff_rule": "4/G", "ids": [str(v) for v in term.levels],
            "n": [int(c) for c in counts], "cooks": [None] * G, "covratio": [None] * G,
            "leverage": [None] * G, "flag": [False] * G, "note": [""] * G,
            "error": ("influence not computed: the rows stay in "
                      f"{origin_of(res).source.label}, and deletion statistics need them")}


def residual_points(res: Any, group: str, seed: int, max_points: int) -> dict[str, Any]:
    """Residuals against fitted values for a seeded random sample of rows (in the database),
    with each row's cluster as an index into the influence ids."""
    from .rowwise import sample_residuals

    origin = origin_of(res)
    k = next(i for i, t in enumerate(res.design.terms) if t.group == group)
    term = res.design.terms[k]
    n = int(min(max_points, res.nobs))
    sample = sample_residuals(res, n=n, seed=seed)
    got = {f"k{j}": sample[c].to_numpy() for j, c in enumerate(term.group_columns)}
    got["n"] = np.zeros(len(sample))
    cluster = _level_index(origin, k, term, got)
    return {"kind": "conditional", "fitted": sample["fitted"].to_numpy(float),
            "residual": sample["residual"].to_numpy(float), "cluster": cluster,
            "sigma": float(res.sigma), "sampled": bool(res.nobs > n), "total": int(res.nobs),
            "seed": int(seed), "max_points": int(max_points)}

"""Build the explorer's compact, JSON-able state from a fitted model.

The state (schema in ``js/STATE.md``) is everything the browser needs to recompute simple
slopes, confidence bands, Satterthwaite df, Johnson-Neyman regions and cluster views with no
kernel: fixed effects γ with Var(γ̂), the derivative of Var(γ̂) with respect to the variance
parameters (for Satterthwaite df), Tau, σ, BLUPs with conditional SDs and per-cluster values.
Its size grows with the number of clusters only (not with N); beyond ``max_clusters`` the
cluster views get a seeded random sample.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..naming import split_interaction
from .explorer_diagnostics import (
    _compact,
    _full,
    _optional,
    _reliability,
    _satterthwaite,
    _series,
    _slope_ranges,
    _term_index,
    diagnostics_block,
)

STATE_VERSION = 1
MAX_CLUSTERS = 3000
SAMPLE_SEED = 0
_POWER = re.compile(r"^I\(\s*([A-Za-z_.][\w.]*)\s*\^\s*(\d+)\s*\)$")


# ---------------------------------------------------------------------------------------
# column names -> monomials
def split_column(name: str) -> list[str]:
    """Split an R model-matrix column name on ``:`` outside brackets and parentheses."""
    return split_interaction(name)


def monomial(name: str, known: set[str]) -> dict[str, int] | None:
    """A column as a product of variables: ``"cses:catholic"`` -> ``{"cses": 1, "catholic": 1}``.

    ``(Intercept)`` is the empty product; ``I(x^2)`` is ``{"x": 2}``. Returns None (an
    *opaque* column, held at its mean in the browser) when a factor is not a known variable.
    """
    if name == "(Intercept)":
        return {}
    out: dict[str, int] = {}
    for part in split_column(name):
        match = _POWER.match(part)
        var, power = (match.group(1), int(match.group(2))) if match else (part, 1)
        if var not in known:
            return None
        out[var] = out.get(var, 0) + power
    return out


# ---------------------------------------------------------------------------------------
# helpers
def _corr(cov: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(sd, sd)
    corr[~np.isfinite(corr)] = 0.0
    np.fill_diagonal(corr, 1.0)
    return corr


def choose_group(res: Any, group: str | None = None) -> str:
    """The grouping factor the explorer shows: ``group``, else the first with a random slope."""
    groups = list(res.ngroups)
    if group is not None:
        if group not in groups:
            raise ValueError(
                f"'{group}' is not a grouping factor of this model; choose one of {groups}."
            )
        return group
    for g in groups:
        if sum(res.design.terms[k].q for k in _term_index(res, g)) > 1:
            return g
    return groups[0]


def _variable_values(res: Any, names: set[str]) -> dict[str, np.ndarray]:
    """Per-observation values of every variable named in a monomial.

    A data column if numeric (bools as 0/1), else a model-matrix column of that exact name
    (factor dummies such as ``sectorCatholic``, transforms such as ``cwc(ses, school)``),
    else a random-effects design column.
    """
    data = res.data
    X = res.design.X
    fixed = list(res.design.fixed_names)
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name in data.columns and (
            pd.api.types.is_numeric_dtype(data[name]) or pd.api.types.is_bool_dtype(data[name])
        ):
            out[name] = data[name].to_numpy(dtype=float)
        elif name in fixed:
            out[name] = X[:, fixed.index(name)].astype(float)
        else:
            for term in res.design.terms:
                if name in term.columns:
                    out[name] = term.Z[:, term.columns.index(name)].astype(float)
                    break
    return out


def _factors(res: Any, names: set[str]) -> dict[str, dict]:
    """Non-numeric data columns whose treatment dummies (R names ``intakemid``) are used.

    Returns ``{column: {"levels", "reference", "dummies": {dummy: level}}}`` so the browser
    can offer one control per factor instead of one toggle per dummy.
    """
    data = res.data
    out: dict[str, dict] = {}
    for col in data.columns:
        series = data[col]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        if isinstance(series.dtype, pd.CategoricalDtype):
            levels = [str(c) for c in series.cat.remove_unused_categories().cat.categories]
        else:
            levels = sorted(str(v) for v in series.dropna().unique())
        dummies = {f"{col}{lv}": lv for lv in levels if f"{col}{lv}" in names}
        if dummies and len(dummies) < len(levels):
            reference = next(lv for lv in levels if f"{col}{lv}" not in dummies)
            out[str(col)] = {"levels": levels, "reference": reference, "dummies": dummies}
    return out


def _candidate_names(columns: list[str]) -> set[str]:
    names: set[str] = set()
    for col in columns:
        if col == "(Intercept)":
            continue
        for part in split_column(col):
            match = _POWER.match(part)
            names.add(match.group(1) if match else part)
    return names


def _describe(values: np.ndarray, codes: np.ndarray, n_levels: int, in_fixed: bool) -> dict:
    """Kind, level, range, mean, SD and slider ticks of one variable."""
    finite = values[np.isfinite(values)]
    uniq = np.unique(finite)
    sums = np.bincount(codes, weights=values, minlength=n_levels)
    counts = np.bincount(codes, minlength=n_levels)
    cluster_mean = sums / np.maximum(counts, 1)
    spread = np.abs(values - cluster_mean[codes]).max() if len(values) else 0.0
    scale = max(float(np.abs(finite).max()) if len(finite) else 1.0, 1e-300)
    level = 2 if spread <= 1e-9 * scale else 1
    info: dict[str, Any] = {
        "level": level,
        "in_fixed": in_fixed,
        "min": float(finite.min()),
        "max": float(finite.max()),
        "mean": float(finite.mean()),
        "sd": float(finite.std(ddof=1)) if len(finite) > 1 else 0.0,
    }
    if len(uniq) == 2:
        info.update(kind="binary", values=[float(uniq[0]), float(uniq[1])])
        return info
    info["kind"] = "continuous"
    # Level-2 variables: ticks from the distribution across clusters (the usual choice
    # for a cross-level moderator); level-1: across observations.
    base = cluster_mean[counts > 0] if level == 2 else finite
    m, s = float(base.mean()), float(base.std(ddof=1)) if len(base) > 1 else 0.0
    ticks = [{"value": m - s, "label": "−1 SD"}, {"value": m, "label": "mean"},
             {"value": m + s, "label": "+1 SD"}]
    info["ticks"] = [t for t in ticks if info["min"] <= t["value"] <= info["max"]]
    return info


def _row_stats(res: Any, blocks: list, names: set[str]) -> dict[str, Any]:
    """Per-variable descriptions and per-cluster values from the rows in memory.

    Keys: ``variables`` (name -> :func:`_describe` without ``in_fixed``), ``factors``
    (:func:`_factors` with each factor's ``level``), ``counts`` (rows per cluster),
    ``cluster_means``/``cluster_min``/``cluster_max`` (name -> per-cluster array),
    ``factor_first`` (a level-2 factor's label per cluster), ``held_fixed`` and
    ``held_random`` (means of the X and Z columns).
    """
    codes = blocks[0].codes
    G = len(blocks[0].levels)
    values = _variable_values(res, names)
    factors = _factors(res, names)
    for col, info in factors.items():
        labels = res.data[col].astype(str).to_numpy()
        for dummy, level in info["dummies"].items():
            values[dummy] = (labels == level).astype(float)
    factor_first = {}
    for col, info in factors.items():
        codes_col = res.data[col].astype(str).to_numpy()
        per_cluster = pd.Series(codes_col).groupby(codes).nunique()
        info["level"] = 2 if int(per_cluster.max()) == 1 else 1
        first = pd.Series(codes_col).groupby(codes).first()
        factor_first[col] = [str(first.get(i, "")) for i in range(G)]
    counts = np.bincount(codes, minlength=G)
    means, lows, highs = {}, {}, {}
    for name, v in values.items():
        means[name] = np.bincount(codes, weights=v, minlength=G) / np.maximum(counts, 1)
        lo = np.full(G, np.inf)
        hi = np.full(G, -np.inf)
        np.minimum.at(lo, codes, v)
        np.maximum.at(hi, codes, v)
        lows[name], highs[name] = lo, hi
    X = res.design.X
    Z = np.hstack([b.Z for b in blocks])
    variables = {}
    for name, vals in values.items():
        info = _describe(vals, codes, G, False)
        info.pop("in_fixed")
        variables[name] = info
    return {
        "variables": variables, "factors": factors, "counts": counts,
        "cluster_means": means, "cluster_min": lows, "cluster_max": highs,
        "factor_first": factor_first,
        "held_fixed": [float(X[:, j].mean()) for j in range(X.shape[1])],
        "held_random": [float(Z[:, j].mean()) for j in range(Z.shape[1])],
    }


# ---------------------------------------------------------------------------------------
def build_state(
    res: Any,
    group: str | None = None,
    *,
    max_clusters: int = MAX_CLUSTERS,
    seed: int = SAMPLE_SEED,
    selected: list[str] | tuple[str, ...] = (),
    initial: dict | None = None,
    diagnostics: bool = True,
) -> dict:
    """The explorer state of a fitted model (schema version 1, see ``js/STATE.md``).

    Parameters
    ----------
    res : MixedModelResult or GLMMResult
        A GLMM's state adds ``state.glmm`` (:mod:`.explorer_glmm`): the browser then draws
        the response scale.
    group : str, optional
        Grouping factor for the cluster views; default the first with a random slope.
    max_clusters : int
        Above this many clusters the cluster views show a random sample of this size
        drawn with ``numpy.random.default_rng(seed)`` (selected clusters always kept).
    seed : int
    selected : sequence of str
        Cluster ids to keep in a sample.
    initial : dict, optional
        ``{"tab", "predictor", "at"}``: what the explorer shows first.
    diagnostics : bool
        Add ``state.diagnostics`` (influence, residuals, QQ data, checks; see
        ``explorer_diagnostics.diagnostics_block``) for the Diagnostics panel.
    """
    group = choose_group(res, group)
    ks = _term_index(res, group)
    blocks = [res.design.terms[k] for k in ks]
    levels = [str(lv) for lv in blocks[0].levels]
    G = len(levels)
    fixed_names = [str(n) for n in res.fixef.index]
    tau_df = res.tau(group)
    rterms = [str(t) for t in tau_df.index]
    tau = tau_df.to_numpy(dtype=float)

    names = _candidate_names(fixed_names) | _candidate_names(rterms)
    from ..warehouse.rows import origin_of

    if origin_of(res) is not None:  # rows in a database: per-cluster aggregates from there
        from ..warehouse.explorer import cluster_stats

        stats = cluster_stats(res, group, ks, names)
    else:
        stats = _row_stats(res, blocks, names)
    factors = stats["factors"]
    known = set(stats["variables"])
    fixed_mono = [monomial(n, known) for n in fixed_names]
    random_mono = [monomial(n, known) for n in rterms]
    in_fixed = {v for mono in fixed_mono if mono for v in mono}
    variables = {
        name: {"level": info["level"], "in_fixed": name in in_fixed,
               **{k: v for k, v in info.items() if k != "level"}}
        for name, info in sorted(stats["variables"].items())
    }
    # Only keep variables that some monomial actually uses.
    used = {v for mono in fixed_mono + random_mono if mono for v in mono}
    variables = {k: v for k, v in variables.items() if k in used}
    dummy_of = {d: col for col, info in factors.items() for d in info["dummies"]}
    for dummy, col in dummy_of.items():
        if dummy in variables:
            variables[dummy]["factor"] = col

    # Predictors: level-1 variables (linear in some fixed column) with a random slope in
    # this group or moderated by another variable.
    random_vars = {v for mono in random_mono if mono and len(mono) == 1 for v in mono}
    predictors = []
    for name, info in variables.items():
        if info["level"] != 1 or not info["in_fixed"] or name in dummy_of:
            continue
        mods: list[str] = []
        linear = False
        for mono in fixed_mono:
            if mono and mono.get(name) == 1:
                linear = True
                for v in mono:
                    v = dummy_of.get(v, v)  # a factor's dummies moderate as one factor
                    if v != name and v not in mods:
                        mods.append(v)
        if not linear:
            continue
        is_random = name in random_vars
        if is_random or mods:
            predictors.append({"name": name, "random": is_random, "moderators": mods})
    if not predictors:  # random-intercept models: let users still look at a level-1 slope
        predictors = [
            {"name": n, "random": False, "moderators": []}
            for n, info in variables.items()
            if info["level"] == 1 and info["in_fixed"] and n not in dummy_of
            and any(m == {n: 1} for m in fixed_mono)
        ]
    predictors.sort(key=lambda p: (not p["random"], not p["moderators"]))

    # Clusters (optionally sampled).
    counts = stats["counts"]
    keep = np.arange(G)
    sampled = G > max_clusters
    if sampled:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(G, size=max_clusters, replace=False))
        wanted = {str(s) for s in selected}
        extra = [i for i, lv in enumerate(levels) if lv in wanted and i not in set(keep)]
        keep = np.sort(np.concatenate([keep, np.asarray(extra, dtype=int)]))
    ranef = res.ranef[group].reindex(levels)
    ranef_se = res.ranef_se[group].reindex(levels)
    cvars = {name: _compact(stats["cluster_means"][name][keep]) for name in variables}
    cfactors = {col: [str(stats["factor_first"][col][i]) for i in keep]
                for col, info in factors.items() if info["level"] == 2}
    x_min = {p["name"]: _compact(stats["cluster_min"][p["name"]][keep]) for p in predictors}
    x_max = {p["name"]: _compact(stats["cluster_max"][p["name"]][keep]) for p in predictors}

    components = []
    for g in res.ngroups:
        cov = res.tau(g)
        mat = cov.to_numpy(dtype=float)
        components.append({
            "group": g, "terms": [str(t) for t in cov.index],
            "cov": _full(mat), "corr": _full(_corr(mat)),
        })

    sat = _satterthwaite(res)
    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "formula": str(res.formula),
        "response": str(res.spec.response),
        "reml": bool(res.reml),
        "group": group,
        "n_obs": int(res.nobs),
        "n_clusters": int(G),
        "ngroups": {str(k): int(v) for k, v in res.ngroups.items()},
        "fixed": {
            "names": fixed_names,
            "estimate": _full(res.fixef.to_numpy(dtype=float)),
            "vcov": _full(res.vcov.to_numpy(dtype=float)),
            "monomials": fixed_mono,
            "held": stats["held_fixed"],
        },
        "satterthwaite": sat,
        "ddf_residual": int(res.nobs - len(fixed_names)),
        "variables": variables,
        "factors": factors,
        "predictors": predictors,
        "random": {
            "group": group,
            "terms": rterms,
            "monomials": random_mono,
            "held": stats["held_random"],
            "tau": _full(tau),
            "sd": _full(np.sqrt(np.clip(np.diag(tau), 0, None))),
            "corr": _full(_corr(tau)),
        },
        "sigma": float(res.sigma),
        "variance_components": components,
        "icc": _series(_optional(res, "icc"), ("adjusted", "unadjusted")),
        "r2": _series(_optional(res, "r2"), ("marginal", "conditional")),
        "reliability": _reliability(res, group, tau, rterms),
        "slope_ranges": _slope_ranges(res),
        "clusters": {
            "ids": [levels[i] for i in keep],
            "n": [int(c) for c in counts[keep]],
            "ranef": {t: _compact(ranef[t].to_numpy()[keep]) for t in rterms},
            "ranef_se": {t: _compact(ranef_se[t].to_numpy()[keep]) for t in rterms},
            "vars": cvars,
            "factors": cfactors,
            "x_min": x_min,
            "x_max": x_max,
            "sampled": bool(sampled),
            "total": int(G),
            "seed": int(seed) if sampled else None,
            "max_clusters": int(max_clusters),
        },
        "initial": dict(initial or {}),
    }
    if getattr(res, "is_glmm", False):  # response-scale curves, z tests (explorer_glmm)
        from .explorer_glmm import adapt_state

        state = adapt_state(state, res)
    else:
        from .explorer_predictions import predictions_block

        state["predictions"] = predictions_block(res, state)
    if diagnostics:
        state["diagnostics"] = diagnostics_block(res, group, seed=seed)
    return state

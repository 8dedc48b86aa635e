"""Simple slopes (as emmeans::emtrends with Satterthwaite df) and Johnson-Neyman regions."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..naming import split_interaction

_RESULT_COLUMNS = ["estimate", "std_error", "df", "t", "p", "lower", "upper"]


def _data(res: Any) -> pd.DataFrame:
    """The rows used, or for a fit whose rows stay in a database a stand-in with each
    column's range and levels (:func:`mlm_jupyter.warehouse.effects.reference_frame`)."""
    from ..warehouse.rows import origin_of

    if origin_of(res) is not None:
        from ..warehouse.effects import reference_frame

        return reference_frame(res)
    return res.data


def _as_list(values: Any) -> list:
    if isinstance(values, (str, bytes)) or np.ndim(values) == 0:
        return [values]
    return list(values)


class _SlopeVectors:
    """Builds L with l'γ = ∂(Xγ)/∂`of` at given values of the other variables.

    ``of`` a data column: rows of a small synthetic data frame go through the fit's own
    formula state (factor levels, training centring means), and L is the central difference
    of the two model-matrix rows at ``of`` = x0 ± 1 (exact for terms linear or quadratic in
    ``of``).  Other variables: the value given in ``at``, else 0 for numeric columns, the
    first level for others; grouping columns are set to a training cluster, so
    ``cwc(x, g)`` changes with x while ``cm(x, g)`` stays fixed (the within-cluster slope).

    ``of`` a fixed-effect name (e.g. ``"cwc(ses, school)"``): L_j = product of the other
    factors of column j when ``of`` is one of its factors (numeric ``at`` values, else 0).
    """

    def __init__(self, res: Any, of: str):
        self.res, self.of = res, of
        self.names = list(res.design.fixed_names)
        data = _data(res)
        self.variables = [v for v in res.design.variables if v != res.spec.response]
        if of in self.variables:
            self.mode = "data"
        elif any(of in split_interaction(n) for n in self.names):
            self.mode = "column"
        else:
            raise ValueError(
                f"'{of}' is neither a variable of the model ({self.variables}) nor a "
                f"fixed-effect term ({self.names})."
            )
        if self.mode == "data" and not pd.api.types.is_numeric_dtype(data[of]):
            raise ValueError(f"'{of}' is not numeric; a slope needs a numeric predictor.")
        self.groups = {c for t in res.design.terms for c in t.group_columns}
        self.defaults: dict[str, Any] = {}
        for v in self.variables:
            col = data[v]
            if v in self.groups:
                self.defaults[v] = col.iloc[0]
            elif pd.api.types.is_numeric_dtype(col):
                self.defaults[v] = 0.0
            else:
                self.defaults[v] = sorted(col.dropna().astype(str).unique())[0]

    def checked_vector(self, values: dict[str, Any]) -> np.ndarray:
        """:meth:`vector`, refusing a combination at which ``of`` has no fixed slope."""
        L = self.vector(values)
        if not np.any(L):
            raise ValueError(
                f"'{self.of}' has no fixed slope in this model at {values or 'these values'}."
            )
        return L

    def vector(self, values: dict[str, Any]) -> np.ndarray:
        if self.mode == "column":
            return self._column_vector(values)
        from ..predict import _model_matrix

        row = {**self.defaults, **values}
        x0 = float(row.get(self.of, 0.0))
        frame = pd.DataFrame([row, row])
        frame[self.of] = [x0 - 1.0, x0 + 1.0]
        for v in self.variables:
            if v in _data(self.res).columns and isinstance(
                _data(self.res)[v].dtype, pd.CategoricalDtype
            ):
                frame[v] = pd.Categorical(frame[v], categories=_data(self.res)[v].cat.categories)
        X = _model_matrix(self.res.design.fixed_model_spec, frame, tuple(self.names))
        return (X[1] - X[0]) / 2.0

    def _column_vector(self, values: dict[str, Any]) -> np.ndarray:
        L = np.zeros(len(self.names))
        for j, name in enumerate(self.names):
            parts = split_interaction(name)
            if self.of not in parts:
                continue
            others = list(parts)
            others.remove(self.of)
            weight = float(parts.count(self.of))
            for p in others:
                weight *= float(values.get(p, 0.0))
            L[j] = weight
        return L

    def held(self, at: dict[str, Any]) -> list[str]:
        """Variables not in ``at`` that change the slope, held at their default values."""
        base = self.vector({k: _as_list(v)[0] for k, v in at.items()})
        out = []
        candidates = self.variables if self.mode == "data" else sorted(
            {p for n in self.names for p in split_interaction(n) if p != self.of}
        )
        for v in candidates:
            if v == self.of or v in at or v in self.groups:
                continue
            default = self.defaults.get(v, 0.0)
            if self.mode == "data" and not isinstance(default, float):
                levels = sorted(_data(self.res)[v].dropna().astype(str).unique())
                alternative = levels[-1] if len(levels) > 1 else default
            else:
                default, alternative = 0.0, 1.0
            probe = {**{k: _as_list(w)[0] for k, w in at.items()}, v: alternative}
            if not np.allclose(self.vector(probe), base):
                out.append(f"{v}={default:g}" if isinstance(default, float) else f"{v}={default}")
        return out


def slope_combinations(
    res: Any, of: str, at: dict[str, Any] | None
) -> tuple[list[str], str, list[tuple[dict[str, Any], np.ndarray]]]:
    """Every combination of the ``at`` values with its slope vector L (l'γ is the slope).

    Shared by the REML and the posterior simple slopes.  Returns the ``at`` keys, the
    ``held_at`` text (moderators not given and what they are held at) and
    ``[(values, L), ...]``.

    Raises
    ------
    ValueError
        A key of ``at`` that is not a variable of the model, or a combination at which
        ``of`` has no fixed slope.
    """
    at = dict(at or {})
    builder = _SlopeVectors(res, of)
    unknown = [k for k in at if builder.mode == "data" and k not in builder.variables]
    if unknown:
        raise ValueError(f"{unknown} in `at` are not variables of the model {builder.variables}.")
    held = ", ".join(builder.held(at))
    keys = list(at)
    combinations = []
    for combo in itertools.product(*(_as_list(at[k]) for k in keys)):
        values = dict(zip(keys, combo, strict=True))
        combinations.append((values, builder.checked_vector(values)))
    return keys, held, combinations


def simple_slopes(
    res: Any, of: str, at: dict[str, Any] | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Slope of ``of`` at chosen moderator values, with Satterthwaite tests.

    The simple slope at moderator values w is the linear combination lᵀγ with
    l = ∂x/∂``of`` of the fixed-effects row (e.g. γ10 + γ11·catholic for
    ``cses*catholic``); its test is ``res.contrast(l)`` (t with lmerTest's Satterthwaite
    df for that combination, as emmeans::emtrends with ``lmer.df = "satterthwaite"``).

    Parameters
    ----------
    of : str
        A numeric variable of the data (``"cses"``, or ``"ses"`` inside ``cwc(ses, g)``:
        the slope within a cluster) or a fixed-effect term name (``"cwc(ses, school)"``).
    at : dict, optional
        Moderator values, e.g. ``{"catholic": [0, 1], "meanses": [-0.5, 0.5]}`` (all
        combinations; a factor moderator takes level names).  Moderators not given are
        held at 0 (numeric) or their first level; the ``held_at`` column says which.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        One row per combination: the ``at`` variables, then ``estimate, std_error, df, t,
        p, lower, upper`` and ``held_at``.
    """
    keys, held, combinations = slope_combinations(res, of, at)
    rows = []
    for values, L in combinations:
        test = res.contrast(L, level=level)  # the fit's own test (t with df, or Wald z)
        columns = [c for c in test.index if c in _RESULT_COLUMNS or c == "z"]
        rows.append({**values, **{c: float(test[c]) for c in columns}, "held_at": held})
    out = pd.DataFrame(rows, columns=[*keys, *columns, "held_at"])
    out.attrs.update({"of": of, "level": level, "held_at": held})
    return out


def _critical(df: float, level: float) -> float:
    return float(stats.t.ppf(0.5 + level / 2, df)) if np.isfinite(df) else float(
        stats.norm.ppf(0.5 + level / 2)
    )


def johnson_neyman(res: Any, of: str, moderator: str, level: float = 0.95) -> pd.DataFrame:
    """Moderator values where the simple slope of ``of`` is significant (Johnson-Neyman).

    Method (exact boundaries, not a grid): the slope at moderator value w is
    s(w) = a + b·w with Var s(w) = v00 + 2w·v01 + w²·v11 (from L(w) = L0 + w·L1 and the
    fixed-effects covariance).  A boundary solves s(w)² = c²·Var s(w), a quadratic in w for
    a fixed critical value c = t_{(1+level)/2, ν}.  Because the Satterthwaite df ν(w) of
    s(w) changes with w, each root is iterated to a fixed point: start from the normal
    critical value, solve, take ν at the root, update c, solve again (|Δw| < 1e-10).
    The regions between boundaries are then tested at an interior point.  Other moderators
    are held at 0 / their first level, as in :func:`simple_slopes`.

    Returns
    -------
    DataFrame
        One row per region of the moderator's axis: ``from, to`` (±inf at the ends),
        ``significant`` and ``slope_sign`` (at the region's test point).
        ``attrs["boundaries"]`` holds each boundary with its df and critical t;
        ``attrs["observed_range"]`` the moderator's range in the data.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    builder = _SlopeVectors(res, of)
    if builder.mode == "data" and moderator not in builder.variables:
        raise ValueError(f"'{moderator}' is not a variable of the model {builder.variables}.")
    if builder.mode == "data" and not pd.api.types.is_numeric_dtype(_data(res)[moderator]):
        raise ValueError(f"'{moderator}' is not numeric; Johnson-Neyman needs a numeric moderator.")
    L0, L1 = builder.vector({moderator: 0.0}), builder.vector({moderator: 1.0})
    L1 = L1 - L0
    if not np.allclose(builder.vector({moderator: 2.0}), L0 + 2 * L1):
        raise ValueError(f"the slope of '{of}' is not linear in '{moderator}'.")
    if not np.any(L1):
        raise ValueError(f"'{moderator}' does not moderate the slope of '{of}' in this model.")
    gamma, V = res.fixef.to_numpy(), res.vcov.to_numpy()
    a, b = float(L0 @ gamma), float(L1 @ gamma)
    v00, v01, v11 = float(L0 @ V @ L0), float(L0 @ V @ L1), float(L1 @ V @ L1)

    def roots(c: float) -> list[float]:
        A, B, C = b * b - c * c * v11, 2 * (a * b - c * c * v01), a * a - c * c * v00
        if abs(A) < 1e-14 * max(b * b, c * c * v11):
            return [-C / B] if B != 0 else []
        disc = B * B - 4 * A * C
        if disc < 0:
            return []
        sq = np.sqrt(disc)
        return sorted({(-B - sq) / (2 * A), (-B + sq) / (2 * A)})

    def df_at(w: float) -> float:
        return float(res.contrast(L0 + w * L1, level=level).get("df", np.inf))

    z = _critical(np.inf, level)
    bounds = []
    for w in roots(z):
        for _ in range(100):
            nu = df_at(w)
            candidates = roots(_critical(nu, level))
            if not candidates:
                break
            w_new = min(candidates, key=lambda r: abs(r - w))
            done = abs(w_new - w) < 1e-10 * max(1.0, abs(w))
            w = w_new
            if done:
                break
        nu = df_at(w)
        bounds.append({"value": w, "df": nu, "t_critical": _critical(nu, level)})
    unique = {round(bd["value"], 12): bd for bd in bounds}
    bounds = sorted(unique.values(), key=lambda d: d["value"])
    edges = [-np.inf, *[bd["value"] for bd in bounds], np.inf]
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if np.isfinite(lo) and np.isfinite(hi):
            w = (lo + hi) / 2
        elif np.isfinite(lo):
            w = lo + max(1.0, abs(lo))
        elif np.isfinite(hi):
            w = hi - max(1.0, abs(hi))
        else:
            w = 0.0
        test = res.contrast(L0 + w * L1, level=level)
        rows.append(
            {"from": lo, "to": hi, "significant": bool(test["p"] < 1 - level),
             "slope_sign": "+" if test["estimate"] > 0 else "-"}
        )
    out = pd.DataFrame(rows, columns=["from", "to", "significant", "slope_sign"])
    data = _data(res)
    observed = data[moderator] if moderator in data.columns else None
    out.attrs.update(
        {
            "of": of, "moderator": moderator, "level": level,
            "boundaries": pd.DataFrame(bounds, columns=["value", "df", "t_critical"]),
            "observed_range": (float(observed.min()), float(observed.max()))
            if observed is not None else None,
            "held_at": ", ".join(h for h in builder.held({moderator: 0.0})),
            "method": "exact quadratic boundaries with Satterthwaite df iterated at each root",
        }
    )
    return out

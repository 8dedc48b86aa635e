"""``check``: assumption and influence checks that stay meaningful at any sample size.

Every criterion is an effect size with a fixed threshold, not a p-value (which would flag
trivial departures at n = 100,000):

- residual shape: skewness |g1| > 0.5 or excess kurtosis g2 > 1 of the scaled conditional
  residuals e/σ; outliers: the count of |e/σ| > 3 against its expectation under normality,
  n·2(1 - Φ(3)) = 0.0027 n, flagged when at least twice that *and* above the Poisson 99.9%
  quantile of the expected count (so a few extra in a small sample are not flagged);
- spread across clusters: the between-cluster SD of log residual SDs beyond sampling noise,
  sqrt(max(0, var(log s_j) - mean(1 / (2 df_j)))), flagged above 0.25 (cluster residual SDs
  varying by about ±30% beyond chance), with df_j = n_j - Σ_{i in j} h_i the cluster's
  residual degrees of freedom and s_j² = Σ e_i² / df_j (clusters with df_j >= 2);
- spread against fitted values: the ratio of residual SDs in the top and bottom fifths of
  the fitted values, flagged outside [1/1.5, 1.5];
- random effects: the same shape thresholds on each column of BLUPs (>= 10 levels), and
  the count of |b_j / τ| > 3 with the same expected-count rule as the residuals;
- influence: Cook's distance > 4/G (a note) and any random-effect variance that one
  cluster's deletion changes by more than half (a warning);
- the fit: singular or not converged.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from .influence import FLAG_FACTOR, influence
from .residuals import hatvalues, residuals

if TYPE_CHECKING:  # pragma: no cover
    from ..results import MixedModelResult

SKEW_LIMIT = 0.5
KURTOSIS_LIMIT = 1.0
OUTLIER_Z = 3.0
SPREAD_LIMIT = 0.25
FITTED_RATIO = 1.5
RVC_LIMIT = 0.5
EXACT_INFLUENCE_MAX_LEVELS = 500  # above: the one-step approximation
INFLUENCE_MAX_LEVELS = 5000  # above: skipped (call res.influence explicitly)


@dataclass(frozen=True)
class Finding:
    """One check: what was checked, what was found, what to look at, how serious.

    ``severity`` is ``"ok"``, ``"note"`` or ``"warning"``.
    """

    check: str
    finding: str
    look_at: str
    severity: str = "ok"

    def __str__(self) -> str:
        mark = {"ok": "ok", "note": "note", "warning": "WARNING"}.get(self.severity, self.severity)
        text = f"[{mark}] {self.check}: {self.finding}"
        return f"{text}\n    look at: {self.look_at}" if self.look_at else text

    def _repr_html_(self) -> str:
        look = f"<br><em>Look at:</em> {html.escape(self.look_at)}" if self.look_at else ""
        return (f'<div class="mlm-finding mlm-{html.escape(self.severity)}">'
                f"<strong>{html.escape(self.check)}</strong> ({html.escape(self.severity)}): "
                f"{html.escape(self.finding)}{look}</div>")


class Findings(list):
    """``res.check()``: a list of :class:`Finding` that displays as readable text and HTML."""

    def __str__(self) -> str:
        return "\n".join(str(f) for f in self) or "Model checks: nothing was checked."

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        from ..display.html import advice_html

        return advice_html(self, title="Model checks")


def _outlier_limit(n: int) -> float:
    """Most values beyond ±3 SD that n normal draws plausibly give: at least twice the
    expected count and above its Poisson 99.9% quantile."""
    expected = n * 2 * stats.norm.sf(OUTLIER_Z)
    return float(max(2 * expected, stats.poisson.ppf(0.999, expected)))


def _shape(values: np.ndarray) -> tuple[float, float]:
    return float(stats.skew(values)), float(stats.kurtosis(values))


def _labels(index: pd.Index, k: int = 5) -> str:
    items = [str(i) for i in index[:k]]
    return ", ".join(items) + (", ..." if len(index) > k else "")


def _fit_findings(res: MixedModelResult) -> list[Finding]:
    out = []
    if not res.converged:
        grad = res.optimization.max_scaled_gradient
        out.append(Finding("convergence", "the optimiser stopped where the fit criterion was not "
                           f"yet flat (largest scaled gradient {grad:.3g})",
                           "res.all_fit() (do other optimisers agree?); rescale predictors or "
                           "simplify the random part", "warning"))
    if res.is_singular:
        zero = res.varcorr[(res.varcorr["var2"].isna()) & (res.varcorr["vcov"] < 1e-8)]
        which = ", ".join(f"{g}|{v}" for g, v in zip(zero["group"], zero["var1"], strict=True))
        out.append(Finding("singular fit", "a variance is (near) zero or a correlation is ±1"
                           + (f" ({which})" if which else ""),
                           "res.advice() for the formula without the degenerate part",
                           "warning"))
    if not out:
        out.append(Finding("fit", "converged, not singular", ""))
    return out


def _residual_shape(res: MixedModelResult) -> list[Finding]:
    r = residuals(res, "scaled")
    g1, g2 = _shape(r.to_numpy())
    bad = abs(g1) > SKEW_LIMIT or g2 > KURTOSIS_LIMIT
    out = [Finding("residual normality", f"skewness {g1:.2f}, excess kurtosis {g2:.2f} "
                   f"(limits ±{SKEW_LIMIT}, {KURTOSIS_LIMIT})",
                   "the QQ plot of residuals; a transformed response or a missing predictor"
                   if bad else "", "warning" if bad else "ok")]
    n = r.size
    expected = n * 2 * stats.norm.sf(OUTLIER_Z)
    big = r[np.abs(r) > OUTLIER_Z]
    count = big.size
    limit = _outlier_limit(n)
    top = big.abs().sort_values(ascending=False).index
    out.append(Finding(
        "residual outliers", f"{count} of {n} residuals beyond ±{OUTLIER_Z:g}σ "
        f"(about {expected:.1f} expected under normality)",
        f"rows {_labels(top)}" if count else "",
        "warning" if count > limit else ("note" if count > expected and count else "ok")))
    return out


def _cluster_spread(res: MixedModelResult) -> list[Finding]:
    e = residuals(res, "conditional").to_numpy()
    hat = hatvalues(res).to_numpy()
    out = []
    for group in res.group_names:
        term = next(t for t in res.design.terms if t.group == group)
        # Residual df of a cluster: its rows minus the parameters its rows use up (Σ h_i),
        # so clusters whose own random effects absorb most of their data are not misread.
        frame = pd.DataFrame({"g": term.codes, "e2": e**2, "h": hat})
        agg = frame.groupby("g").agg(ss=("e2", "sum"), h=("h", "sum"), n=("e2", "size"))
        agg["df"] = agg["n"] - agg["h"]
        agg = agg[(agg["df"] >= 2) & (agg["ss"] > 0)]
        if len(agg) < 5:
            continue
        log_sd = 0.5 * np.log(agg["ss"].to_numpy() / agg["df"].to_numpy())
        noise = float(np.mean(1.0 / (2.0 * agg["df"].to_numpy())))
        excess = float(np.sqrt(max(0.0, np.var(log_sd, ddof=1) - noise)))
        bad = excess > SPREAD_LIMIT
        ranked = pd.Series(log_sd, index=agg.index).sort_values()
        levels = np.asarray(term.levels)
        extremes = list(levels[ranked.index[-3:][::-1]]) + list(levels[ranked.index[:2]])
        out.append(Finding(
            f"residual spread across {group}",
            f"between-cluster SD of log residual SD beyond chance {excess:.2f} "
            f"(limit {SPREAD_LIMIT}; {len(agg)} clusters with >= 2 residual df)",
            f"residual spread by cluster; largest/smallest: {', '.join(extremes)}" if bad else "",
            "warning" if bad else "ok"))
    return out


def _fitted_spread(res: MixedModelResult) -> Finding:
    e = residuals(res, "conditional").to_numpy()
    fit = res.fitted().to_numpy()
    lo, hi = np.quantile(fit, [0.2, 0.8])
    s_lo, s_hi = np.std(e[fit <= lo]), np.std(e[fit >= hi])
    ratio = s_hi / s_lo if s_lo > 0 else np.inf
    bad = not (1 / FITTED_RATIO <= ratio <= FITTED_RATIO)
    return Finding("residual spread against fitted values",
                   f"residual SD in the top fifth of fitted values / bottom fifth = {ratio:.2f} "
                   f"(limits {1 / FITTED_RATIO:.2f} to {FITTED_RATIO})",
                   "residuals vs fitted; a transformation or a variance that grows with the mean"
                   if bad else "", "warning" if bad else "ok")


def _random_effects(res: MixedModelResult) -> list[Finding]:
    out = []
    for group, table in res.ranef.items():
        if len(table) < 10:
            continue
        tau = res.tau(group)
        for col in table.columns:
            sd = float(np.sqrt(tau.loc[col, col])) if col in tau.index else 0.0
            b = table[col].to_numpy()
            if sd <= 0 or np.std(b) <= 0:
                continue
            g1, g2 = _shape(b)
            z = pd.Series(np.abs(b) / sd, index=table.index)
            far = z[z > OUTLIER_Z].sort_values(ascending=False)
            many = len(far) > _outlier_limit(len(b))
            bad = abs(g1) > SKEW_LIMIT or g2 > KURTOSIS_LIMIT or many
            extra = f"; beyond ±{OUTLIER_Z:g}τ: {_labels(far.index)}" if len(far) else ""
            out.append(Finding(
                f"normality of {group} random effect '{col}'",
                f"skewness {g1:.2f}, excess kurtosis {g2:.2f} over {len(b)} levels{extra}",
                f"QQ plot of the {group} random effects; a missing {group}-level predictor"
                if bad else "", "note" if bad else "ok"))
    return out


def _influence(res: MixedModelResult) -> list[Finding]:
    out = []
    # Exact refits are cheap with the engine's analytic gradient (one random term); with
    # several terms each refit needs numeric gradients and every evaluation costs more, so
    # check() keeps to small factors there (res.influence() does any factor on request).
    fast = bool(getattr(res.engine, "has_gradient", False))
    for group in res.group_names:
        G = res.ngroups[group]
        limit = INFLUENCE_MAX_LEVELS if fast else 100
        if G < 3:
            continue
        if G > limit:
            out.append(Finding(f"influential {group} clusters",
                               f"not computed automatically for {G} clusters",
                               f"res.influence({group!r}, exact=False)", "note"))
            continue
        exact = G <= (EXACT_INFLUENCE_MAX_LEVELS if fast else 30) and res.nobs <= 200_000
        table = influence(res, group, exact=exact)
        flagged = table[table["flag"]].sort_values("cooks", ascending=False)
        how = "exact refits" if exact else "one-step approximation"
        finding = (f"{len(flagged)} of {G} clusters with Cook's distance > {FLAG_FACTOR:g}/G "
                   f"({how})")
        severity = "note" if len(flagged) else "ok"
        look = f"influence index plot; clusters {_labels(flagged.index)}" if len(flagged) else ""
        rvc_cols = [c for c in table.columns if c.startswith("rvc:") and c != "rvc:Residual"
                    and c.count("|") == 1]
        carried = []
        for col in rvc_cols if exact else []:
            worst = table[col].dropna()
            worst = worst[worst < -RVC_LIMIT]
            if len(worst):
                carried.append(f"{col[4:]} (without {_labels(worst.sort_values().index, 3)})")
        if carried:
            finding += "; one cluster carries more than half of " + ", ".join(carried)
            severity = "warning"
            look = (look + "; " if look else "") + "compare res.without([...]) for those clusters"
        out.append(Finding(f"influential {group} clusters", finding, look, severity))
    return out


def check(res: MixedModelResult) -> Findings:
    """Assumption and influence checks of a fit (see the module docstring for the criteria).

    Never raises because of the data: a check that cannot be computed returns a note
    saying why.

    Returns
    -------
    Findings
        A list of :class:`Finding`.
    """
    out = Findings()
    for name, step in [("fit", _fit_findings), ("residual normality", _residual_shape),
                       ("residual spread", _cluster_spread),
                       ("residual spread against fitted values", lambda r: [_fitted_spread(r)]),
                       ("random-effect normality", _random_effects),
                       ("influential clusters", _influence)]:
        try:
            out.extend(step(res))
        except Exception as exc:  # a diagnostic must never block the user's work
            out.append(Finding(name, f"could not be computed: {exc}", "", "note"))
    return out

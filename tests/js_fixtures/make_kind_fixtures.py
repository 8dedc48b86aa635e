"""Fixtures for the explorer's GLMM and posterior computations (js/tests/kinds.test.js).

Run from the repository root after changing the state format or the engine:

    python tests/js_fixtures/make_kind_fixtures.py

* ``glmm_students.json``, ``glmm_clinics.json``: the explorer state of glmer reference fits
  (students_logit: logit link, random slope, cross-level interaction; clinics_offset:
  Poisson with an offset) and what the browser must reproduce: the response-scale curves of
  ``mlm_jupyter.glmm.charts.curve_frame`` (typical cluster, Wald band, clusters' 95% range),
  ``res.simple_slopes`` (Wald z, ratios), cluster curves from ``res.coef`` with NumPy, and
  emmeans' response-scale means from glmer (tests/reference/glmm, R).
* ``posterior_sleep.json``, ``posterior_hsb.json``: the explorer state of Bayesian fits with
  at most 1,000 draws (so the state holds every draw) and ``res.simple_slopes`` from all of
  them, the posterior predictive range of a new cluster's slope (the mixture quantiles solved
  here with SciPy), and credible intervals of the line at a few x.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from glmm_reference import glmm_fit, glmm_reference  # noqa: E402

import mlm_jupyter as mlm  # noqa: E402
from mlm_jupyter.display.explorer_state import build_state  # noqa: E402
from mlm_jupyter.glmm.charts import curve_frame  # noqa: E402

REF = ROOT / "tests" / "reference"


def glmm_fixture(case: str, x: str, moderator: str | None, values: list | None) -> dict:
    res = glmm_fit(case)
    state = build_state(res, diagnostics=False)
    frame = curve_frame(res, x, moderator, values=values, points=9)
    curves = []
    for label, part in frame.groupby("moderator", sort=False):
        at = {} if moderator is None else {moderator: float(label)}
        curves.append({"at": at, "x": part[x].tolist(), "fit": part["fit"].tolist(),
                       "lower": part["lower"].tolist(), "upper": part["upper"].tolist(),
                       "spread_lo": part["fan_lower"].tolist(),
                       "spread_hi": part["fan_upper"].tolist()})
    slopes = []
    if moderator is not None:
        table = res.simple_slopes(x, {moderator: values})
        for _, r in table.iterrows():
            slopes.append({"at": {moderator: float(r[moderator])}, "estimate": r["estimate"],
                           "se": r["std_error"], "z": r["z"], "p": r["p"], "lower": r["lower"],
                           "upper": r["upper"], "ratio": r["estimate_ratio"],
                           "ratio_lower": r["lower_ratio"], "ratio_upper": r["upper_ratio"]})
    # cluster curves from lme4-style coefficients: g^-1(sum_j coef_j x_j(v_j) + offset)
    coef = res.coef[state["group"]]
    names = list(res.fixef.index)
    cl = state["clusters"]
    offset = state["glmm"]["offset"]
    cluster_curves = []
    for i, cid in enumerate(cl["ids"][:10]):
        vals = {k: cl["vars"][k][i] for k in cl["vars"]}
        xs = np.linspace(cl["x_min"][x][i], cl["x_max"][x][i], 12)
        ys = []
        for xv in xs:
            vals[x] = float(xv)
            row = [np.prod([vals[v] ** p for v, p in mono.items()]) if mono else 1.0
                   for mono in state["fixed"]["monomials"]]
            eta = sum(coef.loc[cid, n] * row[j] for j, n in enumerate(names)) + offset
            ys.append(float(special.expit(eta) if res.link == "logit" else np.exp(eta)))
        cluster_curves.append({"index": i, "id": cid, "x": xs.tolist(), "y": ys})
    emmeans = None
    ref = glmm_reference(case)
    if moderator is not None and "emmeans" in ref:
        emmeans = ref["emmeans"]["response"]["rows"]
    return {"case": case, "x": x, "moderator": moderator, "state": state, "curves": curves,
            "simple_slopes": slopes, "cluster_curves": cluster_curves,
            "r_emmeans": emmeans, "x_mean": state["variables"][x]["mean"]}


def mixture_quantile(mu: np.ndarray, sd: np.ndarray, prob: float) -> float:
    def cdf(s: float) -> float:
        return float(np.mean(stats.norm.cdf((s - mu) / sd))) - prob

    lo, hi = float((mu - 10 * sd).min()), float((mu + 10 * sd).max())
    return float(optimize.brentq(cdf, lo, hi, xtol=1e-12))


def posterior_fixture(name: str, res, x: str, ats: list[dict], line_at: list[float]) -> dict:
    state = res.explore().state
    chains, draws = res.draws.beta.shape[:2]
    assert len(state["posterior"]["beta_draws"]) == chains * draws
    slopes = []
    for at in ats:
        table = res.simple_slopes(x, {k: [v] for k, v in at.items()} if at else None)
        r = table.iloc[0]
        slopes.append({"at": at, "estimate": r["estimate"], "se": r["std_error"],
                       "lower": r["lower"], "upper": r["upper"],
                       "prob_positive": r["prob_positive"]})
    # posterior predictive slope of a new cluster at the first `at`: N(l'beta_d, d'T_d d)
    from mlm_jupyter.bayes.effects import slope_draws
    from mlm_jupyter.bayes.explorer import covariance_draws

    mu = slope_draws(res, x, ats[0])
    T = covariance_draws(res, state["group"])
    terms = state["random"]["terms"]
    d = np.array([1.0 if t == x else 0.0 for t in terms])  # the slope's random part
    sd = np.sqrt(np.einsum("i,nij,j->n", d, T, d))
    slope_range = {"lo": mixture_quantile(mu, sd, 0.025), "hi": mixture_quantile(mu, sd, 0.975),
                   "sd": float(sd.mean())}
    # the line at x values (other variables at their means, `ats[0]` for the moderators)
    beta = res.draws.beta.reshape(-1, res.design.p)
    means = {k: v["mean"] for k, v in state["variables"].items()}
    lines = []
    for xv in line_at:
        vals = dict(means, **ats[0], **{x: xv})
        row = np.array([np.prod([vals[v] ** p for v, p in mono.items()]) if mono else 1.0
                        for mono in state["fixed"]["monomials"]])
        draws = beta @ row
        lines.append({"x": xv, "mean": float(draws.mean()),
                      "lower": float(np.quantile(draws, 0.025)),
                      "upper": float(np.quantile(draws, 0.975))})
    return {"case": name, "x": x, "at": ats, "state": state, "simple_slopes": slopes,
            "slope_range": slope_range, "lines": lines}


def main() -> None:
    for name, args in {"glmm_students": ("students_logit", "motiv", "climate", [-1.0, 1.0]),
                       "glmm_clinics": ("clinics_offset", "staff", None, None)}.items():
        fixture = glmm_fixture(*args)
        (HERE / f"{name}.json").write_text(json.dumps(fixture, allow_nan=False))
        print(f"wrote {name}.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sleep = pd.read_csv(REF / "bayes" / "sleepstudy.csv", dtype={"Subject": str})
        bayes = mlm.fit("Reaction ~ Days + (Days | Subject)", sleep, method="bayes", seed=3,
                        draws=250, warmup=300, chains=2, warn=False)
        fixture = posterior_fixture("posterior_sleep", bayes, "Days", [{}], [0.0, 4.5, 9.0])
        (HERE / "posterior_sleep.json").write_text(json.dumps(fixture, allow_nan=False))
        print("wrote posterior_sleep.json")
        hsb = mlm.load_dataset("hsb")
        bayes = mlm.fit("mathach ~ cses * meanses + (1 + cses | school)", hsb, method="bayes",
                        seed=5, draws=250, warmup=300, chains=2, warn=False)
        fixture = posterior_fixture("posterior_hsb", bayes, "cses",
                                    [{"meanses": -0.5}, {"meanses": 0.0}, {"meanses": 0.6}],
                                    [-2.0, 0.0, 2.0])
        (HERE / "posterior_hsb.json").write_text(json.dumps(fixture, allow_nan=False))
        print("wrote posterior_hsb.json")


if __name__ == "__main__":
    main()

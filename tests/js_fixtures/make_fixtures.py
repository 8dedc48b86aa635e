"""Write the JSON fixtures that the explorer's vitest suite checks its computations against.

Run from the repository root after changing the state format or the engine:

    python tests/js_fixtures/make_fixtures.py

Each model fixture holds the explorer state of a real fit plus expected values from sources
that do not share the browser code:

* ``reference``: lme4/emmeans simple slopes from ``tests/reference/**/effects.json`` (R);
* ``python``: ``res.simple_slopes`` / ``res.johnson_neyman`` when the effects module has them;
* ``numpy``: predictions, standard errors, cluster lines (from ``res.coef``) and implied
  variances computed here with NumPy from the result's own tables.

``stats.json`` holds SciPy's Student t CDF and quantiles on a grid of (t, df).
The JSON files are committed, so ``npm test`` in ``js/`` runs without Python.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

import mlm_jupyter as mlm  # noqa: E402
from mlm_jupyter.display.explorer_state import build_state  # noqa: E402

REF = ROOT / "tests" / "reference"

CASES = {
    "hsb_crosslevel": ("hsb", "mathach ~ cses * catholic + meanses + (1 + cses | school)",
                       "cses", [{"catholic": 0}, {"catholic": 1}]),
    "hsb_rb": ("hsb", "mathach ~ meanses * cses + catholic * cses + (1 + cses | school)",
               "cses", [{"meanses": -0.5, "catholic": 0}, {"meanses": 0.0, "catholic": 0},
                        {"meanses": 0.5, "catholic": 0}, {"meanses": 0.3, "catholic": 1}]),
    "categorical3": ("exam", "normexam ~ intake * standLRT + (1 | school)", "standLRT",
                     [{"intake": "bottom"}, {"intake": "mid"}, {"intake": "top"}]),
    "sleep_slope_reml": ("sleepstudy", "Reaction ~ Days + (Days | Subject)", "Days", [{}]),
}


def load(dataset: str) -> pd.DataFrame:
    if dataset == "exam":
        return pd.read_csv(REF / "extra" / "data" / "exam.csv", dtype={"school": str})
    return mlm.load_dataset(dataset)


def r_slopes(case: str) -> list[dict]:
    out = []
    for path in (REF / "effects.json", REF / "extra" / "effects.json"):
        if path.exists():
            out += [r for r in json.loads(path.read_text())["simple_slopes"] if r["case"] == case]
    return out


def python_slopes(res, of: str, ats: list[dict]) -> list[dict] | None:
    rows = []
    try:
        for at in ats:
            table = res.simple_slopes(of, {k: [v] for k, v in at.items()} if at else None)
            r = table.iloc[0]
            se = r.get("std_error", r.get("se"))
            rows.append({"at": at, "estimate": float(r["estimate"]), "se": float(se),
                         "df": float(r["df"]), "lower": float(r["lower"]),
                         "upper": float(r["upper"]), "p": float(r["p"])})
    except Exception as exc:  # noqa: BLE001 - effects module not there yet
        print(f"  no res.simple_slopes ({type(exc).__name__}: {exc})")
        return None
    return rows


def python_jn(res, of: str, moderator: str) -> list | None:
    """Finite Johnson-Neyman boundaries (other moderators held at 0, as effects does)."""
    try:
        table = res.johnson_neyman(of, moderator)
    except Exception as exc:  # noqa: BLE001
        print(f"  no res.johnson_neyman ({type(exc).__name__}: {exc})")
        return None
    edges = set(table["from"].tolist()) | set(table["to"].tolist())
    return sorted(float(e) for e in edges if np.isfinite(e))


def numpy_checks(res, state: dict, of: str) -> dict:
    """Predictions and SEs of the average line, cluster lines and implied variances."""
    beta = res.fixef.to_numpy()
    V = res.vcov.to_numpy()
    names = list(res.fixef.index)
    variables = state["variables"]
    means = {k: v["mean"] for k, v in variables.items()}
    xs = np.linspace(variables[of]["min"], variables[of]["max"], 7)

    def row(values: dict) -> np.ndarray:
        out = []
        for j, mono in enumerate(state["fixed"]["monomials"]):
            if mono is None:
                out.append(state["fixed"]["held"][j])
            else:
                out.append(np.prod([values[v] ** p for v, p in mono.items()]) if mono else 1.0)
        return np.asarray(out)

    pred = []
    for x in xs:
        vals = dict(means, **{of: float(x)})
        r = row(vals)
        pred.append({"values": vals, "fit": float(r @ beta), "se": float(np.sqrt(r @ V @ r))})

    # Cluster lines from lme4-style cluster coefficients res.coef: y = sum_j coef_j * x_j(v).
    group = state["group"]
    coef = res.coef[group]
    cl = state["clusters"]
    lines = []
    for i, cid in enumerate(cl["ids"][:25]):
        vals = {k: cl["vars"][k][i] for k in cl["vars"]}
        ends = []
        for x in (cl["x_min"][of][i], cl["x_max"][of][i]):
            vals[of] = x
            r = row(vals)
            ends.append(float(sum(coef.loc[cid, n] * r[j] for j, n in enumerate(names))))
        lines.append({"index": i, "id": cid, "y0": ends[0], "y1": ends[1]})

    tau = res.tau(group)
    var = []
    for x in xs:
        z = np.array([1.0 if t == "(Intercept)" else (float(x) if t == of else means.get(t, 0.0))
                      for t in tau.index])
        var.append({"x": float(x), "between": float(z @ tau.to_numpy() @ z)})
    return {"prediction": pred, "cluster_lines": lines, "implied_variance": var,
            "slope_sd": float(np.sqrt(tau.loc[of, of])) if of in tau.index else 0.0}


def main() -> None:
    grid_t = [-40.0, -8.5, -3.0, -1.96, -0.5, 0.0, 0.3, 1.0, 2.5, 6.0, 25.0]
    grid_df = [0.7, 1.0, 2.5, 4.0, 9.3, 30.0, 144.187661117721, 1000.0, 1e6]
    grid_p = [1e-10, 1e-4, 0.005, 0.025, 0.1, 0.3, 0.5, 0.7, 0.975, 0.995, 0.9999]
    stats_fix = {
        "pt": [{"t": t, "df": d, "cdf": float(stats.t.cdf(t, d)),
                "p2": float(2 * stats.t.sf(abs(t), d))} for t in grid_t for d in grid_df],
        "qt": [{"p": p, "df": d, "q": float(stats.t.ppf(p, d))} for p in grid_p for d in grid_df],
    }
    (HERE / "stats.json").write_text(json.dumps(stats_fix, indent=0))
    print("wrote stats.json")

    for case, (dataset, formula, of, ats) in CASES.items():
        print(case)
        res = mlm.fit(formula, load(dataset))
        state = build_state(res)
        fixture = {
            "case": case, "formula": formula, "of": of, "at": ats, "state": state,
            "reference": r_slopes(case),
            "python": {"simple_slopes": python_slopes(res, of, ats)},
            "numpy": numpy_checks(res, state, of),
        }
        mods = next((p["moderators"] for p in state["predictors"] if p["name"] == of), [])
        cont = [m for m in mods if state["variables"].get(m, {}).get("kind") == "continuous"]
        if cont:
            fixture["python"]["johnson_neyman"] = {"moderator": cont[0],
                                                   "table": python_jn(res, of, cont[0])}
        if state["satterthwaite"] is None:
            print("  WARNING: no Satterthwaite parts in the state; df checks will be skipped")
        (HERE / f"{case}.json").write_text(json.dumps(fixture, allow_nan=False))
        print(f"  wrote {case}.json")


if __name__ == "__main__":
    main()

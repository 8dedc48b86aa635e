"""Write tests/js_fixtures/predictions.json for the Predictions panel's vitest suite.

Run from the repository root after changing the state format or the engine:

    python tests/js_fixtures/make_prediction_fixtures.py

Per case: the explorer state of a real fit and expected values from sources that do not share
the browser code:

* ``reference``: R's population-level predictions with confidence and prediction intervals
  (``include_re = FALSE`` entries of tests/reference/effects2*/pred_*.json): the new rows'
  variable values (factor levels as their dummies) and fit, std_error, bounds;
* ``python``: ``res.predict_response(terms)`` tables (x grid, groups, bands).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

import mlm_jupyter as mlm  # noqa: E402
from mlm_jupyter.display.explorer_state import build_state  # noqa: E402

REF = ROOT / "tests" / "reference"
CASES = {
    "pred_hsb_crosslevel": (REF / "effects2", ["cses", "catholic"]),
    "pred_sleep_slope": (REF / "effects2", ["Days"]),
    "pred_bdf_factor_slope": (REF / "effects2_more", ["IQ_verb", "denomina"]),
    "pred_oats_nested": (REF / "effects2_more", ["nitro", "Variety"]),
    "pred_scots_crossed": (REF / "effects2_more", None),
}


def values_of(row: dict, state: dict) -> dict:
    """A newdata row as the browser's variable values (factor levels -> 0/1 dummies)."""
    out = {k: float(v) for k, v in row.items() if k in state["variables"]}
    for name, info in state["factors"].items():
        for dummy, level in info["dummies"].items():
            out[dummy] = 1.0 if str(row[name]) == level else 0.0
    return out


def case(name: str, root: Path, terms: list[str] | None) -> dict:
    ref = json.loads((root / f"{name}.json").read_text())
    data = pd.read_csv(root / ref["data"], dtype={c: str for c in ref["string_columns"]})
    res = mlm.fit(ref["formula"], data=data, reml=ref["reml"])
    state = build_state(res, diagnostics=False)
    conf = next(r for r in ref["results"] if not r["include_re"] and r["interval"] == "confidence")
    pred = next(r for r in ref["results"] if not r["include_re"] and r["interval"] == "prediction")
    rows = []
    for i, row in enumerate(ref["newdata"]):
        rows.append({"values": values_of(row, state), "fit": conf["fit"][i],
                     "std_error": conf["std_error"][i], "conf_lower": conf["lower"][i],
                     "conf_upper": conf["upper"][i], "pred_lower": pred["lower"][i],
                     "pred_upper": pred["upper"][i]})
    out = {"state": state, "reference": rows, "python": None}
    if terms is not None:
        table = res.predict_response(terms)
        out["python"] = {"x": terms[0], "by": terms[1] if len(terms) > 1 else None,
                         "rows": json.loads(table.to_json(orient="records"))}
    return out


def main() -> None:
    fixtures = {name: case(name, root, terms) for name, (root, terms) in CASES.items()}
    (HERE / "predictions.json").write_text(json.dumps(fixtures, allow_nan=False))
    print(f"wrote predictions.json ({len(fixtures)} cases)")


if __name__ == "__main__":
    main()

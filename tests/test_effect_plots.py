"""Effect plots (predict_response, Altair charts, the report section) and the link scales.

predict_response's population-level predictions and SEs are checked against ggeffects 1.2.0's
``ggpredict(type = "fixed")`` on the grids stored in tests/reference/effects2*/pred_*.json
(same held values: numeric means, 0/1 indicators at 0, factors at their reference level);
its bands against ``res.predict(include_re=False, interval=...)``.
"""

from __future__ import annotations

import json
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from effects2_reference import assert_estimate, assert_rel, case_files, data, fitted, load

import mlm_jupyter as mlm
from mlm_jupyter.display.report_predictions import predictions_html
from mlm_jupyter.effects.links import (
    check_type,
    contrasts_on_response_scale,
    link_of,
    on_response_scale,
)
from mlm_jupyter.effects.response_grid import default_terms

GG = [(path, g) for path in case_files("pred") for g in load(path).get("ggeffects", [])
      if g["type"] == "fixed"]


@pytest.mark.parametrize("item", GG, ids=lambda it: f"{it[0].stem}-{it[1]['terms'][0]}")
def test_predict_response_matches_ggpredict_fixed(item):
    path, gg = item
    table = fitted(path).predict_response(gg["terms"])
    np.testing.assert_allclose(table["x"].astype(float), gg["x"])
    assert_estimate(table["fit"], gg["predicted"], gg["std_error"])
    assert_rel(table["std_error"], gg["std_error"])
    for name, value in gg["constant_values"].items():
        if name in table.attrs["held"]:
            held = table.attrs["held"][name]
            assert held == value or held == pytest.approx(value, rel=1e-6)


def test_bands_are_the_population_intervals_of_predict():
    path = next(p for p in case_files("pred") if p.stem == "pred_hsb_crosslevel")
    res = fitted(path)
    table = res.predict_response(["cses [-2, 0, 2]", "catholic"], at={"meanses": 0.5})
    assert list(table["group"]) == ["0"] * 3 + ["1"] * 3
    grid = pd.DataFrame({"cses": table["x"].astype(float), "catholic": [0.0] * 3 + [1.0] * 3,
                         "meanses": 0.5})
    conf = res.predict(grid, include_re=False, interval="confidence")
    pred = res.predict(grid, include_re=False, interval="prediction")
    np.testing.assert_allclose(table["conf_lower"], conf["lower"])
    np.testing.assert_allclose(table["pred_upper"], pred["upper"])
    assert (table["pred_lower"] < table["conf_lower"]).all()
    assert table.attrs["held"] == {"meanses": 0.5}


def test_default_terms_pick_the_random_slope_and_its_moderator():
    path = next(p for p in case_files("pred") if p.stem == "pred_hsb_crosslevel")
    assert default_terms(fitted(path)) == ["cses", "catholic"]
    bdf = next(p for p in case_files("pred") if p.stem == "pred_bdf_factor_slope")
    assert default_terms(fitted(bdf)) == ["IQ_verb", "denomina"]


def test_factor_on_the_x_axis_and_bad_terms():
    path = next(p for p in case_files("mm") if p.stem == "mm_oats_factorial")
    res = fitted(path)
    table = res.predict_response(["nitro_f", "Variety [Victory, Marvellous]"])
    assert list(table["x"][:4]) == ["0.0cwt", "0.2cwt", "0.4cwt", "0.6cwt"]
    assert set(table["group"]) == {"Victory", "Marvellous"}
    mm = res.marginal_means("nitro_f", by="Variety", ddf="satterthwaite")
    cell = mm.query("Variety == 'Victory' and nitro_f == '0.2cwt'")["estimate"].iloc[0]
    got = table.query("group == 'Victory' and x == '0.2cwt'")["fit"].iloc[0]
    assert got == pytest.approx(cell, rel=1e-10)  # a saturated cell: same number either way
    with pytest.raises(ValueError, match="not a predictor of the fixed part"):
        res.predict_response(["rain"])
    with pytest.raises(ValueError, match="one or two variables"):
        res.predict_response(["nitro_f", "Variety", "Block"])
    with pytest.raises(ValueError, match=r"no level\(s\) \['Oats'\]"):
        res.predict_response(["nitro_f", "Variety [Oats]"])


def test_effect_chart_layers():
    path = next(p for p in case_files("pred") if p.stem == "pred_hsb_crosslevel")
    spec = fitted(path).effect_plot().to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
             for layer in spec["layer"]]
    assert marks == ["area", "area", "line", "point"]
    assert spec["layer"][0]["encoding"]["y"]["field"] == "pred_lower"
    assert spec["layer"][1]["encoding"]["y2"]["field"] == "conf_upper"
    only_ci = fitted(path).effect_plot(bands=("confidence",)).to_dict()
    assert len(only_ci["layer"]) == 3
    factor = fitted(next(p for p in case_files("mm") if p.stem == "mm_oats_factorial"))
    fspec = factor.effect_plot(["nitro_f", "Variety"]).to_dict()
    assert [layer["mark"]["type"] for layer in fspec["layer"]] == ["rule", "rule", "point"]


def test_report_predictions_section_escapes_labels():
    path = next(p for p in case_files("mm") if p.stem == "mm_oats_numeric")
    df = data(path).copy()
    df["Variety"] = df["Variety"].replace("Victory", "<img src=x onerror=alert(1)>")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("yield ~ Variety * nitro + (1 | Block/Variety)", df)
    html = predictions_html(res)
    assert "<h3>Predictions</h3>" in html and "<svg" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Estimated marginal means of <code>Variety</code>" in html


# ---- links: the one place where type="response" is applied ----------------------------------
def test_identity_link_changes_nothing():
    table = pd.DataFrame({"estimate": [1.0], "std_error": [0.5], "lower": [0.0], "upper": [2.0]})
    assert on_response_scale(table, link_of(SimpleNamespace())) is table
    assert check_type("Response") == "response"


@pytest.mark.parametrize("name", ["logit", "probit", "log", "cloglog", "inverse"])
def test_response_scale_is_delta_method_and_mapped_limits(name):
    link = link_of(SimpleNamespace(link=name))
    eta = np.array([0.6, 1.1])  # the inverse link needs eta > 0 over the interval
    table = pd.DataFrame({"estimate": eta, "std_error": [0.2, 0.1],
                          "lower": eta - 0.4, "upper": eta + 0.2})
    out = on_response_scale(table, link)
    h = 1e-6
    slope = (link.inverse(eta + h) - link.inverse(eta - h)) / (2 * h)
    np.testing.assert_allclose(out["estimate"], link.inverse(eta))
    np.testing.assert_allclose(out["std_error"], np.abs(slope) * table["std_error"], rtol=1e-6)
    assert (out["lower"] <= out["estimate"]).all() and (out["estimate"] <= out["upper"]).all()


def test_log_differences_become_ratios():
    pairs = pd.DataFrame({"contrast": ["a - b"], "estimate": [np.log(2.0)], "std_error": [0.1],
                          "t": [3.0], "p": [0.01]})
    out, note = contrasts_on_response_scale(pairs, link_of(SimpleNamespace(link="logit")))
    assert out["contrast"].iloc[0] == "a / b"
    assert out["estimate"].iloc[0] == pytest.approx(2.0)
    assert out["std_error"].iloc[0] == pytest.approx(0.2)
    assert out["t"].iloc[0] == 3.0 and "odds ratios" in note
    with pytest.raises(ValueError, match="not supported"):
        link_of(SimpleNamespace(link="cauchit"))


def test_glmm_prediction_interval_is_refused_on_the_response_scale():
    path = next(p for p in case_files("pred") if p.stem == "pred_sleep_slope")
    res = fitted(path)
    from mlm_jupyter.prediction_intervals import predict_interval

    fake = SimpleNamespace(**{k: getattr(res, k) for k in ("design", "spec", "fixef", "vcov")},
                           link="logit")
    with pytest.raises(ValueError, match="prediction intervals for a new observation"):
        predict_interval(fake, None, interval="prediction")
    assert json.dumps(default_terms(res)) == '["Days"]'


def test_coerced_factor_on_the_x_axis_and_display_notes():
    from mlm_jupyter.frames import ResultFrame

    path = next(p for p in case_files("mm") if p.stem == "mm_oats_coerced")
    res = fitted(path)
    table = res.predict_response(["nitro", "Variety"])
    assert isinstance(table, ResultFrame) and not table.attrs["x_numeric"]
    assert list(table["x"][:4]) == [0.0, 0.2, 0.4, 0.6]
    grid = pd.DataFrame({"nitro": table["x"], "Variety": table["group"]})
    conf = res.predict(grid, include_re=False, interval="confidence")
    np.testing.assert_allclose(table["fit"], conf["fit"])
    np.testing.assert_allclose(table["conf_upper"], conf["upper"])
    alone = res.predict_response(["nitro"])
    assert "Other predictors held at Variety = Golden Rain." in alone.notes
    assert "held at" in repr(alone)

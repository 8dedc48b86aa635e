"""GLMM displays: HTML summary (escaped), charts on the response scale, the explorer
charts and the offline report."""

from __future__ import annotations

import re
import warnings

import altair as alt
import numpy as np
import pandas as pd
import pytest
from glmm_reference import glmm_fit

import mlm_jupyter as mlm


@pytest.fixture(scope="module")
def hostile():
    """Binary outcome with markup in the column and level names."""
    rng = np.random.default_rng(9)
    g = np.repeat(np.arange(12), 20)
    x = rng.normal(size=g.size)
    eta = -0.3 + 0.9 * x + rng.normal(0, 0.8, 12)[g]
    y = (rng.uniform(size=g.size) < 1 / (1 + np.exp(-eta))).astype(int)
    df = pd.DataFrame({"<b>y": y, "x<i>": x, "grp": [f"<script>{i}</script>" for i in g]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit("`<b>y` ~ `x<i>` + (1 | grp)", df, family="binomial")


def test_html_summary_escapes_and_shows_ratios(hostile):
    page = hostile._repr_html_()
    assert "<script>" not in page and "&lt;b&gt;y" in page
    assert "Odds ratios" in page and "z value" in page and "ICC" in page
    page = glmm_fit("clinics_offset")._repr_html_()
    assert "Rate ratios" in page and "MRR" in page


def test_curve_frame_fan_brackets_typical_curve():
    from mlm_jupyter.glmm.charts import curve_frame

    res = glmm_fit("students_logit")
    frame = curve_frame(res, "motiv", "climate", values=[-1.0, 1.0])
    assert set(frame["moderator"]) == {"-1", "1"}
    assert np.all(frame["fan_lower"] <= frame["lower"] + 1e-12)
    assert np.all(frame["fan_upper"] >= frame["upper"] - 1e-12)
    row = frame.iloc[0]
    nd = pd.DataFrame({"motiv": [row["motiv"]], "climate": [-1.0], "school": ["1"]})
    assert row["fit"] == pytest.approx(float(res.predict(nd, include_re=False)[0]))
    # the fan is the 2.5%/97.5% quantile of cluster probabilities
    T = res.tau("school").to_numpy()
    z = np.array([1.0, row["motiv"]])
    eta = float(res.predict(nd, include_re=False, type="link")[0])
    hi = 1 / (1 + np.exp(-(eta + 1.959964 * np.sqrt(z @ T @ z))))
    assert row["fan_upper"] == pytest.approx(hi, rel=1e-6)


def test_explore_and_report_are_offline_and_escaped(tmp_path, hostile):
    res = glmm_fit("panel_cbind_slope")
    chart = res.response_charts()
    assert isinstance(chart, alt.VConcatChart)
    spec = chart.to_dict()
    assert "vconcat" in spec
    path = tmp_path / "glmm.html"
    page = mlm.report(res, path=str(path), nsim=40)
    assert path.read_text(encoding="utf-8") == page
    assert "<svg" in page and "http://" not in page.replace("http://www.w3.org", "")
    # the only script is the paper section's inline copy handler
    assert "https://" not in page and re.findall(r"<script[^>]*>", page) == ["<script>"]
    hostile_page = hostile.to_html(nsim=40)
    assert "<script>0</script>" not in hostile_page

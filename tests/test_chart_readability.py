"""Diagnostic charts a reader can read: no per-cluster tick labels at any cluster count, a
caption saying what to look for, a legend for every colour, and titles in plain words."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import mlm_jupyter as mlm
from mlm_jupyter.display import diagnostic_charts as dc
from mlm_jupyter.display import export
from mlm_jupyter.display.report import report
from tests.conftest import fitted_case


def clusters(G: int, n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), n)
    x = rng.normal(size=G * n)
    y = 1 + x + rng.normal(size=G)[g] + rng.normal(size=G * n)
    return pd.DataFrame({"y": y, "x": x, "g": [f"c{i}" for i in g]})


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


@pytest.mark.parametrize(("G", "n"), [(10, 20), (160, 5), (10_000, 3)])
def test_residual_spread_reads_the_same_from_10_to_10000_clusters(G, n):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("y ~ x + (1 | g)", clusters(G, n))
    spec = export._spec(dc.residual_spread_by_cluster(res))  # no Altair row limit, as reports
    rows = max(spec["datasets"].values(), key=len)
    assert len(rows) == G  # every cluster, in a tooltip of its own
    sds = [r["sd"] for r in rows]
    assert sds == sorted(sds)
    # the x axis is a ranking without one label per cluster (no barcode at 160 clusters)
    xs = [lyr["encoding"]["x"] for lyr in layers(spec) if "x" in lyr.get("encoding", {})]
    assert xs and all(x["type"] == "quantitative" and x["axis"]["labels"] is False for x in xs)
    tips = [lyr["encoding"].get("tooltip") for lyr in layers(spec)]
    assert any(t and t[0]["field"] == "cluster" for t in tips)
    subtitle = " ".join(spec["title"]["subtitle"])
    assert "Look for" in subtitle and "σ" in subtitle
    # the σ reference line is the model's residual SD
    rule = [lyr for lyr in layers(spec) if lyr.get("mark", {}).get("strokeDash")][0]
    sigma = spec["datasets"][rule["data"]["name"]][0]["y"]
    assert sigma == pytest.approx(res.sigma)
    # each sd is the sample SD of that cluster's conditional residuals
    e = res.residuals("conditional")
    first = rows[0]
    codes = res.data.loc[e.index, "g"].astype(str)
    assert first["sd"] == pytest.approx(e[codes == first["cluster"]].std(ddof=1))


def test_qq_colours_have_a_legend_and_a_caption():
    res = fitted_case("hsb_crosslevel")
    for chart in (dc.qq_residuals(res), dc.qq_random_effects(res)):
        text = json.dumps(chart.to_dict())
        assert dc.QQ_INSIDE in text and dc.QQ_OUTSIDE in text  # legend entries
        assert '"legend": {"orient": "bottom"}' in text
        assert "Points should follow the dashed line" in text


def test_influence_chart_speaks_plain_words():
    res = fitted_case("sleep_slope_reml")
    table = res.influence("Subject", exact=False, progress=False)
    text = json.dumps(dc.influence_index_plot(table).to_dict())
    assert "Cook's distance" in text and "cooks per cluster" not in text
    assert '"title": "cooks"' not in text


def test_report_data_card_counts_rows_dropped_per_model():
    data = mlm.load_dataset("sleepstudy").copy()
    data["z"] = np.arange(len(data), dtype=float)
    data.loc[data.index[:25], "z"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m1 = mlm.fit("Reaction ~ Days + (1 | Subject)", data)
        m2 = mlm.fit("Reaction ~ Days + z + (1 | Subject)", data)
    assert (m1.n_dropped, m2.n_dropped) == (0, 25)
    page = report(m1, m2, explorer=False, diagnostics=False)
    data_section = page[page.index('<section id="data">'):page.index("</section>")]
    assert "model 1: 0 · model 2: 25" in data_section
    assert "model 1: 180 · model 2: 155" in data_section
    assert "0 rows dropped" not in data_section

"""Offline reports of GLMM and Bayesian fits carry "For the paper": the same table as
``mlm.table``, the methods paragraph and the equations, with every user string escaped and no
script but the inline copy handler."""

from __future__ import annotations

import html
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import mlm_jupyter as mlm


def _hostile(seed: int) -> pd.DataFrame:
    """Markup in the response, the predictor and the cluster labels."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(10), 14)
    x = rng.normal(size=g.size)
    u = rng.normal(0, 0.7, 10)[g]
    return pd.DataFrame({"x<i>": x, "u": u, "grp": [f"<script>{i}</script>" for i in g]})


def _check_page(page: str, res) -> None:
    assert 'id="paper"' in page and "For the paper" in page
    # the table in the report is mlm.table's, number for number
    assert str(mlm.table(res, format="html", model_names=["Model 1"])) in page
    assert html.escape(res.methods_text()) in page
    assert html.escape(res.equations("latex")) in page
    # escaped labels; the only script is the inline copy handler; nothing from the network
    assert "<b>y" not in page and "&lt;b&gt;y" in page
    assert "<script>0</script>" not in page and "x<i>" not in page
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ["<script>"], scripts
    assert "https://" not in page and "http://" not in page.replace("http://www.w3.org", "")


def test_glmm_report_has_the_paper_section(tmp_path):
    df = _hostile(3)
    eta = -0.2 + 0.8 * df["x<i>"] + df["u"]
    df["<b>y"] = (np.random.default_rng(4).uniform(size=len(df)) < 1 / (1 + np.exp(-eta))
                  ).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("`<b>y` ~ `x<i>` + (1 | grp)", df, family="binomial")
    path = tmp_path / "glmm.html"
    page = mlm.report(res, path=str(path), nsim=30)
    assert path.read_text(encoding="utf-8") == page
    _check_page(page, res)
    assert "Odds ratio" in page or "odds ratio" in page
    assert 'id="paper"' not in res.to_html(nsim=30, paper=False)


def test_bayes_report_has_the_paper_section(tmp_path):
    pytest.importorskip("nutpie")
    df = _hostile(5)
    df["<b>y"] = 1 + 0.5 * df["x<i>"] + df["u"] + np.random.default_rng(6).normal(size=len(df))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("`<b>y` ~ `x<i>` + (1 | grp)", df, method="bayes", draws=100,
                      warmup=150, chains=2, seed=1, warn=False)
    path = tmp_path / "bayes.html"
    page = mlm.report(res, path=str(path))
    assert path.read_text(encoding="utf-8") == page
    _check_page(page, res)
    assert "Posterior predictive check" in page

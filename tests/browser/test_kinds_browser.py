"""The explorer of a GLMM and of a Bayesian fit in headless chromium, offline (static page, no
kernel, every non-local request blocked): the Interaction and Clusters charts draw, on the
response scale for the GLMM and from the posterior draws for the Bayesian fit. Screenshots go
to ``screens``.
"""

from __future__ import annotations

import warnings

import pytest

import mlm_jupyter as mlm
from mlm_jupyter.display.embed import bundle_html, explorer_div

pytestmark = pytest.mark.browser

HOOK = "document.querySelector('.mlm-static-explorer').__mlm"


def _open(static_page, state: dict, name: str):
    (static_page.root / name).write_text(
        "<!doctype html><html><body style='width:1040px'>"
        f"{bundle_html()}{explorer_div(state, 'light')}</body></html>", encoding="utf-8")
    page, external, errors = static_page(name, viewport=(1100, 1300))
    page.wait_for_function(f"!!{HOOK}", timeout=60_000)
    page.evaluate(f"{HOOK}.ready().then(() => true)")
    return page, external, errors


def _tab(page, label: str) -> None:
    page.locator(".mlm-explorer [role=tab]", has_text=label).click()
    page.evaluate(f"{HOOK}.ready().then(() => true)")


def _drawn(page, chart: str) -> int:
    """Marks Vega drew in one chart: rows of its first data set with any."""
    page.wait_for_selector(f".mlm-explorer [data-chart={chart}] canvas", timeout=30_000)
    return page.evaluate(
        f"""() => {{ const v = {HOOK}.ctx.views['{chart}'] ?? {HOOK}.ctx.views.{chart};
             if (!v) return -1;
             const names = Object.keys(v.getState({{data: () => true}}).data || {{}});
             return Math.max(0, ...names.map((n) => {{ try {{ return v.data(n).length; }}
                                                     catch (e) {{ return 0; }} }})); }}""")


def test_glmm_and_bayes_explorers_draw_offline(static_page, screens):
    from glmm_reference import glmm_fit

    glmm = glmm_fit("students_logit").explore(predictor="motiv")
    page, external, errors = _open(static_page, glmm.state, "glmm.html")
    _tab(page, "Interaction")
    assert _drawn(page, "interaction") > 0
    header = page.locator(".mlm-explorer").inner_text()
    assert "binomial GLMM, logit link" in header and "probability of pass" in header
    page.locator(".mlm-explorer").screenshot(path=str(screens / "kinds-glmm-interaction.png"))
    _tab(page, "Clusters")
    for chart in ("blup", "spaghetti", "caterpillar"):
        assert _drawn(page, chart) > 0, chart
    assert "Conditional modes (link scale)" in page.locator(".mlm-explorer").inner_text()
    page.locator(".mlm-explorer").screenshot(path=str(screens / "kinds-glmm-clusters.png"))
    assert external == [] and errors == []

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bayes = mlm.fit("Reaction ~ Days + (Days | Subject)", mlm.load_dataset("sleepstudy"),
                        method="bayes", seed=2, draws=100, warmup=150, chains=2, warn=False)
    page, external, errors = _open(static_page, bayes.explore().state, "bayes.html")
    _tab(page, "Interaction")
    assert _drawn(page, "interaction") > 0
    text = page.locator(".mlm-explorer").inner_text()
    assert "Bayesian fit · slopes from 200 posterior draws" in text
    page.locator(".mlm-explorer").screenshot(path=str(screens / "kinds-bayes-interaction.png"))
    _tab(page, "Clusters")
    assert _drawn(page, "caterpillar") > 0
    page.locator(".mlm-explorer").screenshot(path=str(screens / "kinds-bayes-clusters.png"))
    assert external == [] and errors == []

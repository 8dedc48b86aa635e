"""The explorer's Predictions tab in an offline report (headless Debian chromium, network blocked).

The tab computes its bands in the browser from the state, so a report opened from disk must
draw the same numbers as ``res.predict_response`` and let the bands be switched off.
"""

from __future__ import annotations

import pytest

from tests.conftest import fitted_case

pytestmark = pytest.mark.browser

# The page starts the explorer after loading its bundle: until then there is no element.
HOOK = "document.querySelector('.mlm-explorer')?.parentElement?.__mlm"


def test_predictions_tab_matches_python_offline(browser, tmp_path):
    res = fitted_case("hsb_crosslevel")
    path = tmp_path / "report.html"
    res.to_html(str(path), diagnostics=False)
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    external, errors = [], []
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:"))
               else (external.append(r.request.url), r.abort()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.resolve().as_uri())
        page.wait_for_function(f"!!{HOOK}", timeout=30_000)
        page.evaluate(f"{HOOK}.ready().then(() => true)")
        page.click("[role=tab][data-panel=predictions]")
        page.wait_for_function(f"!!{HOOK}.ctx.views.predictions", timeout=30_000)
        rows = page.evaluate(f"{HOOK}.ctx.views.predictions.data('pred')"
                             ".map(r => [r.group, r.x, r.fit, r.pred_lower, r.conf_upper])")
        caption = page.get_attribute(".mlm-pred-caption", "data-x")
        page.click("[data-toggle=showPred]")
        shown = page.evaluate(f"{HOOK}.ctx.views.predictions.signal('showPred')")
    finally:
        context.close()
    assert external == [] and errors == []
    assert caption == "cses" and shown is False
    table = res.predict_response(["cses", "catholic"])
    assert len(rows) == len(table)
    for (group, x, fit, lo, hi), want in zip(rows, table.itertuples(), strict=True):
        assert group == want.group
        assert x == pytest.approx(want.x, rel=1e-12, abs=1e-12)
        assert fit == pytest.approx(want.fit, rel=1e-9)
        assert lo == pytest.approx(want.pred_lower, rel=1e-9)
        assert hi == pytest.approx(want.conf_upper, rel=1e-9)


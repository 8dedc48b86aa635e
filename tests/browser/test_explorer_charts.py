"""Chart and interaction details of the explorer in headless chromium (static page, no
kernel; the same front end as in JupyterLab): a random-intercept model opens on Clusters,
Vega's actions button leaves the top-ranked caterpillar point uncovered, and the first brush
drag after clicking a cluster selects what it encloses. Screenshots go to ``screens``.
"""

from __future__ import annotations

import json
import warnings

import pytest

import mlm_jupyter as mlm
from mlm_jupyter.display.embed import static_explorer_html

pytestmark = pytest.mark.browser

HOOK = "document.querySelector('.mlm-static-explorer').__mlm"


def page_of(static_page, res, name: str):
    html = static_explorer_html(res)
    (static_page.root / name).write_text(
        f"<!doctype html><html><body style='width:1040px'>{html}</body></html>")
    page, external, errors = static_page(name, viewport=(1100, 1100))
    page.wait_for_function(f"!!{HOOK}", timeout=60_000)
    page.evaluate(f"{HOOK}.ready().then(() => true)")
    return page, external, errors


def point_px(page, view: str, data: str, x: str, y: str, pick: str) -> dict:
    """Page coordinates of one datum of a view (``pick`` chooses it from the data set)."""
    return page.evaluate(
        f"""() => {{ const v = {HOOK}.ctx.views.{view};
             const rows = v.data('{data}'); const r = ({pick})(rows);
             const box = v.container().querySelector('canvas').getBoundingClientRect();
             const [ox, oy] = v.origin(); const pad = v.padding();
             return {{ id: r.id, x: box.x + pad.left + ox + v.scale('x')(r['{x}']),
                       y: box.y + pad.top + oy + v.scale('y')(r['{y}']) }}; }}"""
    )


def selected(page) -> list[str]:
    return page.evaluate(f"{HOOK}.ctx.selection.list()")


def test_random_intercept_model_opens_on_clusters(static_page, screens):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("mathach ~ ses + (1 | school)", mlm.load_dataset("hsb"))
    page, external, errors = page_of(static_page, res, "ri.html")
    tab = page.locator(".mlm-explorer [role=tab][aria-selected=true]")
    assert tab.inner_text() == "Clusters"
    page.wait_for_selector(".mlm-explorer [data-chart=caterpillar] canvas")
    page.locator(".mlm-explorer").screenshot(path=str(screens / "charts-ri-opens-on-clusters.png"))
    assert external == [] and errors == []


def test_actions_button_and_click_then_brush(static_page, screens):
    res = mlm.fit("mathach ~ cses*catholic + meanses + (1 + cses | school)",
                  mlm.load_dataset("hsb"))
    page, external, errors = page_of(static_page, res, "hsb.html")
    page.locator(".mlm-explorer [role=tab]", has_text="Clusters").click()
    page.wait_for_selector(".mlm-explorer [data-chart=caterpillar] canvas")
    page.evaluate(f"{HOOK}.ready().then(() => true)")

    # The top-ranked caterpillar point (and its interval end) is not under the "..." button.
    top = point_px(page, "caterpillar", "cat", "rank", "est",
                   "rows => rows.reduce((a, b) => (b.rank > a.rank ? b : a))")
    button = page.locator(".mlm-explorer [data-chart=caterpillar] summary").bounding_box()
    inside = (button["x"] - 4 <= top["x"] <= button["x"] + button["width"] + 4
              and button["y"] - 4 <= top["y"] <= button["y"] + button["height"] + 4)
    assert not inside, (top, button)
    canvas = page.locator(".mlm-explorer [data-chart=caterpillar] canvas").bounding_box()
    assert button["x"] >= canvas["x"] + canvas["width"] - 2  # in the gutter beside the plot
    page.locator(".mlm-explorer [data-chart=caterpillar]").screenshot(
        path=str(screens / "charts-caterpillar-actions-gutter.png"))

    # Click one school in the BLUP scatter, then drag once: the drag's schools are selected.
    target = point_px(page, "blup", "points", "x", "y", "rows => rows[5]")
    page.mouse.click(target["x"], target["y"])
    page.wait_for_function(f"{HOOK}.ctx.selection.size === 1", timeout=10_000)
    clicked = selected(page)
    box = page.locator(".mlm-explorer [data-chart=blup] canvas").bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.25
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(1, 9):
        page.mouse.move(x0 + 14 * k, y0 + 11 * k)
        page.wait_for_timeout(25)
    page.mouse.up()
    page.wait_for_function(
        f"{HOOK}.ctx.selection.size > 1", timeout=10_000)
    brush = page.evaluate(f"{HOOK}.ctx.views.blup.signal('brush')")
    rows = page.evaluate(f"{HOOK}.ctx.views.blup.data('points')")
    (x_lo, x_hi), (y_lo, y_hi) = sorted(brush["x"]), sorted(brush["y"])
    inside_ids = sorted(r["id"] for r in rows
                        if x_lo <= r["x"] <= x_hi and y_lo <= r["y"] <= y_hi)
    assert sorted(selected(page)) == inside_ids and selected(page) != clicked
    summary = page.locator(".mlm-explorer .mlm-selection").get_attribute("data-selected")
    summary = json.loads(summary)
    assert sorted(summary) == inside_ids
    page.locator(".mlm-explorer").screenshot(path=str(screens / "charts-click-then-brush.png"))
    # A double-click clears the brush and the selection.
    page.mouse.dblclick(x0 + 50, y0 + 40)
    page.wait_for_function(f"{HOOK}.ctx.selection.size === 0", timeout=10_000)
    assert external == [] and errors == []

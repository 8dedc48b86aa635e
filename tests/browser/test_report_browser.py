"""Offline reports and nbconvert exports in headless Debian chromium, with the network blocked.

Pages are opened from disk (``file://``), as a reader opens a mailed report. Every request
that is not to a local file is aborted and recorded; the tests require none, no console error,
rendered charts, and a simple-slope readout that follows the moderator controls.
Uses the ``browser`` and ``screens`` fixtures of ``tests/browser/conftest.py``.
"""

from __future__ import annotations

import re
import time
import warnings

import nbformat
import pytest

import mlm_jupyter as mlm
from mlm_jupyter.display.export import notebook_to_html
from tests.conftest import fitted_case, thousand_clusters

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
CHARTS = ".mlm-static-explorer svg, .mlm-static-explorer canvas"


class OfflinePage:
    """A chromium page that may load only local files; records what it tried and what failed."""

    def __init__(self, browser, viewport=(1200, 1000)):
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.page = self.context.new_page()
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def _route(self, route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def open(self, path, explorers: int) -> float:
        """Load ``path`` and wait until ``explorers`` explorers drew their first panel (a chart,
        or the note that a random-intercept-only model has no slope to show); seconds taken."""
        start = time.perf_counter()
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function(
            "n => [...document.querySelectorAll('.mlm-static-explorer, .mlm-fallback')]"
            ".filter(e => "
            "e.querySelector('.mlm-chart svg, .mlm-chart canvas, .mlm-empty')).length >= n",
            arg=explorers, timeout=30_000, polling=20,
        )
        return time.perf_counter() - start

    def assert_clean(self):
        assert self.blocked == [], f"network requests from the file: {self.blocked}"
        assert self.failed == [], f"failed requests: {self.failed}"
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.dialogs == []

    def close(self):
        self.context.close()


@pytest.fixture
def offline(browser):
    pages = []

    def make(**kw):
        pages.append(OfflinePage(browser, **kw))
        return pages[-1]

    yield make
    for p in pages:
        p.close()


def readout(explorer) -> float:
    text = explorer.locator(".mlm-readout .mlm-big").first.inner_text()
    return float(text.replace("\u2212", "-").replace(",", ""))


def expected_slope(res, x: str, mod: str, value: float) -> float:
    g = res.fixef
    inter = next(n for n in g.index if set(n.split(":")) == {x, mod})
    return float(g[x] + g[inter] * value)


# ---------------------------------------------------------------------------------------
def test_hsb_report_offline_and_interactive(offline, tmp_path, screens):
    models = [fitted_case(c) for c in ("hsb_empty", "hsb_slope", "hsb_crosslevel")]
    path = tmp_path / "hsb_report.html"
    mlm.report(*models, path=path, title="High School and Beyond")
    view = offline()
    seconds = view.open(path, explorers=3)
    page = view.page
    page.screenshot(path=screens / "report_hsb_full.png", full_page=True)
    # The two models with a slope draw charts; static charts are inline SVG or PNG.
    assert page.locator(".mlm-static-explorer .mlm-chart svg, "
                        ".mlm-static-explorer .mlm-chart canvas").count() >= 2
    assert page.locator("#data .chart svg").count() >= 1
    assert page.locator("#diagnostics .chart svg, #diagnostics .chart img").count() >= 2

    cross = models[2]
    explorer = page.locator(".mlm-static-explorer").nth(2)
    explorer.scroll_into_view_if_needed()
    before = readout(explorer)
    assert before == pytest.approx(cross.fixef["cses"], abs=6e-4)
    explorer.locator('input[type=radio][data-moderator="catholic"][data-value="1"]').check(
        force=True)
    page.wait_for_function(
        "([el, v]) => el.querySelector('.mlm-readout .mlm-big').textContent.trim() !== v",
        arg=[explorer.element_handle(), f"{before:.3f}"], timeout=5_000,
    )
    after = readout(explorer)
    assert after == pytest.approx(expected_slope(cross, "cses", "catholic", 1), abs=6e-4)
    explorer.screenshot(path=screens / "report_hsb_toggle.png")
    view.assert_clean()
    print(f"hsb report: {path.stat().st_size / 1e6:.2f} MB, explorers drawn in {seconds:.2f} s")


def test_slider_and_large_report(offline, tmp_path, screens):
    """1,000 clusters: file size, time to interactive, and a slider moving the readout."""
    data = thousand_clusters(seed=7, group="school")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("y ~ x * w + (1 + x | school)", data)
    path = tmp_path / "big.html"
    res.to_html(path)
    size_mb = path.stat().st_size / 1e6
    view = offline()
    seconds = view.open(path, explorers=1)
    page = view.page
    slider = page.locator('.mlm-static-explorer input[type=range][data-moderator="w"]')
    slider.scroll_into_view_if_needed()
    before = readout(page)
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    value = float(slider.input_value())
    page.wait_for_timeout(200)
    after = readout(page)
    assert after != before
    assert after == pytest.approx(expected_slope(res, "x", "w", value), abs=6e-4)
    page.locator(".mlm-static-explorer").screenshot(path=screens / "report_big_slider.png")
    view.assert_clean()
    print(f"1,000-cluster report: {size_mb:.2f} MB, interactive after {seconds:.2f} s")
    assert size_mb < 3
    assert seconds < 2.0


def test_xss_names_render_as_text(offline, tmp_path, screens, sleepstudy):
    data = sleepstudy.rename(columns={"Reaction": XSS})
    res = mlm.fit(f"`{XSS}` ~ Days + (Days | Subject)", data)
    path = tmp_path / "xss.html"
    res.to_html(path, title=XSS)
    view = offline()
    view.open(path, explorers=1)
    page = view.page
    assert page.locator('img[src="x"]').count() == 0
    assert page.title() == XSS
    assert XSS in page.locator("h1").inner_text()
    assert XSS in page.locator(".mlm-static-explorer").first.inner_text()
    page.screenshot(path=screens / "report_xss.png")
    view.assert_clean()


FIT_CELL = (
    "import mlm_jupyter as mlm\n"
    "res = mlm.fit('mathach ~ cses * catholic + meanses + (1 + cses | school)',"
    " mlm.load_dataset('hsb'))"
)
# An explorer whose MIME bundle carries the static fallback (static_explorer_html), as
# ModelExplorer._repr_mimebundle_ may provide it; the plain `res.explore()` cell exercises the
# other path, the explorer state saved with the notebook's widget state.
FALLBACK_CELL = (
    "from IPython.display import display\n"
    "from mlm_jupyter.display.report import static_explorer_html\n"
    "w = res.explore()\n"
    "bundle = w._repr_mimebundle_()\n"
    "data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)\n"
    "data.setdefault('text/html', static_explorer_html(res))\n"
    "display(data, raw=True)"
)


def test_nbconvert_export_keeps_the_explorer(offline, tmp_path, screens):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Exported explorers"),
                nbformat.v4.new_code_cell(FIT_CELL),
                nbformat.v4.new_code_cell("res.explore()"),
                nbformat.v4.new_code_cell(FALLBACK_CELL)]
    src = tmp_path / "explorer.ipynb"
    nbformat.write(nb, src)
    out = notebook_to_html(src, tmp_path / "explorer.html", execute=True)
    page_html = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=\"https?:", page_html)
    # nbconvert re-serialises output HTML (attribute order, ="" values): count loosely.
    assert len(re.findall(r"<script[^>]*data-mlm-explorer-bundle", page_html)) == 1
    view = offline()
    view.open(out, explorers=2)
    page = view.page
    for k in range(2):
        # res.explore() leaves its offline copy (.mlm-fallback); the last cell a static one
        explorer = page.locator(".mlm-fallback, .mlm-static-explorer").nth(k)
        before = readout(explorer)
        explorer.locator('input[type=radio][data-moderator="catholic"][data-value="1"]').check(
            force=True)
        page.wait_for_timeout(300)
        assert readout(explorer) != before
    page.screenshot(path=screens / "report_nbconvert.png", full_page=True)
    view.assert_clean()

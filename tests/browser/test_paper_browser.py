"""The paper table in headless Debian chromium: readable in light and dark, unaffected by
JupyterLab's table styles, and the report's copy buttons put the right text on the clipboard.

Screenshots (light, dark, JupyterLab-dark) go to the ``screens`` folder
(``$MLM_SCREENSHOT_DIR`` to keep them).  Pages are opened from disk with the network blocked.
"""

from __future__ import annotations

import pytest

import mlm_jupyter as mlm
from tests.conftest import fitted_case

pytestmark = pytest.mark.browser

#: The rules JupyterLab's rendered-HTML outputs give every table (zebra rows, right-aligned
#: cells, fixed layout), on its dark theme's colours.
JUPYTERLAB_DARK = """
body { background: #111111; color: #d4d4d4; --jp-content-font-color1: rgba(255,255,255,.87); }
.jp-RenderedHTMLCommon table { border-collapse: collapse; border: none; table-layout: fixed;
  color: var(--jp-content-font-color1); font-size: 12px; margin-left: auto; margin-right: auto; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { text-align: right; padding: .5em;
  border: none; }
.jp-RenderedHTMLCommon tbody tr:nth-child(odd) { background: #f5f5f5; }
"""

LUMINANCE = """el => {
  const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number);
                     return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  let bg = null, node = el;
  while (node) { const c = getComputedStyle(node).backgroundColor;
    if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') { bg = c; break; }
    node = node.parentElement; }
  bg = bg || getComputedStyle(document.body).backgroundColor;
  return {text: lum(getComputedStyle(el).color), background: lum(bg), bg: bg,
          align: getComputedStyle(el).textAlign};
}"""


def _page(browser, scheme: str):
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1000, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    blocked: list[str] = []
    errors: list[str] = []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("file:", "data:")) else (blocked.append(route.request.url), route.abort()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, blocked, errors


@pytest.fixture(scope="module")
def models():
    return fitted_case("hsb_slope"), fitted_case("hsb_crosslevel")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_table_page_is_readable_in_light_and_dark(browser, screens, tmp_path, models, scheme):
    path = tmp_path / "table.html"
    mlm.table(*models, path=path, title="Table 1. <Math> & SES", stars=True)
    context, page, blocked, errors = _page(browser, scheme)
    page.goto(path.as_uri())
    cell = page.locator(".mlm-paper-table td").first
    seen = cell.evaluate(LUMINANCE)
    page.locator(".mlm-paper").screenshot(path=str(screens / f"paper_table_{scheme}.png"))
    assert abs(seen["text"] - seen["background"]) > 120, seen  # clearly readable
    assert (seen["background"] < 60) == (scheme == "dark"), seen
    assert page.locator("caption").inner_text() == "Table 1. <Math> & SES"
    assert blocked == [] and errors == []
    context.close()


def test_table_keeps_its_look_inside_jupyterlab_dark(browser, screens, tmp_path, models):
    fragment = mlm.table(*models, stars=True)
    path = tmp_path / "lab.html"
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{JUPYTERLAB_DARK}"
                    f"</style></head><body><div class='jp-RenderedHTMLCommon'>{fragment}</div>"
                    "</body></html>", encoding="utf-8")
    context, page, blocked, errors = _page(browser, "dark")
    page.goto(path.as_uri())
    rows = page.locator(".mlm-paper-table tbody tr")
    odd = rows.nth(2).locator("td").first.evaluate(LUMINANCE)  # a zebra row in JupyterLab
    assert odd["bg"] == "rgb(17, 17, 17)", odd  # no zebra: the page's dark background
    assert abs(odd["text"] - odd["background"]) > 120, odd
    label = page.locator(".mlm-paper-table tbody th").nth(1).evaluate(LUMINANCE)
    assert label["align"] == "left"
    page.locator(".mlm-paper").screenshot(path=str(screens / "paper_table_jupyterlab_dark.png"))
    assert blocked == [] and errors == []
    context.close()


def test_report_copy_buttons_fill_the_clipboard(browser, screens, tmp_path):
    models = fitted_case("sleep_int_ml"), fitted_case("sleep_slope_ml")
    path = tmp_path / "report.html"
    mlm.report(*models, path=path, explorer=False, diagnostics=False)
    context, page, blocked, errors = _page(browser, "light")
    page.goto(path.as_uri())
    page.locator("#paper").scroll_into_view_if_needed()

    def copy(target: str) -> str:
        button = page.locator(f"[data-mlm-copy={target}]")
        button.click()
        page.wait_for_function("b => b.textContent === 'Copied'", arg=button.element_handle())
        return page.evaluate("navigator.clipboard.readText()")

    assert copy("paper-methods-2") == models[1].methods_text()
    page.locator("#paper details").first.locator("summary").click()
    latex = copy("paper-latex")
    assert latex == str(mlm.table(*models, format="latex"))
    table_text = copy("paper-table")
    assert "Intercept" in table_text and "τ" in table_text and "Satterthwaite" in table_text
    page.locator("#paper").screenshot(path=str(screens / "report_for_the_paper.png"))
    assert blocked == [] and errors == []
    context.close()


def test_magic_table_in_jupyterlab_light_and_dark(notebook, screens):
    nb = notebook
    nb.run("%load_ext mlm_jupyter\nimport mlm_jupyter as mlm\nhsb = mlm.load_dataset('hsb')\n"
           "m0 = mlm.fit('mathach ~ 1 + (1 | school)', hsb)\n"
           "m1 = mlm.fit('mathach ~ cses * catholic + meanses + (1 + cses | school)', hsb)")
    nb.run("%mlm table m0 m1 --stars --title 'Table 1'")
    table = nb.page.locator(".jp-OutputArea-output .mlm-paper-table").first
    table.wait_for(timeout=60_000)
    assert "τ11 school: cses" in table.inner_text()
    output = nb.page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea")
    output.scroll_into_view_if_needed()
    for theme in ("light", "dark"):
        nb.set_theme(theme)
        cell = table.locator("td").first.evaluate(LUMINANCE)
        label = table.locator("tbody th").nth(1).evaluate(LUMINANCE)
        assert abs(cell["text"] - cell["background"]) > 120, (theme, cell)
        assert label["align"] == "left", label  # JupyterLab right-aligns table cells
        output.screenshot(path=str(screens / f"paper_table_lab_{theme}.png"))
    nb.set_theme("light")
    assert not nb.external_requests, nb.external_requests

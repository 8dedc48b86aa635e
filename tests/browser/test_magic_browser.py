"""%%mlm in a real JupyterLab (Debian chromium + Playwright): the summary renders, in light
and dark themes, with readable contrast; an error cell shows the short message.

Fixtures (one JupyterLab server per session, a fresh notebook per test) come from
``tests/browser/conftest.py``; everything skips when chromium, Playwright or JupyterLab is
missing.  Screenshots go to ``$MLM_SCREENSHOT_DIR`` (e.g. /work/helpers/screens).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

SETUP = "%load_ext mlm_jupyter\nimport mlm_jupyter as mlm\nhsb = mlm.load_dataset('hsb')"
CELL = (
    "%%mlm hsb -o m1 --no-explore\n"
    "mathach ~ cses * catholic + meanses   # school-level moderators\n"
    "    + (1 + cses | school)"
)

# relative luminance contrast of the summary's text against the page behind it
CONTRAST_JS = """el => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let node = el, bg = null;
  while (node) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) { bg = c; break; }
    node = node.parentElement;
  }
  bg = bg || [255, 255, 255];
  const td = el.querySelector('td.mlmj-num');
  const fg = rgb(getComputedStyle(td).color);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def test_mlm_cell_summary_light_dark_and_error(notebook, screens):
    nb = notebook
    nb.run(SETUP)
    nb.run(CELL)
    page = nb.page
    summary = page.locator(".jp-OutputArea-output .mlmj-summary").first
    summary.wait_for(timeout=60_000)
    text = summary.inner_text()
    for word in ("Linear mixed model fit by REML", "Random effects", "Fixed effects",
                 "(Intercept)", "cses:catholic", "Residual", "REML criterion", "Signif. codes"):
        assert word in text, word
    # five fixed effects, three random-effect rows (intercept, slope, residual)
    assert summary.locator("table.mlmj-table").nth(1).locator("tbody tr").count() == 5
    assert summary.locator("table.mlmj-table").nth(0).locator("tbody tr").count() == 3
    assert nb.kernel("type(m1).__name__") == "'MixedModelResult'"
    assert nb.kernel("round(m1.objective, 1)") == "46514.5"  # lme4's REML criterion

    output = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea")
    output.scroll_into_view_if_needed()
    output.screenshot(path=str(screens / "magic_light.png"))
    assert summary.evaluate(CONTRAST_JS) >= 7.0

    nb.set_theme("dark")
    output.screenshot(path=str(screens / "magic_dark.png"))
    assert summary.evaluate(CONTRAST_JS) >= 7.0
    nb.set_theme("light")

    # an error cell in the same notebook (JupyterLab restores the first notebook's tab over a
    # second one, so a separate test would look at a hidden page): the short message, no
    # traceback
    nb.run("%%mlm hsb -o bad\nmathach ~ csse + (1 | school)")
    box = page.locator(".jp-OutputArea-output .mlmj-error").first
    box.wait_for(timeout=60_000)
    text = box.inner_text()
    assert "Unknown column" in text and "Did you mean 'cses'?" in text and "^" in text
    stderr = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    assert page.locator(stderr).count() == 0
    box.screenshot(path=str(screens / "magic_error.png"))
    assert not nb.external_requests, nb.external_requests

"""An explorer's whole life in real front ends (Debian chromium + Playwright).

JupyterLab 4 and Notebook 7: run ``%%mlm``, switch the moderator (the readout changes to
lme4's simple slope), save, restart the kernel (the offline copy takes over in place),
reload (it renders and still reacts), and the saved notebook stays small. Then plain
``jupyter nbconvert --to html`` of the saved notebook and ``--execute`` of a fresh one: the
explorers render and react with the network blocked, and nothing the explorer loads leaves
the machine (nbconvert's own template still names require.js and MathJax on a CDN).
Screenshots of every state go to ``$MLM_SCREENSHOT_DIR``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import empty_notebook, jupyter_data_path, open_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REF = Path(__file__).resolve().parents[1] / "reference"
SETUP = "%load_ext mlm_jupyter\nimport mlm_jupyter as mlm\nhsb = mlm.load_dataset('hsb')"
CELL = "%%mlm hsb -o m1\nmathach ~ cses*catholic + meanses + (1 + cses | school)"
SHOWN = ".mlm-explorer:visible"
# nbconvert's own template (not the explorer) names these; offline they fail harmlessly.
TEMPLATE_URLS = ("require.js", "mathjax", "@jupyter-widgets/html-manager")
MAX_SAVED_BYTES = 3_000_000


def r_slope(catholic: int) -> float:
    rows = json.loads((REF / "effects.json").read_text())["simple_slopes"]
    at = {"catholic": catholic}
    return next(r for r in rows if r["case"] == "hsb_crosslevel" and r["at"] == at)["estimate"]


def shown_kind(page) -> str:
    """'live' (the widget view), 'copy' (the offline copy) or 'none', waiting for a ready one."""
    page.wait_for_selector(f"{SHOWN} .mlm-readout[data-estimate]", timeout=90_000)
    return page.evaluate(
        """() => { const all = [...document.querySelectorAll('.mlm-explorer')]
              .filter(e => e.offsetParent !== null);
            if (all.length !== 1) return 'count:' + all.length;
            return all[0].closest('.mlm-fallback') ? 'copy' : 'live'; }"""
    )


def switch_moderator(page) -> tuple[float, float]:
    """Click catholic = 1, then 0, in the visible explorer; the readout follows (lme4 values)."""
    box = page.locator(SHOWN)
    readout = box.locator(".mlm-readout")
    handle = readout.element_handle()
    values = []
    for level in (1, 0):
        box.locator(".mlm-seg-item label", has_text=str(level)).click()
        at = json.dumps({"catholic": level}, separators=(",", ":"))
        page.wait_for_function("([el, at]) => el.dataset.at === at", arg=[handle, at],
                               timeout=20_000)
        values.append(float(readout.get_attribute("data-estimate")))
    assert values[0] == pytest.approx(r_slope(1), rel=2e-4)
    assert values[1] == pytest.approx(r_slope(0), rel=2e-4)
    return values[0], values[1]


def no_widget_error(page) -> None:
    texts = page.evaluate(
        "() => [...document.querySelectorAll('.jp-OutputArea-output')]"
        ".filter(e => e.offsetParent !== null).map(e => e.textContent)"
    )
    assert not [t for t in texts if "Error displaying widget" in t or "Loading widget" in t]


def shoot(page, screens: Path, name: str) -> None:
    page.locator(SHOWN).screenshot(path=str(screens / f"{name}.png"))


def wait_saved(page, path: Path, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            nb = json.loads(path.read_text())
        except (OSError, ValueError):
            nb = None
        outs = [o for c in (nb or {}).get("cells", []) for o in c.get("outputs", [])]
        if any('class="mlm-fallback"' in "".join(o.get("data", {}).get("text/html", ""))
               for o in outs):
            return nb
        page.wait_for_timeout(300)  # not time.sleep: the page's requests need Playwright
    raise TimeoutError(f"{path.name} was not saved with the explorer's outputs")


def save(page, path: Path) -> dict:
    """Ctrl+S from the notebook (command mode), as a user saves; retried until on disk."""
    for _ in range(4):
        page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        try:
            return wait_saved(page, path, timeout=15)
        except TimeoutError:
            continue
    return wait_saved(page, path, timeout=15)


def restart_kernel(server, name: str) -> None:
    session = next(s for s in server.api("/api/sessions") if s["path"].endswith(name))
    server.api(f"/api/kernels/{session['kernel']['id']}/restart", method="POST", body={})


def nbconvert(args: list[str], cwd: Path) -> None:
    """``python -m nbconvert`` as a user would call it (no options of ours)."""
    env = dict(os.environ)
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([repo, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["JUPYTER_PATH"] = jupyter_data_path()
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", *args], cwd=cwd,
                   env=env, check=True, capture_output=True, timeout=300)


def check_export(static_page, html: Path, screens: Path, name: str) -> None:
    shutil.copy(html, static_page.root / html.name)
    page, external, errors = static_page(html.name, viewport=(1200, 1000))
    assert shown_kind(page) == "copy"
    switch_moderator(page)
    shoot(page, screens, name)
    ours = [u for u in external if not any(t in u.lower() for t in TEMPLATE_URLS)]
    assert ours == [], ours
    assert not [e for e in errors if "Failed to load resource" not in e], errors


def life_cycle(server, browser, name: str, screens: Path, tag: str) -> dict:
    empty_notebook(server, name)
    book = open_notebook(server, browser, name)
    page = book.page
    try:
        book.run(SETUP)
        book.run(CELL)
        assert shown_kind(page) == "live"
        switch_moderator(page)
        shoot(page, screens, f"lifecycle-{tag}-1-live")
        saved = save(page, server.root / name)

        # In place, JupyterLab keeps the view of the old kernel's widget (it computes in the
        # browser, so it still reacts); were it removed, the copy would take its place.
        restart_kernel(server, name)
        book.wait_open()
        assert shown_kind(page) in ("live", "copy")
        switch_moderator(page)
        shoot(page, screens, f"lifecycle-{tag}-2-restarted")

        page.goto(book.url)  # reload: no widget model exists any more
        book.wait_open()
        assert shown_kind(page) == "copy"
        no_widget_error(page)
        switch_moderator(page)
        shoot(page, screens, f"lifecycle-{tag}-3-reloaded")
        assert book.external_requests == []
        # Notebook 7.6's own start-up raises "reading 'schema'" in its core bundle with an
        # isolated settings directory; errors anywhere else fail the test.
        assert [e for e in book.page_errors if "/static/notebook/notebook_core" not in e] == []
    finally:
        book.close()
        book.context.close()
    size = (server.root / name).stat().st_size
    assert size < MAX_SAVED_BYTES, f"saved notebook is {size / 1e6:.2f} MB"
    return saved


def test_life_cycle_jupyterlab_and_nbconvert(lab, browser, static_page, screens, tmp_path):
    life_cycle(lab, browser, "life_lab.ipynb", screens, "lab")

    # plain nbconvert of the notebook JupyterLab saved
    work = tmp_path / "export"
    work.mkdir()
    shutil.copy(lab.root / "life_lab.ipynb", work / "saved.ipynb")
    nbconvert(["saved.ipynb"], work)
    check_export(static_page, work / "saved.html", screens, "lifecycle-nbconvert-saved")

    # plain nbconvert --execute of a fresh notebook (nbclient saves widget state too)
    import nbformat

    fresh = nbformat.v4.new_notebook()
    fresh.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}
    fresh.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(CELL)]
    nbformat.write(fresh, work / "fresh.ipynb")
    nbconvert(["--execute", "fresh.ipynb"], work)
    check_export(static_page, work / "fresh.html", screens, "lifecycle-nbconvert-execute")


def test_life_cycle_notebook7(nb7, browser, screens):
    life_cycle(nb7, browser, "life_nb7.ipynb", screens, "nb7")

"""The explorer in a marimo app (``mo.ui.anywidget(res.explore())``), headless chromium.

marimo renders anywidgets itself (no Jupyter widget manager): the explorer must draw, react to
the moderator with lme4's simple slopes, and send its selection back to Python, where a
dependent cell re-runs with ``explorer.value["selected"]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import REPO, block_external, free_port
from .test_lifecycle import switch_moderator

pytestmark = [pytest.mark.browser, pytest.mark.slow]

APP = '''
import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    import mlm_jupyter as mlm

    res = mlm.fit("mathach ~ cses*catholic + meanses + (1 + cses | school)",
                  mlm.load_dataset("hsb"))
    explorer = mo.ui.anywidget(res.explore())
    explorer
    return (explorer, mo)


@app.cell
def _(explorer, mo):
    picked = explorer.value.get("selected", [])
    mo.md(f"<span id='picked'>picked: {','.join(sorted(picked))}</span>")
    return
'''


@pytest.fixture
def marimo_app(tmp_path):
    pytest.importorskip("marimo")
    (tmp_path / "app.py").write_text(APP)
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    log = open(tmp_path / "marimo.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "marimo", "run", "app.py", "--headless", "--no-token",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while True:
        if proc.poll() is not None:
            log.close()
            pytest.fail(f"marimo exited: {(tmp_path / 'marimo.log').read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=5).read()
            break
        except Exception:  # noqa: BLE001 - still starting
            if time.time() > deadline:
                proc.terminate()
                pytest.fail("marimo did not start within 90 s")
            time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_explorer_in_a_marimo_app(marimo_app, browser, screens):
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    external: list[str] = []
    errors: list[str] = []
    block_external(page, external)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(marimo_app)
        page.wait_for_selector(".mlm-explorer .mlm-readout[data-estimate]", timeout=120_000)
        switch_moderator(page)
        # Browser -> Python: the find box selects a school; the dependent cell re-runs.
        page.locator(".mlm-explorer [role=tab]", has_text="Clusters").click()
        find = page.locator(".mlm-explorer input[type=search]")
        find.fill("1296")
        find.press("Enter")
        page.wait_for_function(
            "() => document.querySelector('#picked')?.textContent === 'picked: 1296'",
            timeout=60_000)
        selected = page.locator(".mlm-explorer .mlm-selection").get_attribute("data-selected")
        assert json.loads(selected) == ["1296"]
        page.locator(".mlm-explorer").screenshot(path=str(screens / "marimo-clusters.png"))
        assert external == []
        assert errors == []
    finally:
        context.close()

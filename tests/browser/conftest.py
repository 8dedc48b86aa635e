"""Real-browser fixtures: JupyterLab on localhost driven by Playwright with Debian's chromium.

Reusable by every browser test in the project:

* ``browser`` — a headless chromium (``/usr/bin/chromium``; nothing is downloaded).
* ``lab`` — a JupyterLab server on a random free port with a random token, a temporary root
  directory, isolated config/settings/runtime dirs, no network news or update checks.
* ``notebook`` — a fresh notebook page in that server: ``nb.run(code)`` types a cell and runs
  it in the browser, ``nb.kernel(expr)`` evaluates an expression in the same kernel through
  jupyter_client (to read e.g. ``explorer.selected``), ``nb.set_theme("dark")`` switches
  JupyterLab's theme live.
* ``static_page`` — serves a directory over http on localhost and opens pages in chromium
  (for ``renderStatic`` / report tests), with all non-local requests blocked and recorded.
* ``screens`` — folder for screenshots: ``$MLM_SCREENSHOT_DIR`` or a pytest temp dir.

Everything skips with a reason when chromium, Playwright or JupyterLab is missing.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("MLM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def _need_browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: `apt-get install chromium` to run browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: `pip install playwright` (no browser download)")
    return sync_playwright


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def screens(tmp_path_factory) -> Path:
    path = Path(os.environ.get("MLM_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screens"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser():
    sync_playwright = _need_browser()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


# ---------------------------------------------------------------------------------------
# JupyterLab
class LabServer:
    def __init__(self, root: Path, port: int, token: str, runtime: Path, proc: subprocess.Popen):
        self.root, self.port, self.token, self.runtime, self.proc = root, port, token, runtime, proc
        self.url = f"http://127.0.0.1:{port}"

    def api(self, path: str, method: str = "GET", body: dict | None = None) -> object:
        req = urllib.request.Request(
            f"{self.url}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read().decode()
        return json.loads(text) if text else None


def _lab_settings(settings: Path) -> None:
    """No news, no update checks (no network), no first-run dialogs."""
    base = settings / "@jupyterlab"
    files = {
        "apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
        "apputils-extension/themes.jupyterlab-settings": {"theme": "JupyterLab Light"},
        "notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for rel, content in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


def jupyter_data_path() -> str:
    """JUPYTER_PATH that also covers the installation prefixes of the Jupyter packages.

    A virtualenv with system site packages searches only its own share/jupyter; the
    labextensions of jupyterlab_widgets / anywidget and nbconvert's templates may live under
    the base interpreter's. (A no-op where everything is installed in one prefix.)
    """
    import importlib

    from jupyter_core.paths import jupyter_path

    known = set(jupyter_path())
    extra = []
    for name in ("jupyterlab_widgets", "anywidget", "nbconvert", "notebook", "jupyterlab"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        # <prefix>/lib/pythonX.Y/site-packages/<name>/__init__.py -> <prefix>/share/jupyter
        share = Path(mod.__file__).resolve().parents[4] / "share" / "jupyter"
        if share.is_dir() and str(share) not in known and str(share) not in extra:
            extra.append(str(share))
    return os.pathsep.join([p for p in [os.environ.get("JUPYTER_PATH", ""), *extra] if p])


def _start_server(tmp_path_factory, app: str):
    """A Jupyter server running ``app`` ("jupyterlab" or "notebook" for Notebook 7)."""
    _need_browser()
    try:
        import anywidget  # noqa: F401
        import jupyterlab  # noqa: F401
        if app == "notebook":
            import notebook  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"{exc.name} is not installed")
    base = tmp_path_factory.mktemp(app)
    root, runtime, settings, config = (base / n for n in ("root", "runtime", "settings", "config"))
    for p in (root, runtime, settings, config):
        p.mkdir()
    _lab_settings(settings)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        JUPYTER_RUNTIME_DIR=str(runtime), JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"), JUPYTER_CONFIG_DIR=str(config),
        PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        JUPYTER_PATH=jupyter_data_path(),
    )
    log = open(base / "server.log", "w")  # noqa: SIM115 - closed in teardown
    extra = ([
        "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class="
        "jupyterlab.handlers.announcements.NeverCheckForUpdate",
    ] if app == "jupyterlab" else [])
    proc = subprocess.Popen(
        [sys.executable, "-m", app, "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False", "--allow-root",
         f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0", *extra],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    server = LabServer(root, port, token, runtime, proc)
    server.app = app
    deadline = time.time() + 90
    while True:
        if proc.poll() is not None:
            log.close()
            pytest.fail(f"{app} exited: {(base / 'server.log').read_text()[-2000:]}")
        try:
            server.api("/api/status")
            break
        except Exception:  # noqa: BLE001 - still starting
            if time.time() > deadline:
                proc.terminate()
                pytest.fail(f"{app} did not start within 90 s")
            time.sleep(0.5)
    return server, log


def _stop_server(server: LabServer, log) -> None:
    for session in server.api("/api/sessions") or []:
        try:
            server.api(f"/api/sessions/{session['id']}", method="DELETE")
        except Exception:  # noqa: BLE001
            pass
    server.proc.terminate()
    try:
        server.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
    log.close()


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    if shutil.which("jupyter-lab") is None and shutil.which("jupyter") is None:
        pytest.skip("JupyterLab is not installed: `pip install jupyterlab`")
    server, log = _start_server(tmp_path_factory, "jupyterlab")
    yield server
    _stop_server(server, log)


@pytest.fixture(scope="session")
def nb7(tmp_path_factory):
    """A Notebook 7 server (``python -m notebook``), same isolation as ``lab``."""
    server, log = _start_server(tmp_path_factory, "notebook")
    yield server
    _stop_server(server, log)


class Notebook:
    """One notebook open in JupyterLab."""

    def __init__(self, page, server: LabServer, name: str):
        self.page, self.server, self.name = page, server, name
        self._client = None

    # -- browser side ----------------------------------------------------------------------
    def wait_open(self, timeout: float = 120_000) -> None:
        """Wait for the notebook's cells and an idle kernel (after opening or reloading)."""
        self.page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=timeout)
        deadline = time.time() + timeout / 1000
        while kernel_state(self.server, self.name) != "idle":
            if time.time() > deadline:
                raise TimeoutError(f"the kernel of {self.name} did not become idle: "
                                   f"{self.server.api('/api/sessions')}")
            # Not time.sleep: the page's requests pass through block_external's route
            # handler, which the sync API runs only inside a Playwright call.
            self.page.wait_for_timeout(300)
        self.page.wait_for_function(
            "!document.querySelector('.jp-Notebook-ExecutionIndicator') || "
            "document.querySelector('.jp-Notebook-ExecutionIndicator')"
            ".getAttribute('data-status') === 'idle'", timeout=timeout,
        )

    def wait_idle(self, timeout: float = 120_000) -> None:
        self.page.wait_for_function(
            """() => {
                const s = document.querySelector('.jp-Notebook-ExecutionIndicator');
                const cells = [...document.querySelectorAll('.jp-InputArea-prompt')];
                const busy = cells.some(c => c.textContent.includes('[*]'));
                return !busy && (!s || s.getAttribute('data-status') !== 'busy');
            }""",
            timeout=timeout,
        )

    def run(self, code: str, timeout: float = 120_000) -> None:
        """Type `code` into the last cell (adding one if it is not empty) and run it."""
        page = self.page
        cells = page.locator(".jp-Notebook .jp-Cell")
        last = cells.last
        editor = last.locator(".cm-content")
        if editor.inner_text().strip():
            editor.click()
            page.keyboard.press("Escape")
            page.keyboard.press("b")
            last = page.locator(".jp-Notebook .jp-Cell").last
            editor = last.locator(".cm-content")
        editor.click()
        page.keyboard.insert_text(code)
        # A fixed handle: `.last` would move to the cell Shift+Enter adds.
        cell = last.element_handle()
        prompt = cell.query_selector(".jp-InputArea-prompt")
        # Right after a notebook opens, JupyterLab can drop an execute request while the
        # kernel connection settles: retry until the prompt shows [*] or a number.
        for _ in range(4):
            cell.query_selector(".cm-content").click()
            page.keyboard.press("Shift+Enter")
            try:
                page.wait_for_function(
                    "el => /\\[(\\*|\\d+)\\]/.test(el.textContent)", arg=prompt,
                    timeout=8_000,
                )
                break
            except Exception:  # noqa: BLE001 - not started: try again
                continue
        self.wait_idle(timeout)

    def set_theme(self, theme: str) -> None:
        """Switch JupyterLab's theme live ("light" or "dark") through its Settings menu."""
        label = "JupyterLab Dark" if theme == "dark" else "JupyterLab Light"
        page = self.page
        page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
        page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{label}$")).click()
        want = "false" if theme == "dark" else "true"
        page.wait_for_function(
            f"document.body.getAttribute('data-jp-theme-light') === '{want}'", timeout=20_000
        )
        page.wait_for_timeout(800)

    # -- kernel side -----------------------------------------------------------------------
    def kernel(self, expression: str, timeout: float = 60) -> str:
        """Evaluate `expression` in the notebook's kernel; returns its text/plain repr."""
        client = self._kernel_client()
        msg_id = client.execute("", silent=True, user_expressions={"r": expression})
        deadline = time.time() + timeout
        while time.time() < deadline:
            reply = client.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                result = reply["content"]["user_expressions"]["r"]
                if result["status"] != "ok":
                    raise RuntimeError(f"{result.get('ename')}: {result.get('evalue')}")
                return result["data"]["text/plain"]
        raise TimeoutError(expression)

    def kernel_json(self, expression: str) -> object:
        import ast

        return json.loads(ast.literal_eval(self.kernel(f"__import__('json').dumps({expression})")))

    def _kernel_client(self):
        if self._client is None:
            from jupyter_client import BlockingKernelClient

            sessions = [
                s for s in self.server.api("/api/sessions") if s["path"].endswith(self.name)
            ]
            kernel_id = sessions[0]["kernel"]["id"]
            client = BlockingKernelClient()
            client.load_connection_file(str(self.server.runtime / f"kernel-{kernel_id}.json"))
            client.start_channels()
            client.wait_for_ready(timeout=60)
            self._client = client
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.stop_channels()


def block_external(page, record: list) -> None:
    """Abort every request that is not to this machine; remember what was attempted."""

    def handle(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")):
            route.continue_()
        else:
            record.append(url)
            route.abort()

    page.route("**/*", handle)


def empty_notebook(server: LabServer, name: str) -> None:
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": "", "outputs": [],
                     "execution_count": None}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (server.root / name).write_text(json.dumps(nb))


def kernel_state(server: LabServer, name: str) -> str | None:
    """Execution state of the kernel of notebook ``name`` (None while it has none)."""
    for s in server.api("/api/sessions") or []:
        if s["path"].endswith(name) and s.get("kernel"):
            return s["kernel"].get("execution_state")
    return None


def open_notebook(server: LabServer, browser, name: str):
    """Open ``name`` in JupyterLab (a fresh workspace) or Notebook 7; returns a Notebook.

    ``book.url`` reloads the same view; ``book.context`` is closed by the caller.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    external: list[str] = []
    block_external(page, external)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"{e}\n{getattr(e, 'stack', '') or ''}"))
    if getattr(server, "app", "jupyterlab") == "notebook":
        url = f"{server.url}/notebooks/{name}?token={server.token}"
    else:
        # A fresh, reset workspace per test: the default one would restore earlier tests'
        # notebooks as hidden tabs (with live widgets) next to this one.
        workspace = secrets.token_hex(6)
        url = f"{server.url}/lab/workspaces/{workspace}/tree/{name}?token={server.token}&reset"
    page.goto(url)
    book = Notebook(page, server, name)
    book.url, book.context = url, context
    book.external_requests = external
    book.page_errors = errors
    book.wait_open()
    return book


@pytest.fixture
def notebook(lab, browser, request):
    name = f"{request.node.name[:40].replace('[', '_').replace(']', '')}.ipynb"
    empty_notebook(lab, name)
    book = open_notebook(lab, browser, name)
    yield book
    book.close()
    book.context.close()


# ---------------------------------------------------------------------------------------
# static pages (renderStatic, reports)
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D102
        pass


@pytest.fixture
def static_page(browser, tmp_path):
    """``open(name)`` -> (page, external_requests, console_errors) for files in ``tmp_path``."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    contexts = []

    def open_page(name: str, viewport=(1000, 1000)):
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        page = context.new_page()
        external: list[str] = []
        errors: list[str] = []
        block_external(page, external)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/{name}")
        return page, external, errors

    open_page.root = tmp_path
    yield open_page
    for c in contexts:
        c.close()
    server.shutdown()

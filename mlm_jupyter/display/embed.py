"""Embedding the explorer in static HTML: the script bundle once per page, each state as JSON.

Used by reports (:mod:`mlm_jupyter.display.report`), by nbconvert exports
(:mod:`mlm_jupyter.display.export`) and as the ``text/html`` fallback of the widget's MIME
bundle (:func:`static_explorer_html`). Nothing is loaded from the network.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import uuid
from typing import Any

from .export import BUNDLE_MARK

# The explorer bundle is an ES module whose export names are minified, so it cannot be called
# from an inline module script that merely precedes it. It is kept as inert text (gzip +
# base64: 0.43 MB instead of 0.94 MB) and imported once per page through a Blob URL (no
# network, works from file://); every explorer on the page awaits the same promise. A live
# widget's copy of the bundle publishes the same promise, so a page that has one does not
# unpack another. A failed load is forgotten, so an explorer whose bundle arrives later
# (another output) can try again.
LOADER = (
    "const load=()=>{const g=globalThis;if(!g.__mlmExplorerModule){"
    "g.__mlmExplorerModule=(async()=>{"
    f"const src=document.querySelector('script[{BUNDLE_MARK}]');"
    "if(!src)throw new Error('the explorer bundle is missing from this page');"
    "let text=src.textContent;"
    "if(src.dataset.encoding==='gzip+base64'){"
    "if(!globalThis.DecompressionStream)throw new Error('this browser cannot unpack the "
    "explorer (no DecompressionStream)');"
    "const bin=Uint8Array.from(atob(text.trim()),c=>c.charCodeAt(0));"
    "text=await new Response(new Blob([bin]).stream().pipeThrough("
    "new DecompressionStream('gzip'))).text();}"
    "const url=URL.createObjectURL(new Blob([text],{type:'text/javascript'}));"
    "try{return await import(url);}finally{URL.revokeObjectURL(url);}})();"
    "g.__mlmExplorerModule.catch(()=>{g.__mlmExplorerModule=undefined;});}"
    "return g.__mlmExplorerModule;};"
)
_LOADER = LOADER


def json_for_script(obj: Any) -> str:
    """JSON that cannot close its ``<script>`` element (``<``, ``>``, ``&`` as escapes)."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@functools.lru_cache(maxsize=2)
def _packed(path: str, mtime: float) -> str:
    """The bundle gzip-compressed (deterministic: no timestamp) and base64-encoded."""
    raw = open(path, "rb").read()  # noqa: SIM115 - read in one go
    return base64.b64encode(gzip.compress(raw, 9, mtime=0)).decode("ascii")


def bundle_html() -> str:
    """The explorer's style sheet and (inert, compressed) script bundle, once per page."""
    from .widget import bundle_paths

    js, css_path = bundle_paths()
    css = css_path.read_text(encoding="utf-8").replace("</", "<\\/")  # a style ends at "</style"
    packed = _packed(str(js), js.stat().st_mtime)
    return (
        f"<style data-mlm-explorer-css>{css}</style>"
        f'<script type="text/plain" {BUNDLE_MARK} data-encoding="gzip+base64">{packed}</script>'
    )


def explorer_div(state: dict, theme: str = "auto", selected: list[str] | None = None) -> str:
    """One explorer drawn from ``state`` by the page's bundle (see :func:`bundle_html`)."""
    uid = "mlm-x-" + uuid.uuid4().hex[:12]
    options = json.dumps({"theme": theme, "selected": [str(s) for s in selected or []]})
    options = options.replace("<", "\\u003c")
    boot = (
        f"{_LOADER}"
        f"const el=document.getElementById('{uid}');"
        f"const st=JSON.parse(document.getElementById('{uid}-state').textContent);"
        f"load().then(m=>m.renderStatic(el,st,{options}))"
        ".catch(e=>{console.error(e);el.textContent='The interactive explorer could not start: '"
        "+e.message;});"
    )
    return (
        f'<div class="mlm-static-explorer" id="{uid}"></div>'
        f'<script type="application/json" id="{uid}-state">{json_for_script(state)}</script>'
        f'<script type="module">{boot}</script>'
    )


def static_explorer_html(
    res: Any, *, include_bundle: bool = True, theme: str = "auto", **state_kw: Any
) -> str:
    """The explorer of a result as self-contained HTML (no kernel, no network).

    Meant as the ``text/html`` entry of ``ModelExplorer._repr_mimebundle_``: front ends with a
    widget manager show the live widget, while ``nbconvert`` exports (with
    :class:`mlm_jupyter.display.export.StaticExplorerPreprocessor`) and other static viewers
    get this fallback, which recomputes slopes, bands and selections in the browser.

    Parameters
    ----------
    res : MixedModelResult
    include_bundle : bool
        Include the ~1 MB script bundle; pages with several explorers need it only once.
    theme : {"auto", "light", "dark"}
    **state_kw
        Passed to :func:`mlm_jupyter.display.explorer_state.build_state` (``group``,
        ``max_clusters``, ``seed``, ``selected``, ``initial``).
    """
    from .explorer_state import build_state

    state = build_state(res, **state_kw)
    return (bundle_html() if include_bundle else "") + explorer_div(state, theme)



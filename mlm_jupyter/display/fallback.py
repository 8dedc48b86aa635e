"""The explorer's offline copy: the second output of every displayed explorer.

A notebook keeps outputs, not kernels. ``ModelExplorer`` is therefore displayed as two
outputs (see :meth:`mlm_jupyter.display.widget.ModelExplorer._ipython_display_`):

1. the live widget view (``application/vnd.jupyter.widget-view+json``), which syncs
   ``explorer.selected`` with Python while the kernel runs;
2. this module's copy (``text/html`` + ``text/plain``): a static picture, the explorer state
   as JSON, the front-end bundle (gzip + base64, ~0.4 MB, once per cell) and a boot script.

Where the live view renders, it announces itself and the copy hides (``js/src/fallback.js``);
where it cannot (kernel restarted, notebook reopened without a kernel, ``jupyter nbconvert
--to html`` with or without ``--execute``, VS Code after reopening, Quarto), the copy renders
the same explorer from the same state and computes everything in the browser, with no
network. Where scripts are stripped (GitHub, nbviewer, untrusted notebooks) the picture and
its caption stay. While the copy is shown, a style rule hides the preceding widget output
(which then holds only "Loading widget..." or "model not found").
"""

from __future__ import annotations

import base64
import html
import json
from typing import Any

from .embed import LOADER, bundle_html, json_for_script

# The copy hides the widget output just before it while the copy is visible: JupyterLab and
# Notebook 7 wrap each output in .jp-OutputArea-child, and mark every standard rendering with
# data-mime-type, which the widget renderer lacks (it shows "Loading widget..." or "model not
# found" once the kernel is gone); nbconvert's lab template does the same, the classic one and
# nbviewer mark widget outputs .jupyter-widgets. Once the live view renders, the copy is hidden
# and the rule no longer matches.
_WIDGET = ":is(.jp-OutputArea-output:not([data-mime-type]),.jupyter-widgets)"
_SHOWN = ".mlm-fallback:not([hidden])"
STYLE = (
    "<style>"
    f".jp-OutputArea-child:has(> {_WIDGET}):has(+ .jp-OutputArea-child {_SHOWN}),"
    f".output_area:has({_WIDGET}):has(+ .output_area {_SHOWN})"
    "{display:none}"
    ".mlm-fallback-picture{font:13px/1.4 system-ui,sans-serif;color:#57606a}"
    ".mlm-fallback-picture img{max-width:100%;height:auto;display:block}"
    ".mlm-fallback-ready .mlm-fallback-picture{display:none}"
    "</style>"
)

_BOOT = (
    "(()=>{"
    "const el=document.currentScript.closest('.mlm-fallback');"
    "if(!el||el.dataset.mlmBooted)return;el.dataset.mlmBooted='1';"
    f"{LOADER}"
    "const st=JSON.parse(el.querySelector('script.mlm-fallback-state').textContent);"
    "const opt=JSON.parse(el.dataset.mlmOptions||'{}');"
    "load().then(m=>m.bootFallback?m.bootFallback(el,st,opt)"
    ":m.renderStatic(el.querySelector('.mlm-fallback-live'),st,opt))"
    ".catch(e=>{console.error(e);const n=el.querySelector('.mlm-fallback-note');"
    "if(n)n.textContent='The interactive explorer could not start here ('+e.message+"
    "'). Run the cell again with its kernel, or export the notebook with "
    "python -m mlm_jupyter.display.export.';});"
    "})();"
)


def picture_png(state: dict, width: int = 560) -> bytes | None:
    """A static picture of the explorer: the caterpillar plot of the first random effect.

    Rendered offline with vl-convert from the state's (possibly sampled) cluster arrays;
    ``None`` when it cannot be drawn (no random effects, vl-convert unavailable).
    """
    try:
        import altair as alt
        import pandas as pd

        from .export import chart_to_png
    except ImportError:  # pragma: no cover - both are required dependencies
        return None
    clusters = state.get("clusters", {})
    terms = list(state.get("random", {}).get("terms") or clusters.get("ranef", {}))
    if not terms:
        return None
    term = terms[0]
    est = clusters.get("ranef", {}).get(term)
    se = clusters.get("ranef_se", {}).get(term)
    if not est:
        return None
    frame = pd.DataFrame({"id": clusters["ids"], "estimate": est, "se": se or [0.0] * len(est)})
    frame = frame.dropna().sort_values("estimate", kind="stable").reset_index(drop=True)
    frame["rank"] = range(1, len(frame) + 1)
    frame["lower"] = frame["estimate"] - 1.96 * frame["se"]
    frame["upper"] = frame["estimate"] + 1.96 * frame["se"]
    noun = state.get("group", "cluster")
    base = alt.Chart(frame)
    x = alt.X("rank:Q", title=f"{noun}, ranked by estimate", axis=alt.Axis(labels=False))
    bars = base.mark_rule(color="#9ec5fe").encode(x=x, y="lower:Q", y2="upper:Q")
    points = base.mark_circle(size=14, color="#2563eb", opacity=1).encode(
        x=x, y=alt.Y("estimate:Q", title=f"{term} deviation (BLUP, 95% interval)"))
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#888", strokeDash=[4, 3])
    chart = (bars + points + zero.encode(y="y:Q")).properties(
        width=width, height=200,
        title=alt.Title(f"{state.get('formula', '')}",
                        subtitle=f"Static picture of the model explorer: {noun} deviations "
                                 f"from the average {term}"),
    )
    try:
        return chart_to_png(chart, scale=1.0)
    except Exception:  # noqa: BLE001 - the picture is an extra; the explorer does not need it
        return None


def fallback_text(state: dict) -> str:
    """``text/plain`` of the copy: what the explorer shows, for front ends that show text."""
    noun = state.get("group", "cluster")
    fit = "REML" if state.get("reml", True) else "ML"
    lines = [
        f"Model explorer: {state.get('formula', '')}",
        f"  {fit} fit, {state.get('n_obs', 0):,} observations, "
        f"{state.get('n_clusters', 0):,} levels of {noun}.",
        "  Interactive in JupyterLab, Notebook 7, VS Code and exported HTML (no kernel needed);",
        "  run the cell again to reconnect it to Python (explorer.selected).",
    ]
    return "\n".join(lines)


def fallback_html(
    state: dict,
    fallback_id: str,
    *,
    include_bundle: bool = True,
    selected: list[str] | None = None,
    picture: bytes | None = None,
    theme: str = "auto",
) -> str:
    """HTML of the offline copy (see the module docstring).

    Parameters
    ----------
    state : dict
        Explorer state (``build_state``), the same the widget syncs.
    fallback_id : str
        The widget's ``_fallback_id``: the live view with this id hides this copy.
    include_bundle : bool
        Carry the front-end bundle. Outputs of one cell are saved and cleared together, so
        the second and later explorers of one cell leave it out and use the first's.
    selected : list of str, optional
        Clusters selected when the copy starts.
    picture : bytes, optional
        PNG shown until the interactive copy starts, and where scripts never run.
    theme : {"auto", "light", "dark"}
    """
    options = json.dumps({"theme": theme, "selected": [str(s) for s in selected or []]})
    img = ""
    if picture:
        data = base64.b64encode(picture).decode("ascii")
        img = (f'<img alt="Static picture of the model explorer" '
               f'src="data:image/png;base64,{data}">')
    note = ("Static picture of the interactive model explorer. It becomes interactive where "
            "the notebook's scripts run (JupyterLab, Notebook 7, VS Code, exported HTML).")
    return (
        f'<div class="mlm-fallback" data-mlm-fallback="{html.escape(fallback_id)}" '
        f'data-mlm-options="{html.escape(options)}">'
        f"{STYLE}"
        f'<div class="mlm-fallback-picture">{img}'
        f'<p class="mlm-fallback-note">{note}</p></div>'
        '<div class="mlm-fallback-live"></div>'
        f"{bundle_html() if include_bundle else ''}"
        f'<script type="application/json" class="mlm-fallback-state">'
        f"{json_for_script(state)}</script>"
        f"<script>{_BOOT}</script>"
        "</div>"
    )


def fallback_bundle(state: dict, fallback_id: str, **kwargs: Any) -> dict[str, str]:
    """The copy as a MIME bundle (``text/html`` and ``text/plain``)."""
    return {"text/html": fallback_html(state, fallback_id, **kwargs),
            "text/plain": fallback_text(state)}

"""Offline export: charts as SVG/PNG (vl-convert) and notebooks as HTML that keeps the explorer.

Charts
------
Every chart of the package is an Altair (Vega-Lite) chart; :func:`chart_to_svg`,
:func:`chart_to_png` and :func:`save_chart` render them with ``vl-convert-python``, which embeds
the Vega engine and needs neither a browser nor the network.

Notebooks
---------
``jupyter nbconvert --to html`` renders a widget output from its saved widget state with
``@jupyter-widgets/html-manager`` loaded from a CDN, which fails offline.
:class:`StaticExplorerPreprocessor` renders every explorer output as self-contained HTML
instead: from the explorer state saved with the notebook's widget state (nbclient and
JupyterLab save it by default), or from a ``text/html`` fallback in the output's MIME bundle
(:func:`mlm_jupyter.display.report.static_explorer_html`). It drops the
``application/vnd.jupyter.widget-view+json`` entries it replaces and the saved widget state (so
the page loads no widget manager) and puts the explorer's script bundle on the page once.
Altair charts (whose default HTML output loads Vega from a CDN) become inline SVG.
Plain ``nbconvert`` still includes CDN ``<script src>`` tags for require.js and MathJax, which
fail harmlessly offline; :func:`notebook_to_html` removes them too. Use it with::

    jupyter nbconvert --to html --execute nb.ipynb \\
        --HTMLExporter.preprocessors=mlm_jupyter.display.export.StaticExplorerPreprocessor

or, from Python, :func:`notebook_to_html` (also ``python -m mlm_jupyter.display.export nb.ipynb
-o nb.html --execute``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
BUNDLE_MARK = "data-mlm-explorer-bundle"
BUNDLE_RE = re.compile(
    r"<script type=\"text/plain\" " + BUNDLE_MARK + r"[^>]*>.*?</script>", re.DOTALL
)
_EXPLORER_MARKS = ("mlm-static-explorer", "mlm-fallback")


# ---------------------------------------------------------------------------------------
# charts
def _spec(chart: Any) -> dict:
    """Vega-Lite spec of an Altair chart (or a spec dict as is)."""
    if isinstance(chart, dict):
        return chart
    if hasattr(chart, "to_dict"):
        import altair as alt

        # Diagnostics plot every observation; Altair's 5,000-row guard protects notebooks
        # from huge inline specs, but a file export has to carry the data anyway.
        with alt.data_transformers.enable(max_rows=None):
            return chart.to_dict()
    raise TypeError(
        f"expected an Altair chart or a Vega-Lite spec dict, not {type(chart).__name__}."
    )


def chart_to_svg(chart: Any) -> str:
    """SVG text of an Altair chart, rendered offline with vl-convert."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(_spec(chart))


def chart_to_png(chart: Any, scale: float = 2.0) -> bytes:
    """PNG bytes of an Altair chart (``scale`` 2 gives crisp images for slides and papers)."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(_spec(chart), scale=scale)


def save_chart(chart: Any, path: str | Path, format: str | None = None, scale: float = 2.0) -> Path:
    """Save a chart as ``.svg`` or ``.png`` with no network access.

    Parameters
    ----------
    chart : altair.Chart or dict
        Any chart of the package (or a Vega-Lite spec).
    path : str or Path
        Output file; its suffix chooses the format unless ``format`` is given.
    format : {"svg", "png"}, optional
    scale : float
        Pixel density of PNG output.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt == "svg":
        path.write_text(chart_to_svg(chart), encoding="utf-8")
    elif fmt == "png":
        path.write_bytes(chart_to_png(chart, scale=scale))
    else:
        raise ValueError(
            f"cannot save a chart as {fmt!r} ({path.name}); use a .svg or .png file name "
            "or format='svg' / format='png'."
        )
    return path


# ---------------------------------------------------------------------------------------
# notebooks
def _saved_explorers(nb: Any) -> dict[str, dict]:
    """model_id -> synced traits of every ModelExplorer in the notebook's saved widget state."""
    saved = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    out = {}
    for model_id, model in saved.get("state", {}).items():
        traits = model.get("state", {})
        if str(traits.get("_anywidget_id", "")).endswith("ModelExplorer") and isinstance(
            traits.get("state"), dict
        ):
            out[model_id] = traits
    return out


_VEGALITE_MIME = re.compile(r"^application/vnd\.vegalite\.v\d+[.+]json$")


def _altair_html_spec(html: str) -> dict | None:
    """The Vega-Lite spec inside Altair's default ``text/html`` output (which loads Vega from a
    CDN), or None. Altair writes ``(function(spec, embedOpt){...})({spec}, {embedOpt});``."""
    if "altair-viz-" not in html or "vegaEmbed" not in html:
        return None
    start = html.rfind("})({")
    if start < 0:
        return None
    try:
        spec, _ = json.JSONDecoder().raw_decode(html, start + 3)
    except ValueError:
        return None
    return spec if isinstance(spec, dict) else None


def _offline_chart(data: dict) -> None:
    """Replace an Altair/Vega-Lite output by inline SVG rendered offline with vl-convert."""
    spec = next((data[k] for k in list(data) if _VEGALITE_MIME.match(k)), None)
    html = data.get("text/html")
    if spec is None and html:
        spec = _altair_html_spec("".join(html) if isinstance(html, list) else html)
    if spec is None:
        return
    svg = chart_to_svg(spec)
    for key in [k for k in data if _VEGALITE_MIME.match(k) or k == "text/html"]:
        del data[key]
    data["image/svg+xml"] = svg


def _html_of(data: dict) -> str:
    html = data.get("text/html") or ""
    return "".join(html) if isinstance(html, list) else html


def _has_copy(outputs: list, k: int) -> bool:
    """Whether output ``k`` (a widget view) is followed by the explorer's offline copy."""
    nxt = outputs[k + 1] if k + 1 < len(outputs) else None
    return bool(nxt and 'class="mlm-fallback"' in _html_of(nxt.get("data") or {}))


def _strip_outputs(nb: Any) -> None:
    """Prefer the static fallback in every output and keep one copy of the script bundle.

    A widget view followed by the explorer's offline copy (``display.fallback``) is dropped.
    An explorer output without any fallback gets one built from the explorer state saved with
    the notebook (nbclient and JupyterLab's "save widget state" save it).
    """
    from .embed import bundle_html, explorer_div

    explorers = _saved_explorers(nb)
    seen_bundle = False
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        keep = []
        for k, out in enumerate(outputs):
            data = out.get("data")
            if not data:
                keep.append(out)
                continue
            view = data.get(WIDGET_MIME)
            if view and not data.get("text/html") and _has_copy(outputs, k):
                continue
            keep.append(out)
            _offline_chart(data)
            html = data.get("text/html")
            if view and not html and view.get("model_id") in explorers:
                traits = explorers[view["model_id"]]
                html = data["text/html"] = explorer_div(
                    traits["state"], "auto", selected=list(traits.get("selected", []))
                )
            if view and html:
                del data[WIDGET_MIME]
            html = _html_of(data)
            if not html or not any(mark in html for mark in _EXPLORER_MARKS):
                continue
            if BUNDLE_RE.search(html):
                if seen_bundle:
                    data["text/html"] = BUNDLE_RE.sub("", html)
            elif not seen_bundle:
                data["text/html"] = bundle_html() + html
            seen_bundle = True
        if len(keep) != len(outputs):
            cell["outputs"] = keep
    # Without saved widget state nbconvert's template does not load the CDN widget manager.
    nb.metadata.pop("widgets", None)


class StaticExplorerPreprocessor:
    """nbconvert preprocessor: explorers render from their offline HTML fallback.

    A plain callable (nbconvert accepts one), so importing this module does not import
    nbconvert.
    """

    enabled = True

    def __call__(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        return self.preprocess(nb, resources)

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        _strip_outputs(nb)
        return nb, resources


def notebook_to_html(
    notebook: str | Path, output: str | Path | None = None, execute: bool = False,
    timeout: int = 600,
) -> Path:
    """Export a notebook to one HTML file whose explorers work offline.

    Uses nbconvert's ``lab`` template with :class:`StaticExplorerPreprocessor`; the page
    loads nothing from a CDN (no require.js, no MathJax, no widget manager).

    Parameters
    ----------
    notebook : path of the ``.ipynb``
    output : path of the ``.html`` (default: next to the notebook)
    execute : run the notebook first (kernel ``python3``)
    timeout : seconds per cell when executing
    """
    import nbformat
    from nbconvert import HTMLExporter

    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    if execute:
        from nbclient import NotebookClient

        NotebookClient(
            nb, timeout=timeout, kernel_name="python3",
            resources={"metadata": {"path": str(notebook.parent)}},
        ).execute()
    exporter = HTMLExporter(template_name="lab")
    exporter.register_preprocessor(StaticExplorerPreprocessor(), enabled=True)
    body, _ = exporter.from_notebook_node(nb)
    body = offline_page(body)
    output = Path(output) if output else notebook.with_suffix(".html")
    output.write_text(body, encoding="utf-8")
    return output


_REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.I)
_REMOTE_LINK = re.compile(r"<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*>", re.I)
_MATHJAX_CONFIG = re.compile(
    r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.DOTALL
)


def offline_page(page: str) -> str:
    """Remove nbconvert's CDN ``<script src>`` / ``<link href>`` tags (require.js, MathJax).

    The explorer needs none of them; without them the page makes no network request.
    """
    page = _MATHJAX_CONFIG.sub("", page)
    page = _REMOTE_SCRIPT.sub("", page)
    return _REMOTE_LINK.sub("", page)


def _main(argv: list[str] | None = None) -> int:
    """``python -m mlm_jupyter.display.export nb.ipynb [-o out.html] [--execute]``."""
    import argparse

    p = argparse.ArgumentParser(
        prog="python -m mlm_jupyter.display.export",
        description="Export a notebook to one HTML file whose explorers work offline.",
    )
    p.add_argument("notebook")
    p.add_argument("-o", "--output", help="HTML file (default: next to the notebook)")
    p.add_argument("--execute", action="store_true", help="run the notebook first")
    args = p.parse_args(argv)
    out = notebook_to_html(args.notebook, args.output, execute=args.execute)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())

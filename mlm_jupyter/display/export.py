"""Offline export: charts as SVG/PNG (vl-convert) and notebooks as HTML that keeps the explorer.

Charts
------
Every chart of the package is an Altair (Vega-Lite) chart; :func:`chart_to_svg`,
:func:`chart_to_png` and :func:`save_chart` render them with ``vl-convert-python``, which embeds
the Vega engine and needs neither a browser nor the network.

Notebooks
---------
``jupyter nbconvert --to html`` renders a widget output from its saved widget state with
``@jupyter-widgets/html-manager`` loaded from a CDN, which fails offline. The explorer's MIME
bundle therefore also carries a self-contained ``text/html`` fallback
(:func:`mlm_jupyter.display.report.static_explorer_html`). :class:`StaticExplorerPreprocessor`
makes nbconvert use it: it drops the ``application/vnd.jupyter.widget-view+json`` entry of every
output that has a ``text/html`` fallback, drops the saved widget state (so the page loads no
widget manager), and keeps the explorer's script bundle once per page. Use it with::

    jupyter nbconvert --to html --execute nb.ipynb \\
        --HTMLExporter.preprocessors=mlm_jupyter.display.export.StaticExplorerPreprocessor

or, from Python, :func:`notebook_to_html`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
BUNDLE_MARK = "data-mlm-explorer-bundle"
_BUNDLE_RE = re.compile(
    r"<script type=\"text/plain\" " + BUNDLE_MARK + r">.*?</script>", re.DOTALL
)


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
def _strip_outputs(nb: Any) -> None:
    """Prefer the static fallback in every output and keep one copy of the script bundle."""
    seen_bundle = False
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data:
                continue
            html = data.get("text/html")
            if WIDGET_MIME in data and html:
                del data[WIDGET_MIME]
            if isinstance(html, list):
                html = "".join(html)
            if html and BUNDLE_MARK + ">" in html:
                if seen_bundle:
                    data["text/html"] = _BUNDLE_RE.sub("", html)
                seen_bundle = True
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

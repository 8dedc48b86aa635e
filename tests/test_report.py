"""Offline HTML reports (mlm.report / res.to_html), chart export and the nbconvert fallback."""

from __future__ import annotations

import json
import re
import warnings

import nbformat
import numpy as np
import pandas as pd
import pytest

import mlm_jupyter as mlm
from mlm_jupyter.display import embed, export, report
from tests.conftest import fitted_case, reference_case, thousand_clusters

XSS = "<img src=x onerror=alert(1)>"
STATE_RE = re.compile(r'<script type="application/json" id="(mlm-x-\w+)-state">(.*?)</script>',
                      re.DOTALL)


def states(page: str) -> list[dict]:
    return [json.loads(m.group(2)) for m in STATE_RE.finditer(page)]


def remote_references(page: str) -> list[str]:
    """src/href attributes and CSS url() that point off the file."""
    refs = re.findall(r'\b(?:src|href)\s*=\s*["\']?(https?:|//)', page)
    refs += re.findall(r"url\(\s*['\"]?(https?:|//)", page)
    refs += re.findall(r"@import", page)
    return refs


@pytest.fixture(scope="module")
def hsb_models():
    return [fitted_case(c) for c in ("hsb_empty", "hsb_slope", "hsb_crosslevel")]


@pytest.fixture(scope="module")
def hsb_page(hsb_models, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "hsb.html"
    page = mlm.report(*hsb_models, path=path, title="HSB & friends")
    return page, path


def test_report_written_and_returned(hsb_page):
    page, path = hsb_page
    assert path.read_text(encoding="utf-8") == page
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>HSB &amp; friends</title>" in page


def test_report_sections(hsb_page, hsb_models):
    page, _ = hsb_page
    for k, res in enumerate(hsb_models, start=1):
        assert f'id="model-{k}"' in page
        assert report.esc(res.formula) in page
    for heading in ("Data", "The model", "Summary", "Explorer", "Model comparison",
                    "Variance explained", "Diagnostics of model 3"):
        assert f">{heading}</h" in page, heading
    # level-1 / level-2 notation of the cross-level model
    assert "Level 1" in page and "Level 2" in page and "Combined" in page


def test_data_summary_matches_the_data(hsb):
    res = fitted_case("hsb_crosslevel")
    sizes = hsb.groupby("school").size()  # counted from the raw CSV, not from the fit
    table = report.data_summary(res)
    assert table.loc["school", "clusters"] == 160 == sizes.size
    assert table.loc["school", "min"] == sizes.min() == 14
    assert table.loc["school", "max"] == sizes.max() == 67
    assert table.loc["school", "median"] == pytest.approx(sizes.median())
    assert table.loc["school", "q1"] == pytest.approx(np.percentile(sizes, 25))


def test_report_carries_lme4_numbers(hsb_page):
    """The explorers in the file carry the fit at full precision, which is lme4's
    (1e-4 relative, the engine tests' tolerance: lme4's optimizer stops within it)."""
    page, _ = hsb_page
    found = states(page)
    assert len(found) == 3
    for state, case in zip(found, ("hsb_empty", "hsb_slope", "hsb_crosslevel"), strict=True):
        ref = reference_case(case)
        text = json.dumps(state)
        assert "NaN" not in text and "Infinity" not in text
        assert state["fixed"]["names"] == ref["fixef_names"]
        res = fitted_case(case)
        assert state["fixed"]["estimate"] == res.fixef.tolist()  # no rounding on the way
        np.testing.assert_allclose(state["fixed"]["estimate"], ref["fixef"], rtol=1e-4)
        np.testing.assert_allclose(state["sigma"], ref["sigma"], rtol=1e-4)


def test_report_is_offline(hsb_page):
    page, _ = hsb_page
    assert remote_references(page) == []
    # one copy of the bundle; one explorer boot per model
    assert page.count(export.BUNDLE_MARK + " ") == 1
    assert page.count('class="mlm-static-explorer"') == 3
    assert "<svg" in page  # cluster-size histogram and diagnostics rendered inline


def test_xss_column_and_title_are_text(sleepstudy, tmp_path):
    data = sleepstudy.rename(columns={"Reaction": XSS, "Subject": "<b>subject</b>"})
    res = mlm.fit(f"`{XSS}` ~ Days + (Days | `<b>subject</b>`)", data)
    page = mlm.report(res, title=XSS, path=tmp_path / "x.html")
    assert XSS not in page
    assert "<b>subject</b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # the state JSON carries the names with < > escaped, and still parses to the real name
    (state,) = states(page)
    assert XSS in json.dumps(state, ensure_ascii=False)


def test_user_dataframe_unchanged(sleepstudy):
    data = sleepstudy.copy()
    before = data.copy()
    res = mlm.fit("Reaction ~ Days + (Days | Subject)", data)
    res.to_html()
    pd.testing.assert_frame_equal(data, before)


def test_to_html_equals_report(tmp_path):
    res = fitted_case("sleep_slope_reml")
    page = res.to_html(tmp_path / "s.html", title="Sleep")
    assert (tmp_path / "s.html").read_text(encoding="utf-8") == page
    assert "<title>Sleep</title>" in page
    assert "Model comparison" not in page  # one model: nothing to compare


def test_report_errors():
    with pytest.raises(ValueError, match="at least one fitted model"):
        mlm.report()
    with pytest.raises(TypeError, match="argument 2 of report"):
        mlm.report(fitted_case("sleep_slope_reml"), "not a model")


def test_json_escaping():
    text = embed.json_for_script({"a": "</script><!-- & >"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!-- & >"}


def test_bundle_is_packed_losslessly_and_cannot_end_its_script():
    """gzip + base64 of the shipped bundle: no '<' can end the script; unpacks to the file."""
    import base64
    import gzip
    import re

    from mlm_jupyter.display.widget import bundle_paths

    page = embed.bundle_html()
    packed = re.search(r'data-encoding="gzip\+base64">([^<]*)</script>', page).group(1)
    assert re.fullmatch(r"[A-Za-z0-9+/=]+", packed)
    assert gzip.decompress(base64.b64decode(packed)) == bundle_paths()[0].read_bytes()
    assert len(page) < 600_000  # the raw bundle is ~0.94 MB


def test_static_explorer_html():
    res = fitted_case("hsb_crosslevel")
    full = report.static_explorer_html(res)
    assert len(export.BUNDLE_RE.findall(full)) == 1
    lean = report.static_explorer_html(res, include_bundle=False)
    assert not export.BUNDLE_RE.findall(lean)
    (state,) = states(lean)
    assert state["sigma"] == pytest.approx(reference_case("hsb_crosslevel")["sigma"], rel=1e-4)
    assert len(lean) < 100_000


def test_large_model_report_stays_small(tmp_path):
    """1,000 clusters x 10 observations, random slope: the file stays under 3 MB."""
    data = thousand_clusters(seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("y ~ x * w + (1 + x | g)", data)
    path = tmp_path / "big.html"
    res.to_html(path)
    size = path.stat().st_size
    assert size < 3_000_000, f"{size / 1e6:.2f} MB"


# -- chart export -----------------------------------------------------------------------
@pytest.fixture
def chart():
    import altair as alt

    df = pd.DataFrame({"x": [1, 2, 3], "y": [2.0, 1.0, 3.0]})
    return alt.Chart(df, title="a < b").mark_line().encode(x="x:Q", y="y:Q")


def test_save_chart_svg_and_png(chart, tmp_path):
    svg = export.save_chart(chart, tmp_path / "c.svg")
    text = svg.read_text()
    assert text.lstrip().startswith("<svg") and "a &lt; b" in text
    png = export.save_chart(chart, tmp_path / "c.png", scale=1)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    png2 = export.save_chart(chart, tmp_path / "c2.png", scale=2).read_bytes()
    assert int.from_bytes(png2[16:20], "big") == 2 * width


def test_save_chart_errors(chart, tmp_path):
    with pytest.raises(ValueError, match=r"\.svg or \.png"):
        export.save_chart(chart, tmp_path / "c.jpg")
    with pytest.raises(TypeError, match="Altair chart"):
        export.chart_to_svg(42)


# -- nbconvert fallback ---------------------------------------------------------------------
def _widget_output(html: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output(
        "display_data",
        data={export.WIDGET_MIME: {"model_id": "abc", "version_major": 2, "version_minor": 1},
              "text/plain": "ModelExplorer(...)", "text/html": html},
    )


def test_preprocessor_prefers_the_static_fallback():
    res = fitted_case("sleep_slope_reml")
    html = report.static_explorer_html(res)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("res.explore()", outputs=[_widget_output(html)]),
                nbformat.v4.new_code_cell("res.explore()", outputs=[_widget_output(html)]),
                nbformat.v4.new_code_cell("w", outputs=[nbformat.v4.new_output(
                    "display_data", data={export.WIDGET_MIME: {"model_id": "x"}})])]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb, _ = export.StaticExplorerPreprocessor()(nb, {})
    first, second = (c.outputs[0].data for c in nb.cells[:2])
    assert export.WIDGET_MIME not in first and export.WIDGET_MIME not in second
    assert first["text/html"].count(export.BUNDLE_MARK + " ") == 1
    assert export.BUNDLE_MARK + " " not in second["text/html"]  # one bundle per page
    assert "mlm-static-explorer" in second["text/html"]
    assert export.WIDGET_MIME in nb.cells[2].outputs[0].data  # no fallback: left alone
    assert "widgets" not in nb.metadata


def test_offline_page_strips_cdn_tags():
    page = ('<head><script src="https://cdnjs.cloudflare.com/require.min.js"></script>'
            '<link rel="stylesheet" href="https://fonts.example/x.css">'
            "<!-- Load mathjax --><script src='x'></script><!-- End of mathjax configuration -->"
            '<script src="local.js"></script></head>')
    out = export.offline_page(page)
    assert remote_references(out) == []
    assert "mathjax" not in out and 'src="local.js"' in out


def test_preprocessor_builds_explorers_from_saved_widget_state():
    """No text/html fallback needed: the explorer state saved with the widget state is used."""
    from mlm_jupyter.display.explorer_state import build_state

    state = build_state(fitted_case("hsb_crosslevel"))
    saved = {"state": {
        "m1": {"model_name": "AnyModel", "model_module": "anywidget",
               "state": {"_anywidget_id": "mlm_jupyter.display.widget.ModelExplorer",
                         "state": state, "selected": ["1224"]}},
        "m2": {"model_name": "LayoutModel", "model_module": "@jupyter-widgets/base",
               "state": {}},
    }, "version_major": 2, "version_minor": 0}
    view = {"version_major": 2, "version_minor": 1, "model_id": "m1"}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("e", outputs=[nbformat.v4.new_output(
        "execute_result", data={export.WIDGET_MIME: view, "text/plain": "ModelExplorer"},
        execution_count=1)]) for _ in range(2)]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": saved}
    export.StaticExplorerPreprocessor()(nb, {})
    first, second = (c.outputs[0].data for c in nb.cells)
    assert export.WIDGET_MIME not in first and export.WIDGET_MIME not in second
    assert first["text/html"].count(export.BUNDLE_MARK + " ") == 1
    assert export.BUNDLE_MARK + " " not in second["text/html"]
    assert states(first["text/html"]) == [json.loads(json.dumps(state))]
    assert '"selected": ["1224"]' in first["text/html"]
    assert "widgets" not in nb.metadata


def test_preprocessor_makes_altair_outputs_offline():
    import altair as alt

    chart = alt.Chart(pd.DataFrame({"x": [1, 2]}), title="t < u").mark_point().encode(x="x:Q")
    with alt.renderers.enable("html"):
        html_bundle = chart._repr_mimebundle_()
    html_data = dict(html_bundle[0] if isinstance(html_bundle, tuple) else html_bundle)
    assert "cdn.jsdelivr.net" in html_data["text/html"]  # what Altair emits by default
    mime_data = {"application/vnd.vegalite.v5+json": chart.to_dict(), "text/plain": "chart"}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("c", outputs=[nbformat.v4.new_output(
        "display_data", data=d)]) for d in (html_data, mime_data)]
    export.StaticExplorerPreprocessor()(nb, {})
    for cell in nb.cells:
        data = cell.outputs[0].data
        assert set(data) <= {"image/svg+xml", "text/plain"}
        assert "t &lt; u" in data["image/svg+xml"] and remote_references(str(data)) == []

"""What a displayed explorer leaves in a notebook: the live view, its offline copy, their
sizes, the text forms, exports of both, and the memory an explorer lets go of when its cell
runs again. The copy's behaviour in real front ends is in tests/browser/test_lifecycle.py.
"""

from __future__ import annotations

import base64
import gc
import gzip
import json
import re
import weakref

import nbformat
import pytest

from mlm_jupyter.display import export, fallback
from mlm_jupyter.display import widget as widget_mod
from mlm_jupyter.display.embed import bundle_html
from mlm_jupyter.display.widget import ModelExplorer, bundle_paths
from tests.conftest import fitted_case, reference_case


@pytest.fixture
def shown(monkeypatch):
    """Capture what ``display`` publishes and pretend to run inside notebook cells."""
    import IPython.display

    class Outputs(list):
        where = {"cell": "cell-1", "run": "run-1"}

    outputs = Outputs()
    where = outputs.where
    monkeypatch.setattr(IPython.display, "display",
                        lambda obj, raw=False, **kw: outputs.append(obj))
    monkeypatch.setattr(widget_mod, "_cell_and_run", lambda: (where["cell"], where["run"]))
    monkeypatch.setattr(fallback, "picture_png", lambda state: b"\x89PNG fake")
    widget_mod._SHOWN.clear()
    widget_mod._BUNDLE_RUNS.clear()
    return outputs


def states(html: str) -> list[dict]:
    return [json.loads(m) for m in re.findall(
        r'<script type="application/json" class="mlm-fallback-state">(.*?)</script>', html,
        re.S)]


def test_an_explorer_is_a_live_view_then_its_offline_copy(shown):
    res = fitted_case("hsb_crosslevel")
    explorer = res.explore(selected=["1224"])
    explorer._ipython_display_()
    live, copy = shown
    assert live[export.WIDGET_MIME]["model_id"] == explorer.model_id
    assert "text/html" not in live  # front ends must not prefer a copy over the live view
    html = copy["text/html"]
    assert f'data-mlm-fallback="{explorer._fallback_id}"' in html
    assert explorer._fallback_id.startswith("mlm-") and len(explorer._fallback_id) == 36
    (state,) = states(html)
    assert state == json.loads(json.dumps(explorer.state))
    ref = reference_case("hsb_crosslevel")
    assert state["sigma"] == pytest.approx(ref["sigma"], rel=1e-4)
    assert '"selected": ["1224"]' in html.replace("&quot;", '"')
    assert len(export.BUNDLE_RE.findall(html)) == 1
    assert 'src="data:image/png;base64,' in html  # where scripts are stripped
    # readable text for front ends that show only text
    assert copy["text/plain"].startswith(f"Model explorer: {res.formula}")
    assert "7,185 observations, 160 levels of school" in copy["text/plain"]
    assert live["text/plain"].startswith("ModelExplorer('mathach")


def test_explorers_of_one_run_share_one_bundle(shown):
    res = fitted_case("sleep_slope_reml")
    res.explore()._ipython_display_()
    res.explore()._ipython_display_()
    first, second = shown[1]["text/html"], shown[3]["text/html"]
    assert len(export.BUNDLE_RE.findall(first)) == 1
    assert not export.BUNDLE_RE.findall(second)
    shown.where.update(cell="cell-2", run="run-2")  # another cell: its own copy
    res.explore()._ipython_display_()
    assert len(export.BUNDLE_RE.findall(shown[5]["text/html"])) == 1


def test_one_explorer_output_stays_small(shown):
    """Copy + state of the 160-school model, with the real picture: well under 3 MB."""
    import importlib

    importlib.reload(fallback)  # the real picture_png, not the fixture's fake
    res = fitted_case("hsb_crosslevel")
    state = res.explore().state
    html = fallback.fallback_html(state, "mlm-x", picture=fallback.picture_png(state))
    assert len(html.encode()) < 1_000_000
    png = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    assert base64.b64decode(png)[:4] == b"\x89PNG"


def test_bundle_in_the_copy_unpacks_to_the_built_file():
    packed = re.search(r'data-encoding="gzip\+base64">([^<]*)</script>', bundle_html()).group(1)
    assert gzip.decompress(base64.b64decode(packed)) == bundle_paths()[0].read_bytes()


def test_rerunning_a_cell_releases_the_earlier_explorer_and_its_model(shown):
    """The issue: each re-run of one %%mlm cell kept its fit (and data) alive."""
    import mlm_jupyter as mlm

    data = mlm.load_dataset("sleepstudy")
    refs = []
    for k in range(4):
        shown.where["run"] = f"run-{k}"
        res = mlm.fit("Reaction ~ Days + (Days | Subject)", data)
        explorer = res.explore()
        explorer._ipython_display_()
        refs.append((weakref.ref(res), explorer))
        del res, explorer
    gc.collect()
    alive = [r() is not None for r, _ in refs]
    assert alive == [False, False, False, True]  # only the last run's model is kept
    for _, old in refs[:-1]:
        assert old.comm is None and old.state == {}
        with pytest.raises(RuntimeError, match="replaced when its cell ran again"):
            old.result  # noqa: B018
    assert refs[-1][1].result.nobs == 180


def test_an_explorer_shown_by_two_cells_lives_while_either_shows_it(shown):
    res = fitted_case("sleep_slope_reml")
    explorer = res.explore()
    explorer._ipython_display_()
    shown.where.update(cell="cell-2", run="run-2")
    explorer._ipython_display_()
    shown.where.update(cell="cell-1", run="run-3")  # cell 1 re-run with something else
    res.explore()._ipython_display_()
    assert explorer.comm is not None and explorer.result is res
    shown.where.update(cell="cell-2", run="run-4")
    res.explore()._ipython_display_()
    assert explorer.comm is None


def _notebook(*outputs) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%%mlm ...", outputs=list(outputs))]
    return nb


def test_export_keeps_the_copy_and_drops_its_widget_view(shown):
    res = fitted_case("hsb_crosslevel")
    for _ in range(2):
        res.explore()._ipython_display_()
    outs = [nbformat.v4.new_output("display_data", data=d) for d in shown]
    nb = _notebook(*outs)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    export.StaticExplorerPreprocessor()(nb, {})
    kept = nb.cells[0].outputs
    assert len(kept) == 2 and all(export.WIDGET_MIME not in o.data for o in kept)
    assert [len(export.BUNDLE_RE.findall(o.data["text/html"])) for o in kept] == [1, 0]
    assert "widgets" not in nb.metadata


def test_export_gives_a_copy_without_its_bundle_one_from_the_page(shown):
    """A second cell's copy whose bundle went with a deleted cell still gets one."""
    res = fitted_case("sleep_slope_reml")
    shown.where["run"] = "run-a"
    res.explore()._ipython_display_()
    res.explore()._ipython_display_()
    lean = nbformat.v4.new_output("display_data", data=shown[3])  # no bundle of its own
    nb = _notebook(lean)
    export.StaticExplorerPreprocessor()(nb, {})
    assert len(export.BUNDLE_RE.findall(nb.cells[0].outputs[0].data["text/html"])) == 1


def test_widget_error_style_only_targets_a_widget_output():
    """The copy hides the output before it only when that output is a widget view."""
    style = fallback.STYLE
    assert ".jp-OutputArea-output:not([data-mime-type])" in style
    assert ".mlm-fallback:not([hidden])" in style
    assert "display:none" in style


def test_explorer_repr_is_plain_text():
    explorer = ModelExplorer(fitted_case("sleep_slope_reml"))
    text = repr(explorer)
    assert text.startswith("ModelExplorer('Reaction ~ Days + (Days | Subject)'")
    assert "selected=0 of 18" in text

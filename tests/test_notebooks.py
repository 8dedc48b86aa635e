"""The example notebooks run top to bottom (kernel python3) and stay in sync with their source."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import nbformat
import pytest

FOLDER = Path(__file__).resolve().parent.parent / "example_notebooks"
sys.path.insert(0, str(FOLDER))
import build_notebooks  # noqa: E402

#: Package modules each notebook uses beyond the engine; a notebook is skipped (with the
#: missing names) only while one of these modules has not landed yet.
REQUIRES = {
    "01_quickstart_sleepstudy.ipynb": ("magic", "effects", "compare", "display.widget"),
    "02_cross_level_hsb.ipynb": ("effects", "compare", "inference", "display.widget"),
    "03_centering.ipynb": ("advice", "inference"),
    "04_inference.ipynb": ("inference", "compare"),
}
#: Notebooks taking > 20 s on 2 cores get the slow mark (none today: 4-13 s each).
SLOW: set[str] = set()


def _missing(names: tuple[str, ...]) -> list[str]:
    return [n for n in names if importlib.util.find_spec(f"mlm_jupyter.{n}") is None]


def _params():
    for name in build_notebooks.NOTEBOOKS:
        marks = [pytest.mark.slow] if name in SLOW else []
        yield pytest.param(name, marks=marks, id=name.removesuffix(".ipynb"))


def test_committed_notebooks_match_their_source(tmp_path):
    """The .ipynb files are what build_notebooks.py writes: no outputs, no stale cells."""
    built = build_notebooks.build(tmp_path)
    for path in built:
        committed = FOLDER / path.name
        assert committed.exists(), f"run python example_notebooks/build_notebooks.py ({path.name})"
        assert json.loads(committed.read_text()) == json.loads(path.read_text()), path.name
        nb = nbformat.read(committed, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None


def test_every_notebook_states_question_equations_and_words():
    for name, cells in build_notebooks.NOTEBOOKS.items():
        text = "\n".join(c.source for c in cells)
        assert "**Question.**" in text, name
        assert "model_equations(" in text, name
        prose = sum(len(c.source) for c in cells if c.cell_type == "markdown")
        assert prose > 1200, f"{name}: the results need reading in words"


@pytest.mark.parametrize("name", _params())
def test_notebook_executes(name, tmp_path):
    from nbclient import NotebookClient

    missing = _missing(REQUIRES[name])
    if missing:
        pytest.skip(f"{name} needs mlm_jupyter.{', mlm_jupyter.'.join(missing)} (not built yet)")
    nb = nbformat.read(FOLDER / name, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    seconds = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == []
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells)
    # every code cell shows something: a table, a chart, a sentence or the explorer
    silent = [c.source[:40] for c in code_cells if not c.outputs and "%load_ext" not in c.source]
    assert silent == [], f"cells with no output: {silent}"
    print(f"{name}: {seconds:.1f} s")

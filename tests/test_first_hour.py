"""A new user's first hour, end to end: a real Jupyter kernel, the README's examples, the CLI
report, progress of long work and variance explained in the order people call it.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from conftest import reference_data

import mlm_jupyter as mlm
from mlm_jupyter import progress
from mlm_jupyter.progress import Progress

README = Path(__file__).resolve().parents[1] / "README.md"
NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]\d+)?")

FIRST_HOUR = [
    "%load_ext mlm_jupyter",
    "%%mlm --help",
    "%mlm --help",
    "import mlm_jupyter as mlm\n"
    "sleep = mlm.load_dataset('sleepstudy')\n"
    "m0 = mlm.fit('Reaction ~ Days + (1 | Subject)', sleep)\n"
    "m1 = mlm.fit('Reaction ~ Days + (Days | Subject)', sleep)\n"
    "m1.summary()",
    "mlm.compare(m0, m1)",
    "import numpy as np, pandas as pd\n"
    "rng = np.random.default_rng(7)\n"
    "null = pd.DataFrame({'y': rng.normal(size=200), 'g': np.repeat(np.arange(20), 10)})\n"
    "m_singular = mlm.fit('y ~ 1 + (1 | g)', null)",
    "import time\n"
    "from mlm_jupyter.progress import Progress\n"
    "with Progress(6, 'demo', delay=0.2, unit='refits') as bar:\n"
    "    for _ in range(6):\n"
    "        time.sleep(0.15)\n"
    "        bar.update()",
]


@pytest.fixture(scope="module")
def first_hour(tmp_path_factory) -> list:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in FIRST_HOUR])
    path = tmp_path_factory.mktemp("first_hour")
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path)}}).execute()
    return [cell.outputs for cell in nb.cells]


def _texts(outputs, kind: str = "text/plain") -> str:
    return "\n".join(o.get("data", {}).get(kind, "") for o in outputs
                     if o.output_type in ("display_data", "execute_result"))


def _stderr(outputs) -> str:
    return "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")


def test_cell_help_alone_in_a_cell_and_line_help(first_hour):
    cell, line = first_hour[1], first_hour[2]
    assert not any(o.output_type == "error" for o in cell + line)
    text = _texts(cell)
    assert text.startswith("usage: %%mlm [-h] [-o OUT]") and "cell body is empty" not in text
    line_text = _texts(line)
    assert "%%%mlm" not in line_text and "::" not in line_text
    assert "usage: %%mlm" in line_text and "%mlm compare m0 m1" in line_text


def test_summary_as_last_line_shows_its_lines(first_hour):
    (result,) = [o for o in first_hour[3] if o.output_type == "execute_result"]
    text = result["data"]["text/plain"]
    assert text.startswith("Linear mixed model fit by REML. t-tests use Satterthwaite's method")
    assert "\\n" not in text and text.count("\n") > 20 and not text.startswith("'")


def test_comparison_shows_lme4s_numbers_in_both_formats(first_hour):
    (result,) = [o for o in first_hour[4] if o.output_type == "execute_result"]
    plain, html = result["data"]["text/plain"], result["data"]["text/html"]
    for number in ("1802.1", "1763.9", "-875.97", "42.139", "7.072e-10"):
        assert number in plain and number in html
    assert "e+03" not in plain + html
    row = next(line for line in plain.splitlines() if line.startswith("Reaction ~ Days + (Days"))
    assert "7.072e-10" in row  # p on the row it belongs to, not wrapped onto another line


def test_warnings_are_one_plain_line(first_hour):
    err = _stderr(first_hour[5])
    assert err.startswith("mlm_jupyter warning: Singular fit (") and err.count("\n") == 1
    assert "site-packages" not in err and "ipykernel" not in err and ".py:" not in err
    assert all(not _stderr(outputs) for outputs in first_hour[:5])


def test_progress_line_in_a_notebook(first_hour):
    outputs = first_hour[6]
    (shown,) = [o for o in outputs if o.output_type == "display_data"]
    assert re.fullmatch(r"demo: done, 6 refits in \d\.\d s", shown["data"]["text/plain"])
    assert "mlm-progress" in shown["data"]["text/html"]
    assert not _stderr(outputs)


# -- progress ----------------------------------------------------------------------------------
def test_progress_text_counts_estimates_and_stays_quiet_for_short_work(capsys, monkeypatch):
    bar = Progress(200, "influence (g)", enabled=True, unit="refits")
    assert bar.text(38.0) == "influence (g): 0 of 200 (0%), 38 s"
    bar.count = 50
    assert bar.text(30.0) == "influence (g): 50 of 200 (25%), 30 s, ~1 min 30 s left"
    assert bar.text(150.0, done=True) == "influence (g): done, 200 refits in 2 min 30 s"
    unknown = Progress(label="fitting", enabled=True, unit="evaluations")
    unknown.count = 12
    assert unknown.text(3.21) == "fitting: 12 evaluations, 3.2 s"
    with Progress(5, "short", enabled=True) as quick:  # done before the delay: nothing shown
        quick.update(5)
    assert capsys.readouterr().err == ""
    progress.set_enabled(False)
    try:
        with Progress(5, "off", enabled=None, delay=0) as silent:
            silent.update(5)
    finally:
        progress.set_enabled(None)
    assert capsys.readouterr().err == ""


def test_influence_shows_progress_when_it_takes_long(capsys, monkeypatch):
    monkeypatch.setattr(progress, "DELAY", 0.0)
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("Reaction ~ Days + (Days | Subject)", reference_data("sleepstudy"))
    res.influence("Subject", progress=True)
    err = capsys.readouterr().err
    assert "influence (Subject): 18 of 18 (100%)" in err
    assert re.search(r"influence \(Subject\): done, 18 refits in [\d.]+ s(\x1b\[K)?\n$", err)


# -- variance explained ------------------------------------------------------------------------
def test_variance_explained_explains_negative_reductions_and_a_reversed_order():
    hsb = reference_data("hsb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        empty = mlm.fit("mathach ~ 1 + (1 | school)", hsb)
        within = mlm.fit("mathach ~ cses + (1 | school)", hsb)
    table = mlm.variance_explained(empty, within)
    tau = table.set_index("group").loc["school"]
    assert tau["reduction"] < 0  # cses is school-mean centred: tau00 goes up
    assert any("negative reduction is not an error" in n for n in table.notes)
    assert "Note: The variance of (Intercept) over school is larger" in repr(table)
    with pytest.warns(mlm.MixedModelWarning, match="variance_explained"):
        swapped = mlm.variance_explained(within, empty)
    assert swapped.notes[0].startswith("'base' has every fixed effect of 'model' and more")
    np.testing.assert_allclose(swapped["reduction"], 1 - swapped["model"] / swapped["base"])


# -- the report (mlm-report writes it with mlm.report) -----------------------------------------
def test_report_gives_each_advice_once_in_plain_words():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("mathach ~ ses + (1 + ses | school)", reference_data("hsb"))
    page = mlm.report(res, explorer=False, diagnostics=False)
    text = re.sub(r"<style>.*?</style>|<[^>]+>", " ", page, flags=re.S)
    assert text.count("Random slope mixes within- and between-cluster differences") == 1
    assert "smushed" not in text and "res.check()" not in text
    assert page.count("cwc(ses, school)") == 1


# -- the README --------------------------------------------------------------------------------
def _readme_examples() -> list[tuple[str, str]]:
    """(code, printed output) pairs: a python block directly followed by an output block."""
    blocks = list(re.finditer(r"```(\w*)\n(.*?)```", README.read_text(), flags=re.S))
    pairs = []
    for block, after in zip(blocks, blocks[1:], strict=False):
        between = README.read_text()[block.end():after.start()]
        if (block.group(1) == "python" and after.group(1) == "" and not between.strip()
                and "%" not in block.group(2)):
            pairs.append((block.group(2), after.group(2).rstrip("\n")))
    return pairs


def _same(ours: str, theirs: str) -> bool:
    if NUMBER.sub("#", ours) != NUMBER.sub("#", theirs):
        return False
    return all(np.isclose(float(a), float(b), rtol=2e-3, atol=1e-12)
               for a, b in zip(NUMBER.findall(ours), NUMBER.findall(theirs), strict=True))


def test_readme_needs_no_display_options_and_shows_what_the_code_prints():
    text = README.read_text()
    assert "set_option" not in text and "Only `pip install mlm_jupyter`" not in text
    assert "pip install dist/mlm_jupyter-" in text and "jupyter nbconvert --to html" in text
    pairs = _readme_examples()
    assert len(pairs) >= 6
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for code, shown in pairs:
            *body, last = [line for line in code.strip().splitlines()
                           if line.strip() and not line.startswith("#")]
            exec("\n".join(body), namespace)  # noqa: S102 - the README's own examples
            value = eval(last.split("  #")[0], namespace)  # noqa: S307
            ours = str(value) if not isinstance(value, pd.DataFrame) else repr(value)
            for a, b in zip(ours.splitlines(), shown.splitlines(), strict=True):
                assert _same(a.rstrip(), b.rstrip()), f"README: {b}\nours:   {a}"


def test_explorer_checks_header_has_no_python_call():
    bundle = (Path(mlm.__file__).parent / "static" / "explorer.js").read_text(encoding="utf-8")
    assert "Model checks (res.check())" not in bundle
    assert "`Model checks: ${" in bundle or "Model checks: all" in bundle


def test_report_as_last_line_shows_a_line_not_the_markup(tmp_path):
    from IPython.lib.pretty import pretty

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("Reaction ~ Days + (Days | Subject)", reference_data("sleepstudy"))
    path = tmp_path / "r.html"
    page = res.to_html(str(path), explorer=False, diagnostics=False)
    assert isinstance(page, str) and page.startswith("<!DOCTYPE html>")
    assert page == path.read_text(encoding="utf-8")
    assert re.fullmatch(r"<HTML page, \d+\.\d MB, written to .*r\.html>", pretty(page))

"""``mlm-report``: the command-line report writer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mlm_jupyter.cli import EXAMPLES, main
from tests.conftest import reference_case, reference_data
from tests.test_report import remote_references, states


@pytest.fixture(scope="module")
def sleep_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "sleep.csv"
    reference_data("sleepstudy").to_csv(path, index=False)
    return path


def test_example_hsb(tmp_path, capsys):
    out = tmp_path / "hsb_report.html"
    assert main(["--example", "hsb", "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert f"wrote {out}" in capsys.readouterr().out
    for formula in EXAMPLES["hsb"][1]:
        assert formula.replace(">", "&gt;") in page
    assert len(states(page)) == 3
    assert "Model comparison" in page
    assert remote_references(page) == []


def test_csv_two_formulas_ml_match_lme4(sleep_csv, tmp_path):
    out = tmp_path / "r.html"
    code = main([str(sleep_csv), "Reaction ~ Days + (1 | Subject)",
                 "Reaction ~ Days + (Days | Subject)", "-o", str(out), "--ml", "--title", "Sleep"])
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert "<title>Sleep</title>" in page and "Maximum likelihood fit" in page
    first, second = states(page)
    assert not first["reml"] and not second["reml"]
    for state, case in ((first, "sleep_int_ml"), (second, "sleep_slope_ml")):
        ref = reference_case(case)
        np.testing.assert_allclose(state["fixed"]["estimate"], ref["fixef"], rtol=1e-5)
        np.testing.assert_allclose(state["sigma"], ref["sigma"], rtol=1e-5)


def test_no_explorer_is_smaller(sleep_csv, tmp_path):
    out = tmp_path / "lean.html"
    assert main([str(sleep_csv), "Reaction ~ Days + (Days | Subject)", "-o", str(out),
                 "--no-explorer"]) == 0
    page = out.read_text(encoding="utf-8")
    assert states(page) == [] and len(page) < 300_000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.csv", "y ~ x + (1 | g)"], "data file not found: missing.csv"),
        (["{csv}", "Reaction ~ Days + (Days | Subj)"], "no column named 'Subj'"),
        (["{csv}", "Reaction ~ Days + (Days | Subject"], "model 1"),
        (["{csv}"], "at least one formula"),
        (["--example", "hsb", "{csv}", "y ~ x"], "not both"),
        (["{xlsx}", "y ~ x + (1 | g)"], "unsupported data file type '.xlsx'"),
    ],
)
def test_errors_are_short_and_specific(argv, message, sleep_csv, tmp_path, capsys):
    xlsx = tmp_path / "d.xlsx"
    xlsx.write_text("not really")
    argv = [a.format(csv=sleep_csv, xlsx=xlsx) for a in argv]
    assert main([*argv, "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlm-report: error:") and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def test_missing_output_folder(sleep_csv, tmp_path, capsys):
    assert main([str(sleep_csv), "Reaction ~ Days + (1 | Subject)",
                 "-o", str(tmp_path / "nope" / "r.html")]) == 2
    assert "output folder does not exist" in capsys.readouterr().err


def test_help_runs_as_a_module():
    proc = subprocess.run([sys.executable, "-m", "mlm_jupyter.cli", "--help"],
                          capture_output=True, text=True, check=True)
    assert "mlm-report" in proc.stdout and "--example" in proc.stdout

"""Model matrices against R's ``model.matrix`` (column names, order and values).

tests/reference/model_matrix/model_matrix.json holds, for 63 formulas over a 60-row data
set (numeric, integer, text factors, a logical, dotted and non-syntactic names), the matrix
R 4.2 builds (script: model_matrix.R).  Every interaction pattern is there: ``f1:f2`` and
``x:f`` without main effects (indicator coding where R uses it), ``0 + f``, ``f - 1``,
nesting, powers, calls.  Property tests then show what must not matter: a column's dtype,
spacing, and whether a matrix is built for the fit or replayed on new data.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlm_jupyter.intake import Frame
from mlm_jupyter.model_matrix import build_matrix
from mlm_jupyter.rexpr import deparse, parse_expr
from mlm_jupyter.rfunctions import Evaluator
from mlm_jupyter.rterms import TermsError, expand

HERE = Path(__file__).parent / "reference" / "model_matrix"


@cache
def cases() -> list[dict]:
    return json.loads((HERE / "model_matrix.json").read_text())["model_matrix"]


@cache
def data() -> pd.DataFrame:
    d = pd.read_csv(HERE / "data.csv")
    return d.assign(a=d["x"], b=d["z"])  # the R script's ``~ b:a + a`` columns


def matrix(text: str, frame: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...]]:
    states: dict = {}
    ev = Evaluator(Frame(frame), states, np.ones(len(frame), dtype=bool))
    X, spec, _ = build_matrix(expand(text), ev, None, states)
    return X, spec.column_names


def _listed(value):
    return [value] if isinstance(value, str) else list(value)


@pytest.mark.parametrize("case", cases(), ids=lambda c: c["formula"])
def test_model_matrix_equals_r(case):
    X, names = matrix(case["formula"].removeprefix("~").strip(), data())
    assert list(names) == _listed(case["names"])
    expected = np.array(case["values"], dtype=float).reshape(len(data()), -1)
    np.testing.assert_allclose(X, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "text, labels",
    [
        ("a*b", ["a", "b", "a:b"]),
        ("b*a", ["b", "a", "b:a"]),
        ("a:b + a", ["a", "a:b"]),
        ("b:a + a", ["a", "b:a"]),
        ("a/b", ["a", "a:b"]),
        ("(a + b)/c", ["a", "b", "a:b:c"]),
        ("(a + b + c)^2", ["a", "b", "c", "a:b", "a:c", "b:c"]),
        ("(a + b + c)^2 - a:b", ["a", "b", "c", "a:c", "b:c"]),
        ("a*b*c - a:b:c", ["a", "b", "c", "a:b", "a:c", "b:c"]),
        ("a:a", ["a"]),
        ("a + a", ["a"]),
        ("a*b - a", ["b", "a:b"]),
        ("a + b:c + d", ["a", "d", "b:c"]),
        ("0 + a", ["a"]),
        ("a - 1 + 1", ["a"]),
        ("log(a) + I(a^2):b", ["log(a)", "I(a^2):b"]),
        ("`1` + `x y`", ["`1`", "`x y`"]),
    ],
)
def test_term_algebra_is_rs(text, labels):
    assert list(expand(text).labels()) == labels


@pytest.mark.parametrize(
    "text, intercept",
    [("x", True), ("0 + x", False), ("x - 1", False), ("-1 + x", False), ("x + 0", False),
     ("0 + x + 1", True), ("x - 0", True), ("1", True), ("1 + x - 1", False)],
)
def test_intercept_rules_are_rs(text, intercept):
    assert expand(text).intercept is intercept


@pytest.mark.parametrize("text", ["2 + x", "x^x", "-x + z", "x + ."])
def test_malformed_parts_are_refused(text):
    with pytest.raises(TermsError):
        expand(text)


@pytest.mark.parametrize(
    "text, r",
    [
        ("I(x/1e3)", "I(x/1000)"), ("I(100000*x)", "I(1e+05 * x)"), ("I(0.0001*x)",
                                                                       "I(1e-04 * x)"),
        ("I(x**2)", "I(x^2)"), ("log(x+1)", "log(x + 1)"), ("poly(x,degree=2)",
                                                             "poly(x, degree = 2)"),
        ("I((x+1)^2)", "I((x + 1)^2)"), ("I(x %% 2)", "I(x%%2)"), ("relevel(f, 'b')",
                                                                  'relevel(f, "b")'),
        ("I(-x^2)", "I(-x^2)"), ("I(x > 2 & z <= 1)", "I(x > 2 & z <= 1)"),
    ],
)
def test_variables_are_named_as_r_deparses_them(text, r):
    assert deparse(parse_expr(text)) == r


# -- properties ---------------------------------------------------------------------------------
NUMERIC = ["x", "z", "w"]
FACTORS = ["f1", "f2", "flag"]


@st.composite
def formula_parts(draw) -> str:
    """A fixed part mixing numbers, factors, calls and every operator R reads."""
    atoms = st.sampled_from(NUMERIC + FACTORS + ["log(z)", "I(x^2)", "factor(w)", "poly(x, 2)",
                                                 "scale(z)"])
    pieces = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["atom", ":", "*", "/"]))
        a, b = draw(atoms), draw(atoms)
        pieces.append(a if kind == "atom" else f"{a} {kind} {b}")
    intercept = draw(st.sampled_from(["", "0 + ", "1 + "]))
    return intercept + " + ".join(pieces)


DTYPES = {
    "w": ["int8", "int16", "uint8", "int32", "Int64", "float64", "float32", "UInt8",
          "int16[pyarrow]"],
    "f1": ["object", "string", "category", "string[pyarrow]"],
    "f2": ["object", "string", "category"],
    "flag": ["bool", "boolean", "object"],
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formula_parts(), st.fixed_dictionaries({k: st.sampled_from(v) for k, v in
                                               DTYPES.items()}))
def test_dtype_never_changes_a_model_matrix(text, dtypes):
    base = data().astype({"flag": bool})
    converted = base.astype(dtypes)
    X0, names0 = matrix(text, base)
    X1, names1 = matrix(text, converted)
    assert names1 == names0
    np.testing.assert_array_equal(X1, X0)


@settings(max_examples=40, deadline=None)
@given(formula_parts(), st.sampled_from(["", " ", "  "]))
def test_spacing_never_changes_a_model_matrix(text, space):
    spaced = text.replace(" + ", f"{space}+{space}").replace(" * ", f"{space}*{space}")
    assert matrix(spaced, data())[1] == matrix(text, data())[1]


@settings(max_examples=40, deadline=None)
@given(formula_parts())
def test_new_data_replays_the_fit_matrix(text):
    frame = data().astype({"flag": bool})
    states: dict = {}
    ev = Evaluator(Frame(frame), states, np.ones(len(frame), dtype=bool))
    X, spec, _ = build_matrix(expand(text), ev, None, states)
    # replay on the rows in reverse order, from a frame with other dtypes
    other = frame.iloc[::-1].astype({"w": "Int64", "f1": "category"}).reset_index(drop=True)
    replay = spec.matrix(Evaluator(Frame(other), dict(spec.states), None))
    np.testing.assert_allclose(replay, X[::-1], rtol=1e-12, atol=1e-12)

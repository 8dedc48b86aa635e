"""The NumPy fast path for plain numeric formulas (mlm_jupyter.plain_terms) against formulaic.

The fast path must be indistinguishable from the formulaic one: every formula below is built
both ways (``build_design(..., plain=False)`` forces formulaic) and names, order, values (bit
for bit), dropped rows/columns, messages, grouping codes and levels must agree.  Formulas that
need formulaic must not be taken by the fast path.  Predictions and simple slopes of a fit
whose design came from the fast path are checked against the formulaic fit on new data.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import case_ids, reference_case, reference_data
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import mlm_jupyter as mlm
import mlm_jupyter.design as design_module
from mlm_jupyter.design import build_design, r_style_names, used_frame
from mlm_jupyter.formula import FormulaError, parse
from mlm_jupyter.plain_terms import LazyModelSpec, parse_plain, plain_model
from mlm_jupyter.transforms import formula_context

#: Reference cases whose formula needs formulaic (a call, or a string/categorical column).
NOT_PLAIN_CASES = {"sleep_quadratic", "categorical3", "categorical3_school"}


def _toy(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame(
        {
            "y": rng.normal(size=n) * 3 + 10,
            "a": a,
            "b": rng.normal(size=n) * 1e3,
            "c": rng.uniform(-1, 1, size=n),
            "k": rng.integers(0, 4, size=n),
            "x.1": rng.normal(size=n),
            "d2": rng.normal(size=n).astype(np.float32),
            "a2": 2 * a,
            "g": rng.choice([f"s{i}" for i in range(8)], size=n),
            "h": rng.integers(0, 5, size=n),
            "f": rng.choice(["lo", "mid", "hi"], size=n),
            "flag": rng.integers(0, 2, size=n).astype(bool),
            "cat": pd.Categorical(rng.choice(["u", "v"], size=n)),
            "nullable": pd.array(rng.integers(0, 3, size=n), dtype="Int64"),
        }
    )


PLAIN = [
    "y ~ a + (1 | g)",
    "y ~ a*b + (1 | g)",
    "y ~ b*a + (1 | g)",
    "y ~ a:b*c + (1 | g)",
    "y ~ c*b:a + (1 | g)",
    "y ~ a*b*c + (1 + a | g)",
    "y ~ c*a*b + (1 | g)",
    "y ~ a*b + b:c:a + c:a:b + (1 | g)",
    "y ~ 0 + a + b + (0 + a | g)",
    "y ~ -1 + a + (1 | g)",
    "y ~ a - 1 + (1 | g)",
    "y ~ a + 0 + (1 | g)",
    "y ~ 0 + 1 + a + (1 | g)",
    "y ~ 1 + 0 + a + (1 | g)",
    "y ~ 0 + (1 | g)",
    "y ~ 1 + (1 | g)",
    "y ~ a + a + b + a + (1 | g)",
    "y ~ a:b + b:a + (1 | g)",
    "y ~ a:a + b*b + (1 | g)",
    "y ~ x.1 + d2 + (1 + x.1 | g)",
    "y ~ x.1*d2 + (d2 || g)",
    "y ~ k * a + (k || g)",
    "y ~ a + a2 + b + (1 | g)",
    "y ~ a + (1 | g) + (1 | h)",
    "y ~ a + (1 | g:h)",
    "y ~ a + (1 | g/h)",
    "k ~ a + (1 | g)",
    "y ~ a + f + (1 | g)",  # string column f: not plain (listed below too)
]
NOT_PLAIN = [
    "y ~ I(a^2) + (1 | g)",
    "y ~ (a + b)^2 + (1 | g)",
    "y ~ (a + b)*c + (1 | g)",
    "y ~ C(k) + (1 | g)",
    "y ~ a + center(b) + (1 | g)",
    "y ~ cwc(a, g) + (1 | g)",
    "y ~ a + f + (1 | g)",
    "y ~ flag + (1 | g)",
    "y ~ cat + (1 | g)",
    "y ~ nullable + (1 | g)",
    "y ~ a + b - b + (1 | g)",
    "y ~ `a` + (1 | g)",
    "log(y) ~ a + (1 | g)",
    "y ~ a + (I(2 * a) | g)",
    "y ~ a*f + (1 + a | g)",
    "y ~ a:2 + (1 | g)",
]


def _assert_same(fast, slow) -> None:
    assert fast.fixed_names == slow.fixed_names
    assert fast.variables == slow.variables
    assert fast.n_dropped == slow.n_dropped
    assert fast.dropped_columns == slow.dropped_columns
    assert fast.messages == slow.messages
    assert fast.row_index.equals(slow.row_index)
    np.testing.assert_array_equal(fast.y, slow.y)
    np.testing.assert_array_equal(fast.X, slow.X)
    assert fast.X.dtype == slow.X.dtype == np.float64
    assert r_style_names(fast.fixed_model_spec) == r_style_names(slow.fixed_model_spec)
    assert len(fast.terms) == len(slow.terms)
    for tf, ts in zip(fast.terms, slow.terms, strict=True):
        assert (tf.group, tf.columns, tf.levels, tf.correlated) == (
            ts.group,
            ts.columns,
            ts.levels,
            ts.correlated,
        )
        np.testing.assert_array_equal(tf.codes, ts.codes)
        np.testing.assert_array_equal(tf.Z, ts.Z)
        assert tf.Z.dtype == ts.Z.dtype == np.float64
        assert r_style_names(tf.model_spec) == r_style_names(ts.model_spec)
        assert _factors(tf.model_spec) == _factors(ts.model_spec)
    assert _factors(fast.fixed_model_spec) == _factors(slow.fixed_model_spec)


def _factors(model_spec) -> list[list[str]]:
    return [[str(f) for f in s.term.factors] for s in model_spec.structure]


def _both(formula: str, data: pd.DataFrame):
    spec = parse(formula)
    return build_design(spec, data), build_design(spec, data, plain=False)


def _is_fast(design) -> bool:
    return isinstance(design.fixed_model_spec, LazyModelSpec)


@pytest.mark.parametrize("case", case_ids())
def test_reference_formulas_same_design_both_paths(case: str) -> None:
    ref = reference_case(case)
    data = reference_data(ref["dataset"])
    fast, slow = _both(ref["formula"], data)
    assert _is_fast(fast) == (case not in NOT_PLAIN_CASES)
    assert not _is_fast(slow)
    _assert_same(fast, slow)


@pytest.mark.parametrize("formula", [f for f in PLAIN if f not in NOT_PLAIN])
def test_plain_formulas_take_the_fast_path_and_match_formulaic(formula: str) -> None:
    data = _toy()
    fast, slow = _both(formula, data)
    assert _is_fast(fast)
    assert fast.fixed_model_spec._spec is None  # nothing built from formulaic yet
    _assert_same(fast, slow)


@pytest.mark.parametrize("formula", NOT_PLAIN)
def test_formulas_needing_formulaic_are_not_taken(formula: str) -> None:
    data = _toy()
    assert plain_model(parse(formula), data, formula_context()) is None
    try:
        fast, slow = _both(formula, data)
    except (ValueError, FormulaError) as exc:  # e.g. "a:2": formulaic's own error, both ways
        with pytest.raises(type(exc)):
            build_design(parse(formula), data)
        return
    assert not _is_fast(fast)
    _assert_same(fast, slow)


def test_expansion_order_and_names() -> None:
    part = parse_plain("a:b*c + c:a + b")
    assert part is not None and part.intercept
    assert part.terms == (("c",), ("b",), ("a", "b"), ("c", "a"), ("a", "b", "c"))
    # R's labels: variables ordered by first appearance among the expanded terms
    assert part.column_names() == ("(Intercept)", "c", "b", "b:a", "c:a", "c:b:a")
    assert parse_plain("0 + x - 1").intercept is False
    assert parse_plain("a - 0").intercept is True  # formulaic: 0 is -1, so "- 0" is "+ 1"
    for text in ["a + (b)", "a^2", "-a + b", "a b", "a +", "a:1", "2", "1.0", "a + lambda", ""]:
        assert parse_plain(text) is None, text


def test_missing_rows_messages_and_codes_match() -> None:
    data = _toy()
    data.loc[[3, 17], "a"] = np.nan
    data.loc[5, "g"] = None
    data.loc[40, "y"] = np.nan
    for formula in ["y ~ a*b + (1 + a | g)", "y ~ a + (1 | g:h)"]:
        fast, slow = _both(formula, data)
        assert _is_fast(fast) and fast.n_dropped == 4
        _assert_same(fast, slow)
        used = used_frame(data, fast)
        expected = data.loc[fast.row_index, list(fast.variables)]
        pd.testing.assert_frame_equal(used, expected)


def test_infinite_and_unknown_columns_give_the_same_errors() -> None:
    data = _toy()
    data.loc[7, "b"] = np.inf
    messages = []
    for plain in (True, False):
        with pytest.raises(ValueError) as info:
            build_design(parse("y ~ a*b + (1 | g)"), data, plain=plain)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and "'b'" in messages[0]
    assert plain_model(parse("y ~ nope + (1 | g)"), data, formula_context()) is None
    with pytest.raises(FormulaError, match="nope"):
        build_design(parse("y ~ nope + (1 | g)"), data)


def test_lazy_model_spec_pickles_and_keeps_two_rows() -> None:
    fast = build_design(parse("y ~ a*b + (1 + a | g)"), _toy())
    lazy = fast.fixed_model_spec
    assert {k: v.shape for k, v in lazy._sample.items()} == {"a": (2,), "b": (2,)}
    clone = pickle.loads(pickle.dumps(lazy))
    assert clone._spec is None and r_style_names(clone) == fast.fixed_names


def test_used_frame_is_a_copy() -> None:
    data = _toy()
    before = data.copy()
    res = _fit("y ~ a*b + (1 + a | g)", data)
    used = res.data
    assert not np.shares_memory(used["a"].to_numpy(), data["a"].to_numpy())
    used.loc[0, "a"] = 99.0
    pd.testing.assert_frame_equal(data, before)
    assert list(used.columns) == list(res.design.variables)


def _fit(formula: str, data: pd.DataFrame, slow: bool = False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not slow:
            return mlm.fit(formula, data)
        original = design_module.plain_model
        design_module.plain_model = lambda *args: None
        try:
            return mlm.fit(formula, data)
        finally:
            design_module.plain_model = original


def test_predict_and_simple_slopes_on_new_data_match_formulaic_fit() -> None:
    data = mlm.load_dataset("hsb")
    formula = "mathach ~ cses * catholic + meanses + (1 + cses | school)"
    fast, slow = _fit(formula, data), _fit(formula, data, slow=True)
    assert _is_fast(fast.design) and not _is_fast(slow.design)
    np.testing.assert_array_equal(fast.fixef.to_numpy(), slow.fixef.to_numpy())
    new = data.sample(50, random_state=1).reset_index(drop=True)
    new["cses"] = new["cses"] + 0.5
    new.loc[:4, "school"] = "unseen"
    for include_re in (True, False):
        np.testing.assert_allclose(
            fast.predict(new, include_re=include_re),
            slow.predict(new, include_re=include_re),
            rtol=1e-12,
        )
    # ŷ = Xγ by hand for the population prediction
    x = new[["cses", "catholic", "meanses"]].to_numpy()
    X = np.column_stack([np.ones(len(new)), x[:, 0], x[:, 1], x[:, 2], x[:, 0] * x[:, 1]])
    np.testing.assert_allclose(fast.predict(new, include_re=False), X @ fast.fixef.to_numpy())
    pd.testing.assert_frame_equal(
        fast.simple_slopes("cses", at={"catholic": [0, 1]}),
        slow.simple_slopes("cses", at={"catholic": [0, 1]}),
    )
    assert [str(a) for a in fast.advice()] == [str(a) for a in slow.advice()]


# -- random plain formulas over four numeric columns ------------------------------------------

_NAMES = ["a", "b", "c", "k"]
_product = st.lists(
    st.tuples(st.sampled_from(_NAMES), st.sampled_from(["*", ":"])), min_size=1, max_size=3
).map(lambda parts: "".join(n + op for n, op in parts)[:-1])
_summand = st.one_of(st.sampled_from(["1", "0", "-1"]), _product, _product)
_part = st.lists(_summand, min_size=1, max_size=4).map(
    lambda items: " + ".join(items).replace("+ -1", "- 1")
)
_DATA = _toy(400, seed=3)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fixed=_part, random=_part)
def test_random_plain_formulas_match_formulaic(fixed: str, random: str) -> None:
    formula = f"y ~ {fixed} + ({random} | h)"
    try:
        spec = parse(formula)
    except FormulaError:  # e.g. "(1 + 0 | h)": refused by the parser before any design
        assume(False)
    outcomes = []
    for plain in (True, False):
        try:
            outcomes.append(build_design(spec, _DATA, plain=plain))
        except (ValueError, FormulaError) as exc:
            outcomes.append(exc)
    fast, slow = outcomes
    if isinstance(slow, Exception):
        assert type(fast) is type(slow) and str(fast) == str(slow)
        return
    assert _is_fast(fast), formula
    _assert_same(fast, slow)

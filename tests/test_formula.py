"""Tests of the lme4 formula parser: syntax tables, error tables, lme4 references, properties."""

from __future__ import annotations

import json
import keyword
import pickle
from pathlib import Path

import pytest
from formulaic import Formula
from hypothesis import given, settings
from hypothesis import strategies as st

from mlm_jupyter.formula import FormulaError, parse, unknown_column_error
from mlm_jupyter.spec import ModelSpec, RandomTerm

REFERENCE = Path(__file__).parent / "reference" / "lme4"
T, F = True, False


def parts(spec: ModelSpec) -> tuple[str, str, list[tuple[str, str, bool]]]:
    return spec.response, spec.fixed, [(r.expr, r.group, r.correlated) for r in spec.random]


# formula -> (response, fixed, [(expr, group, correlated), ...])
VALID = {
    # random intercepts and slopes, lme4's implicit intercept
    "Reaction ~ Days + (1 | Subject)": ("Reaction", "Days", [("1", "Subject", T)]),
    "Reaction ~ Days + (Days | Subject)": ("Reaction", "Days", [("1 + Days", "Subject", T)]),
    "y ~ x + (1 + x | g)": ("y", "x", [("1 + x", "g", T)]),
    "y ~ (x + 1 | g)": ("y", "1", [("1 + x", "g", T)]),
    "y ~ (1 + x + z | g)": ("y", "1", [("1 + x + z", "g", T)]),
    "y ~ (x + x | g)": ("y", "1", [("1 + x", "g", T)]),
    "y ~ (x:z | g)": ("y", "1", [("1 + x:z", "g", T)]),
    "y ~ (1 + x*z | g)": ("y", "1", [("1 + x * z", "g", T)]),
    # no intercept
    "Reaction ~ Days + (0 + Days | Subject)": ("Reaction", "Days", [("0 + Days", "Subject", T)]),
    "y ~ (-1 + x | g)": ("y", "1", [("0 + x", "g", T)]),
    "y ~ (x - 1 | g)": ("y", "1", [("0 + x", "g", T)]),
    "y ~ (x + 0 | g)": ("y", "1", [("0 + x", "g", T)]),
    # uncorrelated: lme4's expandDoubleVerts, R's term-label order (by degree)
    "y ~ (x || g)": ("y", "1", [("1", "g", F), ("0 + x", "g", F)]),
    "y ~ (1 + x + z || g)": ("y", "1", [("1", "g", F), ("0 + x", "g", F), ("0 + z", "g", F)]),
    "y ~ (0 + x + z || g)": ("y", "1", [("0 + x", "g", F), ("0 + z", "g", F)]),
    "y ~ (x - 1 + z || g)": ("y", "1", [("0 + x", "g", F), ("0 + z", "g", F)]),
    "y ~ (1 || g)": ("y", "1", [("1", "g", F)]),
    "y ~ (1 + I(x^2) || g)": ("y", "1", [("1", "g", F), ("0 + I(x^2)", "g", F)]),
    "y ~ (x*z || g)": (
        "y",
        "1",
        [("1", "g", F), ("0 + x", "g", F), ("0 + z", "g", F), ("0 + x:z", "g", F)],
    ),
    "y ~ (w:v + x || g)": ("y", "1", [("1", "g", F), ("0 + x", "g", F), ("0 + w:v", "g", F)]),
    "y ~ (x + z:x + x:z || g)": ("y", "1", [("1", "g", F), ("0 + x", "g", F), ("0 + z:x", "g", F)]),
    # nesting, interactions, crossed factors
    "y ~ (1 | a/b)": ("y", "1", [("1", "a", T), ("1", "b:a", T)]),
    "y ~ (x | a/b/c)": (
        "y", "1", [("1 + x", "a", T), ("1 + x", "b:a", T), ("1 + x", "c:(b:a)", T)]
    ),
    "y ~ (1 | a:b)": ("y", "1", [("1", "a:b", T)]),
    "y ~ (1 | a:b/c)": ("y", "1", [("1", "a:b", T), ("1", "c:(a:b)", T)]),
    "y ~ (1|a) + (1|b)": ("y", "1", [("1", "a", T), ("1", "b", T)]),
    "y ~ (x || a/b)": (
        "y",
        "1",
        [("1", "a", F), ("1", "b:a", F), ("0 + x", "a", F), ("0 + x", "b:a", F)],
    ),
    # the fixed part
    "mathach ~ cses*catholic + meanses + (1 + cses | school)": (
        "mathach",
        "cses * catholic + meanses",
        [("1 + cses", "school", T)],
    ),
    "y ~ (1 | g)": ("y", "1", [("1", "g", T)]),
    "y ~ 1 + (1 | g)": ("y", "1", [("1", "g", T)]),
    "y ~ 0 + (1 | g)": ("y", "0", [("1", "g", T)]),
    "y ~ -1 + (1 | g)": ("y", "-1", [("1", "g", T)]),
    "y ~ -1 + x + (1 | g)": ("y", "-1 + x", [("1", "g", T)]),
    "y ~ (1 | g) + 0 + x": ("y", "0 + x", [("1", "g", T)]),
    "y ~ x - 1 + (1 | g)": ("y", "x - 1", [("1", "g", T)]),
    "y ~ x + (1 | g) - 1": ("y", "x - 1", [("1", "g", T)]),
    "y ~ (1 | g) - 1 + x": ("y", "-1 + x", [("1", "g", T)]),
    "y ~ (1 | a) + (1 | b) - 1": ("y", "-1", [("1", "a", T), ("1", "b", T)]),
    "y ~ x + (1 | g) + z": ("y", "x + z", [("1", "g", T)]),
    "y ~ (1 | g) + x + (x | h) + z": ("y", "x + z", [("1", "g", T), ("1 + x", "h", T)]),
    "y ~ +(1 | g)": ("y", "1", [("1", "g", T)]),
    "y ~ x + ((1 | g))": ("y", "x", [("1", "g", T)]),
    "y ~ I(x^2) + log(z) + (1 | g)": ("y", "I(x^2) + log(z)", [("1", "g", T)]),
    "y ~ C(f) + (1 | g)": ("y", "C(f)", [("1", "g", T)]),
    "y ~ C(f, levels=['a)', 'b']) + (1 | g)": ("y", "C(f, levels=['a)', 'b'])", [("1", "g", T)]),
    "y ~ I(log(z) + 1) + poly(x, 2) + (1 | g)": (
        "y",
        "I(log(z) + 1) + poly(x, 2)",
        [("1", "g", T)],
    ),
    "y ~ log( z ) + (1 | g)": ("y", "log(z)", [("1", "g", T)]),
    "y ~ (x + z)^2 + a/b + x:z + (1 | g)": ("y", "(x + z)^2 + a / b + x:z", [("1", "g", T)]),
    "y ~ cwc(ses, school) + (1 + cwc(ses, school) | school)": (
        "y",
        "cwc(ses, school)",
        [("1 + cwc(ses, school)", "school", T)],
    ),
    # responses, quoting, unusual names, layout
    "log(y) ~ x + (1 | g)": ("log(y)", "x", [("1", "g", T)]),
    "`my y` ~ `x 1` + (1 | `my g`)": ("`my y`", "`x 1`", [("1", "my g", T)]),
    "y ~ mean.ses + größe + (1 | g_2)": ("y", "mean.ses + größe", [("1", "g_2", T)]),
    "y~x+(1+x|g)": ("y", "x", [("1 + x", "g", T)]),
    "y ~ x +\n    (1 + x | g)\n": ("y", "x", [("1 + x", "g", T)]),
    "\ty ~ ( 1 | g )": ("y", "1", [("1", "g", T)]),
}


@pytest.mark.parametrize("formula", list(VALID))
def test_valid_syntax(formula: str) -> None:
    spec = parse(formula)
    assert isinstance(spec, ModelSpec)
    assert spec.formula == formula
    assert parts(spec) == VALID[formula]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("y~(1+x|g)", "y ~ (1 + x | g)"),
        ("y ~ x*z+(x||g)", "y ~ x * z + (x || g)"),
        ("y ~ (1|a/b)", "y ~ ( 1 | a / b )"),
        ("y ~ x:z + (1|g)", "y ~ x : z + (1 | g)"),
        ("y ~ -1+x+(0+x|g)", "y ~ - 1 + x + (0 + x | g)"),
        ("y ~ I( x^2 )+(1|g)", "y ~ I(x^2) + (1 | g)"),
        ("y ~ x + (1|g)", "y ~ x +\n\t(1 |\n g)"),
    ],
)
def test_spacing_does_not_change_the_spec(a: str, b: str) -> None:
    assert parts(parse(a)) == parts(parse(b))


def test_random_term_group_columns() -> None:
    spec = parse("y ~ (1 | a/b) + (1 | `my g`:h)")
    assert [r.group_columns for r in spec.random] == [("a",), ("b", "a"), ("my g", "h")]


# formula -> (position of the caret, phrase of the message)
ERRORS = {
    "": (None, "Empty formula"),
    "   \n": (None, "Empty formula"),
    "x + (1 | g)": (None, "Missing '~'"),
    "y x + (1 | g)": (None, "needs '~' between"),
    "y ~ x ~ (1 | g)": (6, "More than one '~'"),
    "(y ~ x) + (1 | g)": (3, "'~' inside parentheses"),
    "~ x + (1 | g)": (0, "Missing response"),
    "y + z ~ x + (1 | g)": (0, "Unsupported response"),
    "y ~ ": (4, "Missing right-hand side"),
    "y ~ x": (5, "no random-effects term"),
    "y ~ 1": (5, "(1 | group)"),
    "y ~ x + (1 + x | g": (18, "opened at position 8 is never closed"),
    "y ~ x +\n(1 | g": (14, "Add ')' after the grouping factor: (1 | g)."),
    "y ~ (x + (1 | g)": (16, "opened at position 4"),
    "y ~ x + 1 + x | g)": (17, "')' at position 17 has no matching '('"),
    "y ~ x) + (1 | g)": (5, "Unbalanced parenthesis"),
    "y ~ log(x + (1 | g)": (19, "The '(' of the call log("),
    "y ~ x + (1 | )": (13, "Missing grouping factor"),
    "y ~ x + ( | g)": (10, "Nothing comes before '|'"),
    "y ~ ( || g)": (6, "Put 1 there for a random intercept: (1 || g)"),
    "y ~ (1 | g + h)": (11, "(1 | g) + (1 | h)"),
    "y ~ (1 | 2)": (9, "not the number 2"),
    "y ~ (1 | log(g))": (9, "not the call log(g)"),
    "y ~ (1 | a b)": (11, "Join grouping columns with ':'"),
    "y ~ (1 | a/)": (10, "no column after it"),
    "y ~ (1 | /a)": (9, "Invalid grouping factor"),
    "y ~ (1 | (a))": (9, "Invalid grouping factor"),
    "y ~ (1 | `a:b`)": (9, "contains ':'"),
    "y ~ x | g": (6, "Bar outside parentheses"),
    "y ~ x + 1 || g": (10, "must be inside parentheses"),
    "y ~ (1 + (x | h) | g)": (12, "Nested random-effects term"),
    "y ~ (x + (1 | g))": (12, "part of a larger parenthesised expression"),
    "y ~ (1 | g | h)": (11, "more than one '|'"),
    "y ~ x +": (6, "'+' at position 6 has no term after it"),
    "y ~ + ": (4, "Dangling operator"),
    "y ~ x + (1 | g) +": (16, "has no term after it"),
    "y ~ x + (1 + | g)": (11, "has no term after it"),
    "y ~ * x + (1 | g)": (4, "no term before it"),
    "y ~ x + * z + (1 | g)": (8, "Two operators in a row"),
    "y ~ x z + (1 | g)": (6, "Nothing joins 'x' and 'z'"),
    "y ~ 2x + (1 | g)": (5, "Missing operator"),
    "y ~ x (1 | g)": (6, "Add '+' between them"),
    "y ~ (1 | g) x": (12, "Missing operator"),
    "y ~ x * (1 | g)": (6, "can only be added with '+'"),
    "y ~ x - (1 | g)": (6, "Random-effects term not added"),
    "y ~ (1 | g):x": (11, "Random-effects term not added"),
    "y ~ (1 | g)^2": (11, "can only be added"),
    "y ~ () + (1 | g)": (4, "Empty parentheses"),
    "y ~ x $ z + (1 | g)": (6, "Illegal character"),
    "y ~ x + 'z' + (1 | g)": (8, "backticks"),
    "y ~ x %in% z + (1 | g)": (6, "%in%"),
    "y ~ x, z + (1 | g)": (5, "commas"),
    "y ~ `x + (1 | g)": (4, "Unbalanced backtick"),
    "y ~ `` + (1 | g)": (4, "Empty quoted name"),
    "y ~ I('a) + (1 | g)": (6, "Unbalanced quote"),
    "y ~ (0 | g)": (5, "neither an intercept nor a variable"),
    "y ~ (-1 | g)": (5, "Empty random-effects term"),
    "y ~ (2 + x | g)": (5, "Number as a term"),
    "y ~ (1 + x - z | g)": (11, "Only the intercept can be removed"),
    "y ~ (0 + x + 1 | g)": (13, "Conflicting intercept"),
    "y ~ ((a + b)^2 || g)": (5, "cannot be split into uncorrelated terms"),
    "y ~ (x/z || g)": (6, "Term cannot be split"),
}


@pytest.mark.parametrize("formula", list(ERRORS))
def test_errors(formula: str) -> None:
    position, phrase = ERRORS[formula]
    with pytest.raises(FormulaError) as info:
        parse(formula)
    err = info.value
    assert err.formula == formula
    assert err.position == position
    assert phrase in str(err)
    assert err.hint  # every error says how to fix it


def test_error_message_layout() -> None:
    with pytest.raises(FormulaError) as info:
        parse("y ~ x + (1 + x | g")
    assert str(info.value) == (
        "Unbalanced parenthesis in the formula:\n"
        "  y ~ x + (1 + x | g\n"
        "                    ^\n"
        "A '(' opened at position 8 is never closed. "
        "Add ')' after the grouping factor: (1 + x | g)."
    )


def test_caret_stays_aligned_on_multiline_formulas() -> None:
    with pytest.raises(FormulaError) as info:
        parse("y ~ x +\n\t(1 | 2)")
    lines = str(info.value).splitlines()
    assert lines[1] == "  y ~ x +  (1 | 2)"
    assert lines[2].index("^") == lines[1].index("2")


def test_formula_error_is_a_value_error_and_pickles() -> None:
    with pytest.raises(ValueError) as info:
        parse("y ~ x | g")
    err = info.value
    assert isinstance(err, FormulaError)
    clone = pickle.loads(pickle.dumps(err))
    assert str(clone) == str(err) and clone.position == err.position == 6


def test_formula_error_built_by_other_modules() -> None:
    # design.py raises FormulaError(message, formula, position, hint) for data problems
    err = FormulaError("could not build the fixed effects.", "y ~ x + (1 | g)", -1, "Check x.")
    assert str(err) == (
        "Error in the formula:\n  y ~ x + (1 | g)\ncould not build the fixed effects. Check x."
    )
    assert str(FormulaError("Bad.", "y ~ x", 4)).splitlines()[2] == "      ^"


@pytest.mark.parametrize("bad", [None, 3, b"y ~ (1 | g)", ["y ~ (1 | g)"]])
def test_non_string_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="must be a string"):
        parse(bad)  # type: ignore[arg-type]


def test_unknown_column_suggests_close_names() -> None:
    err = unknown_column_error(
        "Reaction ~ Days + (Days | Subjct)", "Subjct", ["Reaction", "Days", "Subject"]
    )
    assert isinstance(err, FormulaError)
    assert err.position == 26
    assert "no column named 'Subjct'" in str(err) and "Did you mean 'Subject'?" in err.hint


def test_unknown_column_prefers_the_same_name_in_another_case() -> None:
    err = unknown_column_error("y ~ days + (1 | g)", "days", ["Days", "dayz", "y", "g"])
    assert err.hint == "Did you mean 'Days' or 'dayz'?"


def test_unknown_column_finds_the_whole_name() -> None:
    assert unknown_column_error("y ~ xx + x + (1 | g)", "x", ["y"]).position == 9
    assert unknown_column_error("y ~ `my x` + (1 | g)", "my x", ["y"]).position == 4
    assert unknown_column_error("y ~ log(x) + (1 | g)", "x", ["y"]).position == 8
    assert unknown_column_error("y ~ (1 | g)", "zz", ["y"]).position is None


def test_unknown_column_without_close_names_lists_the_columns() -> None:
    columns = [f"col{i}" for i in range(20)]
    err = unknown_column_error("y ~ banana + (1 | g)", "banana", columns)
    assert err.hint.startswith("The columns are: col0, col1") and err.hint.endswith(
        ", ... (20 in all)."
    )


# ---------------------------------------------------------------------------------------------
# lme4 ground truth: the grouping factors and variance components lme4 reported for each case


def _reference_cases() -> list[dict]:
    cases = [json.loads(p.read_text()) for p in sorted(REFERENCE.glob("*.json"))]
    return [c for c in cases if "formula" in c]


def _components(expr: str) -> tuple[str, ...]:
    terms = [t.strip() for t in expr.split("+")]
    names = ["(Intercept)" if terms[0] == "1" else None, *terms[1:]]
    return tuple(n for n in names if n)


@pytest.mark.parametrize("case", _reference_cases(), ids=lambda c: c["id"])
def test_random_terms_match_lme4(case: dict) -> None:
    spec = parse(case["formula"])
    assert {r.group for r in spec.random} == set(case["ngroups"])
    # lme4 labels repeated groups "g", "g.1", ... (one label per term) and orders the terms
    # by number of levels; compare as sorted lists of (group, variance components).
    lme4: dict[str, list[str]] = {}
    for row in case["varcorr"]:
        if row["grp"] != "Residual" and not row["var2"]:
            lme4.setdefault(row["grp"], []).append(row["var1"])
    expected = sorted((grp.split(".")[0], tuple(v)) for grp, v in lme4.items())
    assert sorted((r.group, _components(r.expr)) for r in spec.random) == expected


# ---------------------------------------------------------------------------------------------
# the emitted texts are formulaic formulas meaning what lme4 means


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("cses * catholic + meanses", ["1", "cses", "catholic", "meanses", "cses:catholic"]),
        ("1 + x", ["1", "x"]),
        ("0 + x", ["x"]),
        ("-1 + x", ["x"]),
        ("0", []),
        ("1 + x:z", ["1", "x:z"]),
        ("0 + x:z", ["x:z"]),
        ("`x 1`", ["1", "x 1"]),
    ],
)
def test_emitted_texts_are_formulaic_formulas(text: str, terms: list[str]) -> None:
    assert [str(t) for t in Formula(text)] == terms


@pytest.mark.parametrize("formula", list(VALID))
def test_every_emitted_text_is_read_by_formulaic(formula: str) -> None:
    spec = parse(formula)
    Formula(spec.response)
    Formula(spec.fixed)
    for term in spec.random:
        # the intercept formulaic reads is the one lme4 means
        assert ("1" in [str(t) for t in Formula(term.expr)]) == term.expr.startswith("1")


# ---------------------------------------------------------------------------------------------
# properties

ALPHABET = "~+-*/:|^()` '$.,\n0123456789abgxyzIC_"
FRAGMENTS = [
    "x",
    "+",
    "-",
    "(",
    ")",
    "1",
    "0",
    "|",
    "||",
    "g",
    "a",
    "/",
    ":",
    "*",
    "^",
    "I(x^2)",
    "`a b`",
    "`",
    " ",
    "2",
    "C(f)",
    "(1|g)",
    "(x||g)",
    "((",
    "))",
    "~",
    "log(",
]


@st.composite
def mutated(draw) -> str:
    """A valid formula from the table with a few characters deleted, inserted or replaced."""
    text = draw(st.sampled_from(list(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from("~+-*/:|^()` 1g0x"))
        keep = draw(st.sampled_from([0, 1]))  # 0: insert, 1: replace (or delete if char == " ")
        text = text[:i] + (char if char != " " or not keep else "") + text[i + keep :]
    return text


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(ALPHABET, max_size=40),
        st.lists(st.sampled_from(FRAGMENTS), max_size=14).map(lambda f: "y ~ " + "".join(f)),
        mutated(),
    )
)
def test_any_text_gives_a_spec_or_a_formula_error(text: str) -> None:
    try:
        spec = parse(text)
    except FormulaError as err:
        assert err.position is None or 0 <= err.position <= len(text)
        assert str(err) and err.hint
    else:
        assert isinstance(spec, ModelSpec) and spec.random
        assert all(isinstance(r, RandomTerm) and r.expr and r.group for r in spec.random)


SPACE = st.sampled_from(["", "", " ", " ", "  ", "\n  ", "\t"])
# Column names as users write them; Python keywords (``if``, ``in``, ``or``) are not valid
# names inside formulaic's I(...) calls, so the generator leaves them out.
NAMES = st.lists(
    st.from_regex(r"[a-z][a-z0-9]{0,3}", fullmatch=True).filter(
        lambda name: not keyword.iskeyword(name)
    ),
    min_size=12, max_size=12, unique=True,
)


@st.composite
def formulas(draw) -> tuple[str, tuple[str, str, list[tuple[str, str, bool]]]]:
    """A well-formed formula with random spacing and term order, and the spec it means."""
    pool = draw(NAMES)

    def sp() -> str:
        return draw(SPACE)

    def name() -> str:
        return draw(st.sampled_from(pool))

    def two() -> tuple[str, str]:
        a, b = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2, unique=True))
        return a, b

    def join(items: list[str]) -> str:
        return "".join(item if i == 0 else f"{sp()}+{sp()}{item}" for i, item in enumerate(items))

    response = name()
    written_response = draw(st.sampled_from([response, f"log({sp()}{response}{sp()})"]))
    if written_response != response:
        response = f"log({response})"

    # fixed part: (canonical, written) pieces, intercept first
    fixed: list[tuple[str, str]] = []
    intercept = draw(st.sampled_from([None, "1", "0", "-1"]))
    if intercept:
        fixed.append((intercept, intercept.replace("-", f"-{sp()}")))
    for kind in draw(st.lists(st.sampled_from(["name", ":", "*", "I", "log"]), max_size=3)):
        if kind == "name":
            n = name()
            fixed.append((n, n))
        elif kind in (":", "*"):
            a, b = two()
            canon = f"{a}:{b}" if kind == ":" else f"{a} * {b}"
            fixed.append((canon, f"{a}{sp()}{kind}{sp()}{b}"))
        else:
            n = name()
            arg = f"{n}^2" if kind == "I" else n
            fixed.append((f"{kind}({arg})", f"{kind}({sp()}{arg}{sp()})"))
    expected_fixed = " + ".join(c for c, _ in fixed) if fixed else "1"

    random: list[str] = []
    expected_random: list[tuple[str, str, bool]] = []
    for _ in range(draw(st.integers(1, 3))):
        slopes = draw(
            st.lists(
                st.one_of(
                    st.sampled_from(pool),
                    st.builds(":".join, st.tuples(st.sampled_from(pool), st.sampled_from(pool))),
                ).filter(lambda s: len(set(s.split(":"))) == len(s.split(":"))),
                max_size=2,
                unique_by=lambda s: frozenset(s.split(":")),
            )
        )
        mode = draw(st.sampled_from(["implicit", "1", "1 last", "0", "-1", "-1 last"]))
        if not slopes and mode != "1 last":
            mode = "1"
        written_slopes = [s.replace(":", f"{sp()}:{sp()}") for s in slopes]
        lhs = {
            "implicit": join(written_slopes),
            "1": join(["1", *written_slopes]),
            "1 last": join([*written_slopes, "1"]),
            "0": join(["0", *written_slopes]),
            "-1": f"-{sp()}1{sp()}+{sp()}" + join(written_slopes),
            "-1 last": join(written_slopes) + f"{sp()}-{sp()}1",
        }[mode]
        has_intercept = mode in ("implicit", "1", "1 last")
        shape = draw(st.sampled_from(["name", ":", "/"]))
        if shape == "name":
            g = name()
            written_group, groups = g, [g]
        else:
            a, b = two()
            written_group = f"{a}{sp()}{shape}{sp()}{b}"
            groups = [f"{a}:{b}"] if shape == ":" else [a, f"{b}:{a}"]
        bar = draw(st.sampled_from(["|", "||"]))
        random.append(f"({sp()}{lhs}{sp()}{bar}{sp()}{written_group}{sp()})")
        if bar == "|":
            expr = " + ".join(["1" if has_intercept else "0", *slopes])
            expected_random += [(expr, g, True) for g in groups]
        else:
            by_degree = sorted(slopes, key=lambda s: s.count(":"))
            exprs = (["1"] if has_intercept else []) + [f"0 + {s}" for s in by_degree]
            expected_random += [(e, g, False) for e in exprs for g in groups]

    # interleave fixed and random pieces, each keeping its own order
    order = draw(st.permutations(["f"] * len(fixed) + ["r"] * len(random)))
    fixed_written = iter(w for _, w in fixed)
    random_written = iter(random)
    rhs = join([next(fixed_written) if o == "f" else next(random_written) for o in order])
    formula = f"{sp()}{written_response}{sp()}~{sp()}{rhs}{sp()}"
    return formula, (response, expected_fixed, expected_random)


@settings(max_examples=200, deadline=None)
@given(formulas())
def test_generated_formulas_parse_to_their_spec(case) -> None:
    formula, expected = case
    assert parts(parse(formula)) == expected


@settings(max_examples=40, deadline=None)
@given(formulas())
def test_generated_specs_are_read_by_formulaic(case) -> None:
    spec = parse(case[0])
    for text in [spec.fixed, *(r.expr for r in spec.random)]:
        Formula(text)

"""Cases of tests/reference/effects2 (the shared emmeans / prediction reference, copied) and
tests/reference/effects2_more (make_more.R there): loading, fitting once, the README's
tolerances."""

from __future__ import annotations

import json
import re
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

import mlm_jupyter as mlm

ROOTS = (Path(__file__).parent / "reference" / "effects2",
         Path(__file__).parent / "reference" / "effects2_more")


def case_files(prefix: str) -> list[Path]:
    return sorted(p for root in ROOTS for p in root.glob(f"{prefix}_*.json"))


@cache
def load(path: Path) -> dict:
    return json.loads(path.read_text())


@cache
def data(path: Path) -> pd.DataFrame:
    case = load(path)
    return pd.read_csv(path.parent / case["data"], dtype={c: str for c in case["string_columns"]})


@cache
def fitted(path: Path):
    case = load(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular crossed fit (as lme4 says)
        return mlm.fit(case["formula"], data=data(path).copy(), reml=case["reml"])


def newdata(case: dict) -> pd.DataFrame:
    frame = pd.DataFrame(case["newdata"])
    for col in case["string_columns"]:
        if col in frame:
            frame[col] = frame[col].astype(str)
    return frame


def same_contrast(a: str, b: str) -> bool:
    """The README's rule: contrasts match by label with spaces and parentheses ignored."""
    strip = lambda s: re.sub(r"[\s()]", "", s)  # noqa: E731
    return strip(a) == strip(b)


# README tolerances ------------------------------------------------------------------------
def assert_estimate(got, want, se) -> None:
    got, want, se = (np.asarray(v, dtype=float) for v in (got, want, se))
    assert np.all(np.abs(got - want) <= np.maximum(1e-4 * np.abs(want), 1e-3 * se)), (got, want)


def assert_bounds(got, want, half) -> None:
    got, want, half = (np.asarray(v, dtype=float) for v in (got, want, half))
    assert np.all(np.abs(got - want) <= 1e-4 * np.abs(want) + 1e-3 * half), (got, want)


def assert_rel(got, want, rel=1e-3, abs_=0.0) -> None:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert np.all(np.abs(got - want) <= np.maximum(rel * np.abs(want), abs_)), (got, want)

"""Shared fixtures: lme4 reference cases (tests/reference) and their fits, fitted once."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

REFERENCE = Path(__file__).parent / "reference"
#: tests/reference holds the shared lme4 cases; tests/reference/extra more cases made with
#: the R scripts in that folder (three-level, crossed slopes, categorical, singular ML).
ROOTS = (REFERENCE, REFERENCE / "extra")

# Property tests draw the same examples on every run: CI must not turn red because one
# run happened upon a new corner (each example set is still hundreds of formulas).
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")


@cache
def manifest(root: Path = REFERENCE) -> dict:
    return json.loads((root / "manifest.json").read_text())


def case_ids(extra: bool = True) -> list[str]:
    roots = ROOTS if extra else ROOTS[:1]
    return [c["id"] for root in roots for c in manifest(root)["cases"]]


def comparisons() -> list[dict]:
    out = []
    for root in ROOTS:
        out += json.loads((root / "lme4" / "comparisons.json").read_text())
    return out


@cache
def reference_case(case_id: str) -> dict:
    for root in ROOTS:
        path = root / "lme4" / f"{case_id}.json"
        if path.exists():
            return json.loads(path.read_text())
    raise KeyError(case_id)


@cache
def grouping_columns(dataset: str) -> tuple[str, ...]:
    """Grouping factors of every case on ``dataset``: read as strings, as R's factors."""
    from mlm_jupyter import parse

    columns: list[str] = []
    for root in ROOTS:
        for case in manifest(root)["cases"]:
            if case["dataset"] == dataset:
                for term in parse(case["formula"]).random:
                    columns += [c for c in term.group_columns if c not in columns]
    return tuple(columns)


@cache
def reference_data(dataset: str) -> pd.DataFrame:
    for root in ROOTS:
        path = root / "data" / f"{dataset}.csv"
        if path.exists():
            return pd.read_csv(path, dtype={c: str for c in grouping_columns(dataset)})
    raise KeyError(dataset)


@cache
def fitted_case(case_id: str):
    """Our fit of a reference case (cached across tests; results are immutable)."""
    import mlm_jupyter as mlm

    ref = reference_case(case_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(ref["formula"], reference_data(ref["dataset"]).copy(), reml=ref["reml"])


@pytest.fixture(scope="session")
def hsb() -> pd.DataFrame:
    return reference_data("hsb").copy()


@pytest.fixture(scope="session")
def sleepstudy() -> pd.DataFrame:
    return reference_data("sleepstudy").copy()


def thousand_clusters(seed: int, group: str = "g") -> pd.DataFrame:
    """1,000 clusters x 10 rows: random intercept and x slope, a cluster-level w and x:w.

    The large model the report tests fit as ``y ~ x * w + (1 + x | <group>)``.
    """
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(1000), 10)
    x = rng.normal(size=g.size)
    w = rng.normal(size=1000)[g]
    u0, u1 = rng.normal(0, 1.0, 1000)[g], rng.normal(0, 0.4, 1000)[g]
    y = 2 + 0.5 * x + 0.3 * w + 0.2 * x * w + u0 + u1 * x + rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "x": x, "w": w, group: g.astype(str)})

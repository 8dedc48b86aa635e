"""Shared fixtures: lme4 reference cases (tests/reference) and their fits, fitted once."""

from __future__ import annotations

import json
import warnings
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest

REFERENCE = Path(__file__).parent / "reference"
GROUPING = {
    "sleepstudy": ("Subject",),
    "hsb": ("school",),
    "pastes": ("batch", "cask"),
    "penicillin": ("plate", "sample"),
    "dyestuff": ("Batch",),
    "singular": ("g",),
}


def manifest() -> dict:
    return json.loads((REFERENCE / "manifest.json").read_text())


def case_ids() -> list[str]:
    return [c["id"] for c in manifest()["cases"]]


@lru_cache(maxsize=None)
def reference_case(case_id: str) -> dict:
    return json.loads((REFERENCE / "lme4" / f"{case_id}.json").read_text())


@lru_cache(maxsize=None)
def reference_data(dataset: str) -> pd.DataFrame:
    return pd.read_csv(
        REFERENCE / "data" / f"{dataset}.csv", dtype={c: str for c in GROUPING.get(dataset, ())}
    )


@lru_cache(maxsize=None)
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

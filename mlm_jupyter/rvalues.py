"""Values of formula variables: numbers (one or more columns), logicals and factors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .intake import Factor

__all__ = ["LOGICAL_LEVELS", "Logical", "Numeric", "UnknownName", "Value"]

LOGICAL_LEVELS = ("FALSE", "TRUE")


@dataclass(frozen=True)
class Numeric:
    """n x k float64 values; ``suffixes`` name the columns of a matrix (``poly``), else None."""

    values: np.ndarray
    suffixes: tuple[str, ...] | None = None

    @property
    def k(self) -> int:
        return int(self.values.shape[1])


@dataclass(frozen=True)
class Logical:
    """A TRUE/FALSE variable (a comparison); a two-level factor in a model matrix."""

    values: np.ndarray  # float64 0/1, NaN where missing

    def as_factor(self) -> Factor:
        codes = np.where(np.isnan(self.values), -1, self.values).astype(np.int64)
        return Factor(codes, LOGICAL_LEVELS)


Value = Any  # Numeric | Logical | Factor | float | bool | str | tuple


class UnknownName(Exception):
    """A name in an expression that is not a column of the data."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

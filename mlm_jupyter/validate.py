"""Argument checks shared by the public functions: each error names the argument at fault."""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "check_count",
    "check_flag",
    "check_output_path",
    "check_result",
    "check_seed",
]


def check_flag(name: str, value: Any, allow_none: bool = False) -> None:
    """``value`` must be True or False (or None when allowed): ``reml=None`` must not mean ML."""
    if allow_none and value is None:
        return
    if not isinstance(value, (bool, np.bool_)):
        extra = ", or None" if allow_none else ""
        raise TypeError(f"{name} must be True or False{extra}, not {value!r}.")


def check_count(name: str, value: Any, minimum: int = 0) -> int:
    """A whole number of at least ``minimum`` (``nsim=-3``, ``max_clusters=2.5`` are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, not {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}.")
    return int(value)


def check_seed(name: str, value: Any) -> None:
    """None, a non-negative whole number or a NumPy Generator / SeedSequence."""
    if value is None or isinstance(value, (np.random.Generator, np.random.SeedSequence)):
        return
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        if value < 0:
            raise ValueError(f"{name} must be a non-negative whole number, not {value}.")
        return
    raise TypeError(f"{name} must be None, a whole number or a numpy Generator, not {value!r}.")


def check_result(value: Any, where: str) -> None:
    """``value`` must be a fitted model (``where`` says which argument it is)."""
    from .glmm.results import GLMMResult
    from .results import MixedModelResult

    if not isinstance(value, (MixedModelResult, GLMMResult)):
        raise TypeError(
            f"{where} is a {type(value).__name__}, not a fitted model; pass the result of "
            "mlm.fit(...) (not its name)."
        )


def check_output_path(path: Any, what: str = "path") -> Path:
    """A file path to write: not a folder, and its folder must exist."""
    if not isinstance(path, (str, Path)):
        raise TypeError(f"{what} must be a file name (str or Path), not {type(path).__name__}.")
    out = Path(path)
    if str(path).strip() == "":
        raise ValueError(f"{what} is empty; give a file name such as 'report.html'.")
    if out.is_dir():
        raise ValueError(
            f"{what} {str(path)!r} is a folder; give a file name such as "
            f"{str(out / 'report.html')!r}."
        )
    if not out.parent.exists():
        raise ValueError(
            f"The folder {str(out.parent)!r} of {what} {str(path)!r} does not exist; create it "
            "first or write elsewhere."
        )
    return out

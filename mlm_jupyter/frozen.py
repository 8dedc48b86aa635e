"""Truly immutable results: what users can reach cannot be edited behind the result's back.

A frozen dataclass only stops attribute assignment; ``res.fixef["x"] = 0`` would still edit
the Series that predictions read.  So tables (pandas objects) are handed out as copies and
arrays as read-only views, and derived tables are cached once and copied on every read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["frozen_cached", "make_read_only", "read_only", "copy_out"]


def read_only(value: Any) -> Any:
    """An array (or a tuple of arrays) that cannot be written to; other values unchanged."""
    if isinstance(value, np.ndarray):
        out = value if not value.flags.writeable else value.copy()
        out.flags.writeable = False
        return out
    if isinstance(value, tuple):
        return tuple(read_only(v) for v in value)
    return value


def copy_out(value: Any) -> Any:
    """A copy of a pandas object (or of a dict of them); arrays read-only; others as they are."""
    if isinstance(value, (pd.Series, pd.DataFrame)):
        return value.copy()
    if isinstance(value, dict):
        return {k: copy_out(v) for k, v in value.items()}
    return read_only(value)


class frozen_cached:  # noqa: N801 (used like functools.cached_property)
    """``cached_property`` whose value is computed once and copied out on every read."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function
        self.__doc__ = function.__doc__
        self.key = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = f"_cached_{name}"

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        cache = instance.__dict__
        if self.key not in cache:
            value = self.function(instance)
            cache[self.key] = read_only(value)
        return copy_out(cache[self.key])


def _field(name: str, table: bool) -> property:
    key = f"_field_{name}"

    def get(self: Any) -> Any:
        value = self.__dict__[key]
        return value.copy() if table else value

    def set_(self: Any, value: Any) -> None:
        if key in self.__dict__:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        self.__dict__[key] = value.copy() if table else read_only(value)

    return property(get, set_, doc=f"``{name}`` (a copy for tables, read-only for arrays).")


def make_read_only(cls: type, tables: tuple[str, ...], arrays: tuple[str, ...]) -> None:
    """Route a frozen dataclass's fields through copies (tables) and read-only views (arrays).

    The dataclass ``__init__`` sets fields with ``object.__setattr__``, which runs the
    property's setter once; any later assignment raises ``FrozenInstanceError``.
    """
    for name in tables:
        setattr(cls, name, _field(name, table=True))
    for name in arrays:
        setattr(cls, name, _field(name, table=False))

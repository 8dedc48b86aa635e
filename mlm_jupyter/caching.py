"""Per-result caches for costly derived quantities (df parts, cluster influence).

Results are frozen, unhashable dataclasses, so a cache is keyed by ``id(result)`` and the
entry is dropped when the result is garbage-collected (before its id can be reused).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def cache_per_result(compute: Callable[[Any], T]) -> Callable[[Any], T]:
    """Wrap ``compute(res)`` so it runs once per live result object."""
    store: dict[int, T] = {}

    @functools.wraps(compute)
    def cached(res: Any) -> T:
        key = id(res)
        if key not in store:
            store[key] = compute(res)
            weakref.finalize(res, store.pop, key, None)
        return store[key]

    return cached


_MEMOS: dict[int, dict[Any, Any]] = {}


def result_memo(res: Any) -> dict[Any, Any]:
    """A dict that lives as long as ``res``, for results that depend on arguments."""
    key = id(res)
    if key not in _MEMOS:
        _MEMOS[key] = {}
        weakref.finalize(res, _MEMOS.pop, key, None)
    return _MEMOS[key]

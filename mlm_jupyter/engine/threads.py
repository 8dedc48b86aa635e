"""One BLAS thread for the many small dense operations of an engine loop."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

try:  # optional: caps BLAS threads for small dense blocks
    import threadpoolctl
except ImportError:  # pragma: no cover
    threadpoolctl = None

_CONTROLLER = None
ONE_THREAD_MAX = 4000  # dense block size up to which one BLAS thread is faster


def single_blas_thread() -> AbstractContextManager:
    """One BLAS thread for the duration of the block (no-op without threadpoolctl)."""
    global _CONTROLLER
    if threadpoolctl is None:
        return nullcontext()
    if _CONTROLLER is None:
        _CONTROLLER = threadpoolctl.ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def blas_limit(obj: Any) -> AbstractContextManager:
    """One BLAS thread while optimising or differencing a moderate problem.

    Each evaluation works on blocks of at most a few thousand rows; waking OpenBLAS
    threads costs more than it saves, and on a busy 2-core machine it is ruinous
    (measured 60 ms vs 400 ms per evaluation for the 73k crossed design, and 8 ms vs
    0.15 ms per factorisation of the hsb model).
    """
    size = obj.largest_dense_block() if hasattr(obj, "largest_dense_block") else (
        obj.cp.A22.shape[0])
    if size > ONE_THREAD_MAX:
        return nullcontext()
    return single_blas_thread()

"""How many BLAS threads the engine's dense kernels use: a measured decision by block size.

An evaluation of the criterion is many small dense operations plus, for crossed designs,
one Cholesky (and for the gradient one inverse) of the dense rest block.  Waking OpenBLAS
threads for a small block costs more than it saves (measured: 8 ms against 0.15 ms per
factorisation of the hsb model; 0.9 s against 0.03 s for a 1,146-row block on a busy
machine), while for a large one a second core nearly halves the time (10,000 rows, idle
2-core machine: dpotrf 5.8 s -> 3.4 s, dpotri 12.1 s -> 6.3 s).  Below
:data:`MULTI_THREAD_MIN` rows one thread, from it every core the process may use.
``benchmarks/threads_crossover.py`` measures the crossover; on the shared development
machine two threads were slower at every size up to 3,000 rows (load 5), so 1,500 is a
judgement between that loss and the idle gain at 10,000 rows (benchmarks/RESULTS.md).

``MLM_JUPYTER_BLAS_THREADS`` overrides the policy: a number fixes the threads used for
large blocks (``1``: always one thread, e.g. on a machine shared by many jobs), ``auto``
(the default) is the measured policy, capped by the threads BLAS was started with
(``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``).  :func:`set_blas_threads` does the same
from Python.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from typing import Any

try:  # optional: without it BLAS keeps the threads it was started with
    import threadpoolctl
except ImportError:  # pragma: no cover
    threadpoolctl = None

#: Environment variable overriding the thread count for large dense blocks.
ENV = "MLM_JUPYTER_BLAS_THREADS"
#: Rows of a dense block from which every core is used (benchmarks/threads_crossover.py).
MULTI_THREAD_MIN = 1500

_CONTROLLER = None
_OVERRIDE: int | None = None
_STARTED_WITH: int | None = None  # BLAS threads when first controlled (the user's setting)


def _controller():
    global _CONTROLLER, _STARTED_WITH
    if _CONTROLLER is None:
        import scipy.linalg  # noqa: F401  (its own OpenBLAS must be loaded to be controlled)

        _CONTROLLER = threadpoolctl.ThreadpoolController()
        blas = [lib.num_threads for lib in _CONTROLLER.lib_controllers
                if lib.user_api == "blas"]
        _STARTED_WITH = max(blas) if blas else None
    return _CONTROLLER


def available_cores() -> int:
    """CPU cores this process may run on (its affinity, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def auto_threads() -> int:
    """Threads of the measured policy for large blocks: every core the process may use,
    but no more than BLAS was started with (``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``
    set by the user stay a ceiling)."""
    cores = available_cores()
    if threadpoolctl is None:
        return cores
    return max(1, min(cores, _STARTED_WITH or cores))


def set_blas_threads(threads: int | str | None) -> None:
    """Threads for large dense blocks: a positive number, or ``"auto"``/None (measured policy).

    Takes precedence over ``MLM_JUPYTER_BLAS_THREADS``.
    """
    global _OVERRIDE
    _OVERRIDE = None if threads in (None, "auto") else _parse(threads, "set_blas_threads")


def _parse(value: Any, where: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1 or str(value).strip() != str(n):
        raise ValueError(f"{where}: the number of BLAS threads must be a positive whole number "
                         f"or 'auto', not {value!r}.")
    return n


def large_block_threads() -> int:
    """Threads used for a dense block of at least :data:`MULTI_THREAD_MIN` rows."""
    if _OVERRIDE is not None:
        return _OVERRIDE
    raw = os.environ.get(ENV, "auto").strip().lower()
    if raw in ("", "auto"):
        if threadpoolctl is not None:
            _controller()
        return auto_threads()
    return _parse(raw, ENV)


def threads_for(rows: int) -> int:
    """BLAS threads for work dominated by a dense block of ``rows`` rows."""
    return large_block_threads() if rows >= MULTI_THREAD_MIN else 1


def blas_threads(n: int) -> AbstractContextManager:
    """Exactly ``n`` BLAS threads for the duration of the block (no-op without threadpoolctl)."""
    if threadpoolctl is None:
        return nullcontext()
    return _controller().limit(limits=n, user_api="blas")


def single_blas_thread() -> AbstractContextManager:
    """One BLAS thread for the duration of the block (no-op without threadpoolctl)."""
    return blas_threads(1)


def blas_limit(obj: Any) -> AbstractContextManager:
    """The BLAS threads for optimising or differencing ``obj`` (see :func:`threads_for`).

    ``obj``: a criterion with ``largest_dense_block()`` (the rows of the block factored
    densely) or cross-products ``cp.A22``.
    """
    size = obj.largest_dense_block() if hasattr(obj, "largest_dense_block") else (
        obj.cp.A22.shape[0])
    return blas_threads(threads_for(int(size)))

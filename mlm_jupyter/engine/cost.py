"""What a fit will cost, said before it starts: the factor's memory and work per evaluation.

From the design alone (grouping codes, no cross-products yet), the rest block's size
m = Σ_rest q_k·levels_k + p + 1 and its connected components (which rest levels can meet,
through a row or a level of the first term) give the kernel the engine will use
(:mod:`.objective`, :mod:`.components`) and so

* memory: the dense cross-product block A22 (m² doubles) plus the factor (m² dense, or
  Σ n_c² per component) plus, with an exact gradient, the inverse of the rest block;
* work: m³/3 flops per factorisation (Σ n_c³/3 per component), 2m³/3 more for a gradient.

:func:`check_memory` refuses a fit that cannot fit in the machine's available memory with a
plain-words error instead of letting it swap or be killed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .components import MAX_WORK_SHARE, MIN_REST, rest_components

#: Sustained single-core dense Cholesky rate assumed for time estimates (flop/s).
FLOP_RATE = 1.5e10
#: Share of the available memory a fit may plan to use.
MEMORY_SHARE = 0.85
#: Estimated peaks below this are not checked against the machine's memory.
ALWAYS_FITS = 256 * 2**20


class ModelTooLargeError(MemoryError):
    """The model's factor cannot be held in this machine's memory (said in plain words)."""


@dataclass(frozen=True)
class FitCost:
    """Estimated size and work of one fit (see the module docstring).

    Attributes
    ----------
    kernel : str
        "one term", "dense", "components" or "dense coupling".
    m_rest : int
        Rows of the rest block (random effects of every term but the first).
    largest_block : int
        Rows of the largest block factored densely.
    factor_bytes : int
        Bytes of one Cholesky factor of the rest block.
    peak_bytes : int
        Estimated peak memory of the fit (cross-products, factor, inverse).
    flops_per_evaluation : float
        Floating-point operations of one factorisation.
    """

    kernel: str
    m_rest: int
    largest_block: int
    factor_bytes: int
    peak_bytes: int
    flops_per_evaluation: float

    @property
    def seconds_per_evaluation(self) -> float:
        """A rough single-core estimate (the rate of :data:`FLOP_RATE`)."""
        return self.flops_per_evaluation / FLOP_RATE

    def describe(self) -> str:
        """One line: the factor's size, the kernel and the time per evaluation."""
        return (f"factor {_size(self.factor_bytes)} ({self.kernel}, largest dense block "
                f"{self.largest_block:,} rows), peak ~{_size(self.peak_bytes)}, "
                f"~{_seconds(self.seconds_per_evaluation)} per evaluation")


def _size(n: float) -> str:
    for unit, f in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= f:
            return f"{n / f:.1f} {unit}"
    return f"{int(n)} B"


def _seconds(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.1f} s"


def estimate(design) -> FitCost:
    """The cost of fitting ``design`` (an engine or user :class:`~mlm_jupyter.design.Design`)."""
    terms = design.terms
    p = design.X.shape[1]
    first, rest = terms[0], terms[1:]
    n1 = first.n_levels * first.q
    if not rest:
        return FitCost("one term", 0, first.q, 8 * n1 * first.q, 8 * 3 * n1 * first.q,
                       first.n_levels * first.q**3 / 3.0)
    m_rest = sum(t.n_levels * t.q for t in rest)
    m = m_rest + p + 1
    dense_bytes = 8 * m * m
    blocks = _component_sizes(design) if m_rest >= MIN_REST else None
    work = None if blocks is None else float((blocks.astype(float) ** 3).sum())
    if work is not None and work <= MAX_WORK_SHARE * float(m_rest) ** 3:
        factor = 8 * int((blocks.astype(float) ** 2).sum() + (p + 1) * m)
        # A22 stays a dense array of the cross-products; the factor is per component.
        return FitCost("components", m_rest, int(blocks.max()) + p + 1, factor,
                       dense_bytes + 3 * factor, work / 3.0)
    # Dense: A22, the factor (in place of a copy of A22), the gradient's inverse, and the
    # cross-products' own dense temporary (three factors of 5,000 levels: 3.3 GB measured
    # against 4 x 0.8 GB here).
    return FitCost("dense", m_rest, m, dense_bytes, 4 * dense_bytes + 8 * n1 * first.q,
                   m**3 / 3.0)


def _component_sizes(design) -> np.ndarray:
    """Rows (levels x q) of each connected component of the rest block."""
    first, rest = design.terms[0], design.terms[1:]
    sizes_per_level = np.concatenate([np.full(t.n_levels, t.q) for t in rest])
    offsets = np.cumsum([0] + [t.n_levels for t in rest])
    n_rest = int(offsets[-1])
    rows = np.concatenate([off + t.codes for off, t in zip(offsets, rest, strict=False)])
    cols = np.tile(first.codes, len(rest))
    labels = rest_components(n_rest, first.n_levels, rows, cols, np.zeros(0, int),
                             np.zeros(0, int))
    return np.bincount(labels, weights=sizes_per_level).astype(np.int64)


def available_bytes() -> int | None:
    """MemAvailable of /proc/meminfo (None where it cannot be read)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_memory(cost: FitCost, available: int | None = None) -> None:
    """Raise :class:`ModelTooLargeError` when the fit cannot fit in the available memory."""
    if available is None and cost.peak_bytes < ALWAYS_FITS:
        return  # reading /proc/meminfo costs milliseconds: not for small models
    available = available_bytes() if available is None else available
    if available is None or cost.peak_bytes <= MEMORY_SHARE * available:
        return
    raise ModelTooLargeError(
        f"This model needs about {_size(cost.peak_bytes)} of memory but only "
        f"{_size(available)} is available: its random effects beyond the first grouping "
        f"factor form a {cost.m_rest:,} x {cost.m_rest:,} block whose Cholesky factor is "
        f"dense ({cost.describe()}). Fit it on a machine with more memory, drop or merge "
        "a grouping factor with many levels, or, if the factors cross only within larger "
        "units (schools, regions), make sure the level labels say so."
    )

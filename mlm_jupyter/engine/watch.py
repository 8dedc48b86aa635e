"""A progress display for long fits: evaluations so far and the current criterion.

MixedModels.jl's ``progress=true``: a fit that is still running after a few seconds (or
that the cost estimate says will take longer) shows a bar in a notebook or a terminal
(:class:`mlm_jupyter.progress.Progress`), labelled with the best criterion so far and the
cost of one evaluation.  Short fits show nothing.
"""

from __future__ import annotations

import time
from typing import Any

from ..progress import Progress

DELAY = 3.0  # seconds before a running fit shows its progress


class FitWatch:
    """Called by the engine after every evaluation (``obj.observer``).

    Parameters
    ----------
    expected : int
        A guess at the number of evaluations (the bar's length; it may be exceeded).
    enabled : bool or None
        False: never show; True: show from the start; None: show when the fit is long
        and someone can see it (Progress's own rule for notebooks and terminals).
    note : str
        Appended to the label (the factor's size and time per evaluation).
    """

    def __init__(self, expected: int, enabled: bool | None = None, note: str = "",
                 start_now: bool = False):
        self.expected = max(int(expected), 1)
        self.enabled = enabled
        self.note = note
        self.best = float("inf")
        self.count = 0
        self._t0 = time.monotonic()
        self._bar: Any = None
        self._show_now = enabled is True or (enabled is None and start_now)

    def __call__(self, value: float) -> None:
        self.count += 1
        if value < self.best:
            self.best = float(value)
        if self.enabled is False:
            return
        if self._bar is None:
            if not (self._show_now or time.monotonic() - self._t0 > DELAY):
                return
            self._bar = Progress(self.expected, self._label(), self.enabled)
            self._bar.update(self.count - 1)
        self._bar.label = self._label()
        self._bar.update()

    def _label(self) -> str:
        crit = "" if self.best == float("inf") else f"criterion {self.best:,.4f}"
        return "fitting: " + ", ".join(x for x in (crit, self.note) if x)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

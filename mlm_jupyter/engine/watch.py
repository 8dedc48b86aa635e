"""A progress display for long fits: evaluations so far and the current criterion.

MixedModels.jl's ``progress=true``: a fit still running after :data:`progress.DELAY`
seconds shows one line in a notebook or a terminal (:class:`mlm_jupyter.progress.Progress`,
whose rules decide where): the number of evaluations, the time taken, the best criterion
so far and, for a large model, the cost of one evaluation estimated before the fit.
Short fits show nothing.
"""

from __future__ import annotations

from ..progress import Progress


class FitWatch:
    """Called by the engine after every evaluation (``ProfiledDeviance.observer``).

    Parameters
    ----------
    enabled : bool or None
        As :class:`~mlm_jupyter.progress.Progress`'s (None: where someone can see it).
    note : str
        Appended to the label (the factor's size and time per evaluation).
    """

    def __init__(self, enabled: bool | None = None, note: str = ""):
        self.note = note
        self.best = float("inf")
        self._bar = Progress(None, self._label(), enabled, unit="evaluations")

    def __call__(self, value: float) -> None:
        if value < self.best:
            self.best = float(value)
            self._bar.label = self._label()
        self._bar.update()

    def _label(self) -> str:
        crit = "" if self.best == float("inf") else f"criterion {self.best:,.4f}"
        return "fitting (" + "; ".join(x for x in (crit, self.note) if x) + ")"

    def close(self) -> None:
        self._bar.close()

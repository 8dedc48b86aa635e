"""Progress of long operations, in notebooks and terminals: one small API for every module.

Cluster influence, profiles, bootstraps and large fits can take minutes.  Wrap the loop::

    with Progress(total=len(levels), label="influence (school)") as bar:
        for level in levels:
            ...
            bar.update()

or, when the number of steps is not known in advance (optimiser evaluations)::

    with Progress(label="fitting") as bar:
        ...  # bar.update() per evaluation: shows the count and the time taken

Nothing is shown for work that ends within ``DELAY`` seconds, so short calls stay quiet and
callers need not guess how long they will take.  Past that, a Jupyter kernel shows one line
that is updated in place (an HTML ``<progress>`` bar with a text fallback, through a display
handle: it works in JupyterLab, Notebook 7, VS Code and in saved or exported notebooks, where
the last state remains), and a terminal shows a text bar on stderr.  Elsewhere (scripts whose
stderr is not a terminal, CI) it stays silent unless ``enabled=True``.
:func:`set_enabled` switches bars off (or on) for a whole session.
"""

from __future__ import annotations

import sys
import time
from html import escape
from typing import Any

#: Seconds a task must run before its bar appears.
DELAY = 1.0
#: Seconds between two redraws (a notebook update is a message to the front end).
INTERVAL = 0.25

_session: bool | None = None


def set_enabled(enabled: bool | None) -> None:
    """Show progress bars (``True``), never (``False``), or where someone can see them (None)."""
    global _session
    _session = enabled


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """Context manager counting steps of a long operation.

    Parameters
    ----------
    total : int or None
        Number of steps; None when unknown (the display then counts steps and time).
    label : str
        What is being done, e.g. ``"influence (school)"``.
    enabled : bool or None
        None (default): show a bar when someone can see it (a Jupyter kernel, or stderr
        is a terminal) and the work lasts more than ``DELAY`` seconds.  True: show it in
        any case (after the delay).  False: never.
    delay : float, optional
        Seconds before the bar appears (default ``DELAY``).
    unit : str
        What a step is, for the final line (``"refits"``, ``"replicates"``).
    """

    def __init__(self, total: int | None = None, label: str = "", enabled: bool | None = None,
                 delay: float | None = None, unit: str = "steps"):
        self.total = None if total is None else max(int(total), 1)
        self.label = label
        self.unit = unit
        self.count = 0
        self.delay = DELAY if delay is None else float(delay)
        self._start = time.monotonic()
        self._last = 0.0
        self._handle: Any = None
        self._shown = False
        choice = enabled if enabled is not None else _session
        if choice is False:
            self._mode = "off"
        elif _in_notebook():
            self._mode = "notebook"
        elif choice or sys.stderr.isatty():
            self._mode = "text"
        else:
            self._mode = "off"

    # -- the counter --------------------------------------------------------------------------
    def update(self, step: int = 1) -> None:
        """Count ``step`` more steps (redrawn at most every ``INTERVAL`` seconds)."""
        self.count += step
        if self._mode == "off":
            return
        now = time.monotonic()
        if now - self._start < self.delay or now - self._last < INTERVAL:
            return
        self._last = now
        self._draw(now - self._start)

    def close(self) -> None:
        """Finish: a shown bar becomes one line saying what was done and how long it took."""
        if self._shown:
            self._draw(time.monotonic() - self._start, done=True)
        self._mode = "off"

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- drawing ------------------------------------------------------------------------------
    def text(self, elapsed: float, done: bool = False) -> str:
        """The one-line status, e.g. ``influence (school): 2,500 of 10,000 (25%), 38 s, ~1 min
        54 s left``."""
        label = f"{self.label}: " if self.label else ""
        if done:
            steps = f"{self.count:,}" if self.total is None else f"{self.total:,}"
            return f"{label}done, {steps} {self.unit} in {_duration(elapsed)}"
        if self.total is None:
            return f"{label}{self.count:,} {self.unit}, {_duration(elapsed)}"
        frac = min(self.count / self.total, 1.0)
        out = f"{label}{self.count:,} of {self.total:,} ({frac:.0%}), {_duration(elapsed)}"
        if frac >= 0.02:
            out += f", ~{_duration(elapsed * (1 - frac) / frac)} left"
        return out

    def _draw(self, elapsed: float, done: bool = False) -> None:
        line = self.text(elapsed, done)
        if self._mode == "text":
            bar = ""
            if self.total is not None and not done:
                filled = int(30 * min(self.count / self.total, 1.0))
                bar = f"[{'#' * filled:<30}] "
            sys.stderr.write(f"\r{bar}{line}\x1b[K" + ("\n" if done else ""))
            sys.stderr.flush()
        elif self._mode == "notebook":
            self._notebook(line, done)
        self._shown = True

    def _notebook(self, line: str, done: bool) -> None:
        from IPython.display import display

        value = self.total if done or self.total is None else min(self.count, self.total)
        bar = ("" if done or self.total is None
               else f'<progress value="{value}" max="{self.total}" '
                    'style="width:16em;vertical-align:middle;margin-right:.6em"></progress>')
        bundle = {
            "text/plain": line,
            "text/html": f'<div class="mlm-progress" style="font-size:.9em;opacity:.85">'
                         f"{bar}{escape(line)}</div>",
        }
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

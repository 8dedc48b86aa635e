"""A small progress bar: an ipywidgets bar in notebooks, a text bar in terminals, else silent."""

from __future__ import annotations

import sys
import time
from typing import Any


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


class Progress:
    """Context manager counting ``total`` steps.

    Parameters
    ----------
    total : int
    label : str
    enabled : bool or None
        None (default) shows a bar only when someone can see it: in a Jupyter kernel, or
        when stderr is a terminal.  False is always silent.
    """

    def __init__(self, total: int, label: str = "", enabled: bool | None = None):
        self.total = max(int(total), 1)
        self.label = label
        self.count = 0
        self._mode = "off"
        self._widget: Any = None
        self._last = 0.0
        if enabled is False:
            return
        if _in_notebook():
            try:
                import ipywidgets
                from IPython.display import display

                self._widget = ipywidgets.IntProgress(
                    value=0, min=0, max=self.total, description=label[:20]
                )
                display(self._widget)
                self._mode = "widget"
            except ImportError:
                self._mode = "text"
        elif enabled or sys.stderr.isatty():
            self._mode = "text"

    def update(self, step: int = 1) -> None:
        self.count += step
        if self._mode == "widget":
            self._widget.value = self.count
        elif self._mode == "text":
            now = time.monotonic()
            if now - self._last > 0.1 or self.count >= self.total:
                self._last = now
                frac = min(self.count / self.total, 1.0)
                bar = "#" * int(30 * frac)
                sys.stderr.write(f"\r{self.label} [{bar:<30}] {self.count}/{self.total}")
                sys.stderr.flush()

    def close(self) -> None:
        if self._mode == "widget":
            self._widget.bar_style = "success"
        elif self._mode == "text":
            sys.stderr.write("\n")
            sys.stderr.flush()
        self._mode = "off"

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

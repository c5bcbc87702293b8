"""One progress display for every long command: a rich bar on a terminal, plain lines otherwise.

Training (:mod:`egan_core.training.progress`), ``egan enhance`` and ``egan data`` all
show their progress through :class:`ProgressDisplay`, so they agree on when a bar is
drawn (only on a terminal) and on how their other lines are printed (one line each,
never read as rich markup, so file names with brackets come out as they are).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import Progress, ProgressColumn, Task
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second (``2.50 img/s``); ``--`` until there is a measurement."""

    def __init__(self, unit: str = "img") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"-- {self.unit}/s" if speed is None else f"{speed:.2f} {self.unit}/s")


class ProgressDisplay:
    """A rich progress bar of ``columns`` on a terminal; where none is drawn (not a
    terminal, or ``bar=False``), :meth:`update` prints its ``plain`` line instead.

    ``enabled=False`` shows nothing at all (the other ranks under ``torchrun``). The
    task's ``fields`` are what the columns show as ``{task.fields[NAME]}``. Use it as a
    context manager, or call :meth:`close` when done (the bar stays on screen unless
    ``transient``).
    """

    def __init__(self, *columns: str | ProgressColumn, total: float | None = None,
                 console: Console | None = None, enabled: bool = True, bar: bool = True,
                 transient: bool = False, **fields: Any) -> None:
        self.console = console if console is not None else Console(stderr=True)
        self.enabled = enabled
        self.live = enabled and bar and self.console.is_terminal
        self._progress: Progress | None = None
        if self.live:
            self._progress = Progress(*columns, console=self.console, transient=transient)
            self._task = self._progress.add_task("", total=total, **fields)
            self._progress.start()

    def update(self, *, completed: float | None = None, total: float | None = None,
               advance: float | None = None, plain: str | None = None, **fields: Any) -> None:
        """Move the bar (and refresh its ``fields``); without a bar, print ``plain`` if given."""
        if self._progress is not None:
            self._progress.update(self._task, completed=completed, total=total, advance=advance,
                                  **fields)
        elif plain is not None:
            self.print(plain, wrap=True)

    def advance(self, steps: float = 1) -> None:
        """``steps`` more items done."""
        self.update(advance=steps)

    def print(self, text: str, *, wrap: bool = False) -> None:
        """``text`` as it is (no markup, no highlighting), above the bar when there is one.

        Not wrapped unless ``wrap``: log lines are read and grepped.
        """
        if self.enabled:
            self.console.print(text, markup=False, highlight=False, soft_wrap=not wrap)

    def close(self) -> None:
        """Stop the bar (left on screen unless ``transient``); safe to call twice."""
        if self._progress is not None:
            self._progress.stop()

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

"""Progress display as a callback, separate from the loop (rich bar on a TTY, log lines otherwise)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from egan_core.training.callbacks import Callback, StepEvent


class ProgressReporter(Callback):
    """Shows epoch, step, losses and images/s; plain lines when quiet or not a terminal.

    A training :class:`Callback`; ``message`` prints the run's other log lines.
    """

    def __init__(self, total_steps: int, *, quiet: bool = False, enabled: bool = True) -> None:
        self.enabled = enabled
        self.console = Console(stderr=True)
        self.live = enabled and not quiet and sys.stderr.isatty()
        self.total = total_steps
        self.progress: Progress | None = None
        if self.live:
            self.progress = Progress(
                TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[losses]}"), TextColumn("{task.fields[speed]}"),
                TimeRemainingColumn(), console=self.console, transient=False,
            )
            self.task = self.progress.add_task("train", total=total_steps, epoch=1, losses="",
                                               speed="")
            self.progress.start()

    def on_start(self, step: int) -> None:
        self.update(step, None)

    def on_step(self, event: StepEvent) -> None:
        self.update(event.step, event.record)

    def on_end(self, failed: bool) -> None:
        self.close()

    def update(self, step: int, record: dict[str, Any] | None) -> None:
        """Move the bar to ``step``; a logged ``record`` also refreshes the shown losses."""
        if not self.enabled:
            return
        if self.progress is not None:
            fields: dict[str, Any] = {}
            if record:
                fields = {
                    "epoch": record["epoch"],
                    "losses": " ".join(f"{k}={v:.3f}" for k, v in record.items()
                                       if k.startswith(("g_", "d_"))),
                    "speed": f"{record.get('images_per_s', 0):.1f} img/s",
                }
            self.progress.update(self.task, completed=step, **fields)
        elif record is not None:
            losses = " ".join(f"{k}={v:.4f}" for k, v in record.items()
                              if k not in ("step", "epoch", "lr", "images_per_s", "time"))
            self.console.print(
                f"epoch {record['epoch']} step {step}/{self.total} {losses} "
                f"lr={record['lr']:.2e} {record.get('images_per_s', 0):.1f} img/s",
                highlight=False,
            )

    def message(self, text: str) -> None:
        """One line of the run log (never wrapped: logs are read and grepped)."""
        if self.enabled:
            self.console.print(text, highlight=False, soft_wrap=True)

    def close(self) -> None:
        """Stop the live bar (leaving it on screen)."""
        if self.progress is not None:
            self.progress.stop()

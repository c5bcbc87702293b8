"""Progress display as a callback, separate from the loop (rich bar on a TTY, log lines otherwise).

The display itself is :class:`egan_core.progress.ProgressDisplay`; this module only says
what training shows in it.
"""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

from egan_core.progress import ProgressDisplay
from egan_core.training.callbacks import Callback, StepEvent

#: Record keys that are not losses (left out of the plain log line's losses).
NOT_LOSSES = ("step", "epoch", "lr", "images_per_s", "time")


class ProgressReporter(Callback):
    """Shows epoch, step, losses and images/s; plain lines when quiet or not a terminal.

    A training :class:`Callback`; ``message`` prints the run's other log lines.
    """

    def __init__(self, total_steps: int, *, quiet: bool = False, enabled: bool = True) -> None:
        self.enabled = enabled
        self.total = total_steps
        self.display = ProgressDisplay(
            TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[losses]}"), TextColumn("{task.fields[speed]}"),
            TimeRemainingColumn(), total=total_steps, enabled=enabled, bar=not quiet,
            epoch=1, losses="", speed="",
        )
        self.console = self.display.console
        self.live = self.display.live

    def on_start(self, step: int) -> None:
        self.update(step, None)

    def on_step(self, event: StepEvent) -> None:
        self.update(event.step, event.record)

    def on_end(self, failed: bool) -> None:
        self.close()

    def update(self, step: int, record: dict[str, Any] | None) -> None:
        """Move the bar to ``step``; a logged ``record`` also refreshes the shown losses
        (without a bar: prints it as one log line)."""
        if not self.enabled:
            return
        if record is None:
            self.display.update(completed=step)
            return
        losses = " ".join(f"{k}={v:.3f}" for k, v in record.items() if k.startswith(("g_", "d_")))
        logged = " ".join(f"{k}={v:.4f}" for k, v in record.items() if k not in NOT_LOSSES)
        speed = record.get("images_per_s", 0)
        self.display.update(
            completed=step, epoch=record["epoch"], losses=losses, speed=f"{speed:.1f} img/s",
            plain=f"epoch {record['epoch']} step {step}/{self.total} {logged} "
                  f"lr={record['lr']:.2e} {speed:.1f} img/s",
        )

    def message(self, text: str) -> None:
        """One line of the run log (never wrapped: logs are read and grepped)."""
        self.display.print(text)

    def close(self) -> None:
        """Stop the live bar (leaving it on screen)."""
        self.display.close()

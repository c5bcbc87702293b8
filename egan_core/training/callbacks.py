"""What the training loop reports to: one small interface, called the same way for all.

The loop owns the optimisation (steps, records, checkpoints); everything that watches it
(metrics log, TensorBoard, progress display, sample grids, validation) is a
:class:`Callback`, so adding a watcher never touches the loop. Callbacks run on rank 0
only (the progress display, disabled elsewhere, excepted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from egan_core.errors import EganError
from egan_core.fileio import save_image
from egan_core.generator_io import enhance_with
from egan_core.training.outputs import MetricsLog, TensorBoard, loss_curve, sample_grid
from egan_core.training.validation import run_validation


@dataclass
class StepEvent:
    """One finished training step, as the callbacks see it."""

    step: int
    epoch: int
    batch: dict[str, torch.Tensor]
    #: the run's last step (``max_steps`` reached, or a stop was requested)
    final: bool
    #: what this step logged (filled in before :meth:`Callback.on_step`; None: not logged)
    record: dict[str, Any] | None = None


class Callback:
    """Hooks the loop calls on each callback in list order (``on_end`` in reverse); no-ops here."""

    def on_start(self, step: int) -> None:
        """The loop is about to start (``step``: steps already done, > 0 on resume)."""

    def metrics(self, event: StepEvent) -> dict[str, float]:
        """Extra metrics for this step's record; any returned make the step a logged one."""
        return {}

    def on_step(self, event: StepEvent) -> None:
        """After the step's record is made (``event.record``, None when the step is not logged)."""

    def on_end(self, failed: bool) -> None:
        """The run stopped (``failed``: by an error, which a callback must not hide)."""


class CallbackList(Callback):
    """Several callbacks as one: each hook runs on all of them in order, ``on_end`` in
    reverse (last started, first closed) and on every one even if an earlier one raised."""

    def __init__(self, callbacks: Iterable[Callback]) -> None:
        self.callbacks = list(callbacks)

    def on_start(self, step: int) -> None:
        for callback in self.callbacks:
            callback.on_start(step)

    def metrics(self, event: StepEvent) -> dict[str, float]:
        extra: dict[str, float] = {}
        for callback in self.callbacks:
            extra.update(callback.metrics(event))
        return extra

    def on_step(self, event: StepEvent) -> None:
        for callback in self.callbacks:
            callback.on_step(event)

    def on_end(self, failed: bool) -> None:
        error: Exception | None = None
        for callback in reversed(self.callbacks):
            try:
                callback.on_end(failed or error is not None)
            except Exception as exc:  # the first error wins; the others still close
                error = error or exc
        if error is not None:
            raise error


class MetricsWriter(Callback):
    """``metrics.jsonl`` (the first record carries ``header``: the precision chosen and why),
    and ``loss_curve.png`` drawn from it when the run stops."""

    def __init__(self, log: MetricsLog, curve: Path, header: dict[str, Any]) -> None:
        self.log, self.curve, self.header = log, curve, header

    def on_step(self, event: StepEvent) -> None:
        if event.record is not None:
            self.log.write({**event.record, **self.header})
            self.header = {}

    def on_end(self, failed: bool) -> None:
        if not self.log.path.is_file():
            return
        try:
            save_image(self.curve, loss_curve(self.log.read()))
        except (EganError, OSError):
            if not failed:  # never hide the error that stopped the run
                raise


class TensorBoardWriter(Callback):
    """Logged records as TensorBoard scalars (silent without the tensorboard package)."""

    def __init__(self, board: TensorBoard) -> None:
        self.board = board

    def on_step(self, event: StepEvent) -> None:
        if event.record is not None:
            self.board.write(event.record)

    def on_end(self, failed: bool) -> None:
        self.board.close()


class Validator(Callback):
    """Validation metrics every ``every`` steps and at the last one.

    A no-reference set also writes its sample grid (``samples/val_step_*.png``, and to
    TensorBoard); the seconds it took go to the run log, so its cost is visible.
    """

    def __init__(self, generator: torch.nn.Module, dataset: Any, device: torch.device, every: int,
                 samples: Path, say: Callable[[str], None], board: TensorBoard | None = None) -> None:
        self.generator, self.dataset, self.device, self.every = generator, dataset, device, every
        self.samples, self.say, self.board = samples, say, board

    def metrics(self, event: StepEvent) -> dict[str, float]:
        if event.step % self.every and not event.final:
            return {}
        result = run_validation(self.generator, self.dataset, self.device)
        if result.grid is not None:
            save_image(self.samples / f"val_step_{event.step:07d}.png", result.grid)
            if self.board is not None:
                self.board.image("val_samples", result.grid, event.step)
        scores = " ".join(f"{k}={v:.4g}" for k, v in result.metrics.items())
        self.say(f"validation at step {event.step}: {scores} ({result.seconds:.1f} s)")
        return result.metrics


class SampleWriter(Callback):
    """Every ``every`` steps, ``samples/step_*.png``: input | enhanced | attention of the batch."""

    def __init__(self, generator: torch.nn.Module, every: int, samples: Path) -> None:
        self.generator, self.every, self.samples = generator, every, samples

    @torch.no_grad()
    def on_step(self, event: StepEvent) -> None:
        if event.step % self.every:
            return
        g = self.generator
        was_training = g.training
        g.eval()
        enhanced, _ = enhance_with(g, event.batch["input"], signed=True)
        g.train(was_training)
        save_image(self.samples / f"step_{event.step:07d}.png", sample_grid(event.batch["input"], enhanced))

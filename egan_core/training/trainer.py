"""``egan run``: the training loop (checkpoints, exact resume, logging, DDP).

The loop itself lives here; what it is built from lives beside it: the checkpoint schema
(:mod:`.state`), the process group (:mod:`egan_core.distributed`), optimizer stepping
(:mod:`.optim`), stop signals (:mod:`.stopping`), data reading that survives unreadable
images (:mod:`.loading`) and everything that watches the run (:mod:`.callbacks`: metrics
log, TensorBoard, progress, samples, validation).

What a run survives: SIGINT and SIGTERM finish the step, write ``latest.pt`` and exit with
130 / 143; a second signal stops at once. ``latest.pt`` is also written mid-epoch every
``train.checkpoint_minutes``, so a kill without warning (SIGKILL, the OOM killer, a power
cut) loses at most that long; ``--resume`` continues mid-epoch exactly. Every checkpoint
write is atomic: one that fails (a full disk) keeps the previous file and stops the run
with one line. Unreadable training images are skipped and named, up to
``data.max_bad_images``. A non-finite loss stops the run and names the checkpoint to
resume from.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from egan_core.devices import resolve_device
from egan_core.distributed import (
    broadcast_from_main,
    max_over_ranks,
    rank_and_world,
    training_group,
    wrap_ddp,
)
from egan_core.errors import CheckpointError, EganError, RecipeError, TrainingError, first_line
from egan_core.fileio import os_error_of
from egan_core.plugins import get_registries
from egan_core.recipe import Recipe, load_recipe
from egan_core.registry import Registries
from egan_core.training.build import build_dataset, instantiate, load_init_weights
from egan_core.training.callbacks import (
    Callback,
    CallbackList,
    MetricsWriter,
    SampleWriter,
    StepEvent,
    TensorBoardWriter,
    Validator,
)
from egan_core.training.loading import (
    SKIPPED,
    BadImages,
    SkipUnreadable,
    check_readable,
    epoch_batches,
    resolve_workers,
)
from egan_core.training.method import Method, StepContext
from egan_core.training.optim import OptimizerStepper
from egan_core.training.outputs import MetricsLog, TensorBoard
from egan_core.training.precision import PrecisionChoice, bf16_warning, resolve_for_run
from egan_core.training.progress import ProgressReporter
from egan_core.training.sampler import EpochBatchSampler
from egan_core.training.schedule import total_epochs
from egan_core.training.state import TrainingState, resume_state, save_state
from egan_core.training.step import NonFiniteLoss, Parts
from egan_core.training.stopping import HardStop, StopRequest, exit_status
from egan_core.winograd import enabled as winograd_enabled
from egan_core.winograd import use_winograd


class Interrupted(EganError):
    """A stop signal during training (Ctrl-C, SIGTERM): the checkpoint was saved first,
    unless a second signal stopped the run at once. The exit status is 128 + the signal."""

    exit_code = 130

    def __init__(self, message: str, signum: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_status(signum)


class CheckpointWriteError(EganError):
    """A checkpoint could not be written (full disk, quota, I/O error); the previous one is kept."""


def make_grad_scaler(precision: torch.dtype | None, device: torch.device) -> torch.amp.GradScaler | None:
    """A loss scaler for fp16 on CUDA (fp16's narrow range flushes small gradients to 0), else None.

    ``precision`` is the autocast dtype (None = fp32). A module-level seam, so the scaler's
    step/update bookkeeping can be tested with torch's CPU scaler.
    """
    if precision == torch.float16 and device.type == "cuda":
        return torch.amp.GradScaler("cuda")
    return None


def train(
    recipe: str | Path | Recipe | Mapping[str, Any],
    *,
    overrides: list[str] | Mapping[str, Any] | None = None,
    out: str | Path = "runs",
    resume: bool = False,
    device: str = "auto",
    quiet: bool = False,
    registries: Registries | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Train a recipe; returns the run folder and the last logged metrics.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) this trains with DistributedDataParallel; rank 0
    alone writes.
    """
    registries = registries or get_registries()
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe, overrides, registries)
    elif overrides:
        recipe = load_recipe(recipe.as_dict(), overrides, registries)
    rank, world = rank_and_world()
    with training_group(resolve_device(device)) as dev:
        try:
            return _Run(recipe, registries, Path(out), dev, rank, world, quiet).run(resume)
        except OSError as exc:  # a folder that cannot be made, a full disk: one line, no traceback
            where = exc.filename if exc.filename is not None else out
            raise EganError(f"cannot write '{where}': {exc.strerror or exc}; check that --out '{out}'"
                            " is a writable folder with free space (the last checkpoint is kept)"
                            ) from exc


def build_method(recipe: Recipe, registries: Registries) -> Method:
    """The recipe's training method, built from its ``method:`` keys."""
    assert recipe.method is not None, "parse_recipe sets the method"
    entry = registries.methods.entry(recipe.method.name)
    method = instantiate(entry, recipe.method.kwargs, "method")
    if not isinstance(method, Method):
        raise RecipeError(f"method '{recipe.method.name}' (from '{entry.provider}') is not a"
                          " egan_core.training.method.Method; register a Method subclass")
    return method


class _Run:
    """One training run: its parts built, then :meth:`run` (resume, loop, save)."""

    def __init__(self, recipe: Recipe, registries: Registries, out: Path, device: torch.device,
                 rank: int, world: int, quiet: bool) -> None:
        self.recipe, self.device, self.rank, self.world = recipe, device, rank, world
        self.is_main = rank == 0
        self.dir = out / recipe.name
        self.ckpt_dir = self.dir / "checkpoints"
        self.latest = self.ckpt_dir / "latest.pt"
        self.log = MetricsLog(self.dir / "metrics.jsonl")
        # Data first: a wrong folder is reported before any network (or VGG download) is made.
        self.dataset = build_dataset(recipe, registries)
        check_readable(self.dataset)
        self.bad = BadImages(recipe.data.max_bad_images)
        self.workers, self.workers_note = resolve_workers(recipe.data.workers)
        self.saved_step: int | None = None
        self.last_save = time.monotonic()
        self.say: Callable[[str], None] = print
        self.val_dataset = build_dataset(recipe, registries, "validation")
        self.method: Method = build_method(recipe, registries)
        self.parts: Parts = self.method.build(recipe, registries, device)
        self.quiet = quiet
        self.stop = StopRequest()
        self.choice = self._resolve_precision()
        self.autocast = self.choice.autocast(device)
        self.scaler = make_grad_scaler(self.choice.autocast_dtype, device)
        self.stepper = OptimizerStepper(self.parts.optimizers, recipe.train.accumulate,
                                        recipe.train.grad_clip, self.scaler)
        if self.choice.channels_last:
            for module in (self.parts.generator, self.parts.discriminator):
                if module is not None:
                    module.to(memory_format=torch.channels_last)
        if self.choice.winograd:  # the feature losses' VGG follows winograd.enabled() by itself
            use_winograd(self.parts.generator)

    def _resolve_precision(self) -> PrecisionChoice:
        """``train.precision`` / ``channels_last`` for this machine (rank 0 decides for all)."""
        choice = None
        self.precision_warning = (bf16_warning(self.device) if self.recipe.train.precision == "bf16"
                                  else None)
        if self.is_main:
            choice = resolve_for_run(self.recipe, self.parts, self.device)
        choice = broadcast_from_main(choice)
        assert choice is not None
        return choice

    def _save(self, epoch: int, batch: int, step: int, *, keep_epoch: bool = False) -> None:
        """``latest.pt`` (and ``epoch_NNNN.pt`` when kept), written by rank 0 only.

        A failed write stops the run (the next one would most likely fail too, and a run
        that goes on without checkpoints risks more than it saves): the write is atomic, so
        the previous ``latest.pt`` stays whole, and the error says which step it holds.
        """
        self.last_save = time.monotonic()
        if not self.is_main:
            return
        state = TrainingState.capture(self.recipe, self.parts, self.scaler, epoch, batch, step)
        target = self.latest
        try:
            save_state(state, target)
            self.saved_step = step
            if keep_epoch:
                target = self.ckpt_dir / f"epoch_{epoch:04d}.pt"
                save_state(state, target)
        except (CheckpointError, OSError) as exc:
            cause = os_error_of(exc)
            reason = cause.strerror if cause is not None and cause.strerror else first_line(exc)
            raise CheckpointWriteError(
                f"cannot write checkpoint '{target}' at step {step}: {reason};"
                f" training stopped, {self._kept()}; free space under '{self.dir}' and continue"
                " with --resume") from exc

    def _kept(self) -> str:
        """Which checkpoint a failed run leaves to resume from, in words."""
        if self.saved_step is None:
            return "and no checkpoint was written yet"
        return f"the checkpoint '{self.latest}' of step {self.saved_step} is kept"

    def _wrap_ddp(self) -> None:
        self.method.wrap_ddp(self.parts, lambda module: wrap_ddp(module, self.device))

    def _callbacks(self, total_steps: int) -> tuple[ProgressReporter, CallbackList]:
        """The progress display (which also prints the run's messages) and every watcher."""
        t, recipe = self.recipe.train, self.recipe
        reporter = ProgressReporter(total_steps, quiet=self.quiet, enabled=self.is_main)
        if not self.is_main:
            return reporter, CallbackList([reporter])
        board = TensorBoard(self.dir / "tensorboard")
        samples = self.dir / "samples"
        callbacks: list[Callback] = []
        if self.val_dataset is not None and recipe.validation is not None:
            callbacks.append(Validator(self.parts.generator, self.val_dataset, self.device,
                                       recipe.validation.every, samples, reporter.message, board))
        callbacks += [MetricsWriter(self.log, self.dir / "loss_curve.png", self.choice.record()),
                      TensorBoardWriter(board), reporter]
        if t.sample_every:
            callbacks.append(SampleWriter(self.parts.generator, t.sample_every, samples))
        return reporter, CallbackList(callbacks)

    def run(self, resume: bool) -> tuple[Path, dict[str, Any]]:
        """Resume or start, train to the end (or a stop signal), save; the last logged record."""
        t, recipe = self.recipe.train, self.recipe
        if not resume and self.latest.is_file():
            raise EganError(f"run folder '{self.dir}' already holds a checkpoint; add --resume to "
                            "continue it, or pick another --out or --set name=...")
        sampler = EpochBatchSampler(len(self.dataset), recipe.data.batch_size, recipe.seed,
                                    rank=self.rank, world=self.world)
        per_epoch = sampler.batches_per_epoch()
        if per_epoch == 0:
            raise RecipeError(f"data: the dataset has {len(self.dataset)} images, fewer than "
                              f"data.batch_size={recipe.data.batch_size} x {self.world} process(es);"
                              " lower data.batch_size or add images")
        epochs = total_epochs(t.epochs, t.decay_epochs)
        limit = min(t.max_steps or math.inf, epochs * per_epoch)
        epoch, batch_done, step = 1, 0, 0
        if resume:
            epoch, batch_done, step = resume_state(self.latest, self.parts, self.scaler, self.device)
            self.saved_step = step
            if batch_done >= per_epoch:
                epoch, batch_done = epoch + 1, 0
        elif recipe.generator_init:
            load_init_weights(self.parts.generator, recipe.generator_init, self.device)
        if self.world > 1:
            self._wrap_ddp()
        if t.compile:  # after wrapping: under torchrun the DDP module is what runs (and syncs)
            self.parts.generator_fwd = torch.compile(self.parts.generator_fwd)
        if self.is_main:
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / "recipe.yaml").write_text(recipe.to_yaml(), encoding="utf-8")
            if resume:
                self.log.truncate_after(step)
        reporter, callbacks = self._callbacks(int(min(limit, epochs * per_epoch)))
        self.say = reporter.message
        if self.precision_warning:
            reporter.message(f"warning: {self.precision_warning}")
        if self.workers_note:
            reporter.message(self.workers_note)
        reporter.message(f"precision: {self.choice.reason}")
        last: dict[str, Any] = {}
        failed = True
        try:
            with self.stop.on_signals():
                callbacks.on_start(step)
                last = self._loop(sampler, epoch, batch_done, step, limit, epochs, callbacks)
            failed = False
        except HardStop as exc:
            raise Interrupted(f"stopped at once by a second {exc} without finishing the step; "
                              f"{self._kept()} (continue with --resume)", exc.signum) from None
        finally:
            callbacks.on_end(failed)
        if self.is_main:
            reporter.message(f"checkpoint: {self.latest}")
        if self.stop.signum is not None:
            name = "Ctrl-C" if self.stop.signum == signal.SIGINT else signal.Signals(self.stop.signum).name
            raise Interrupted(f"interrupted at step {last.get('step', step)} by {name}; checkpoint saved"
                              f" to '{self.latest}' (continue with --resume)", self.stop.signum)
        return self.dir, last

    def _loop(self, sampler: EpochBatchSampler, epoch: int, batch_done: int, step: int,
              limit: float, epochs: int, callbacks: Callback) -> dict[str, Any]:
        """Epochs of steps until ``limit`` or a stop; a checkpoint after each epoch, every
        ``train.checkpoint_minutes`` and at the end."""
        t, recipe = self.recipe.train, self.recipe
        last: dict[str, Any] = {}
        window_start, window_images = time.perf_counter(), 0
        every = t.checkpoint_minutes * 60
        self.last_save = time.monotonic()
        data = SkipUnreadable(self.dataset)
        while epoch <= epochs and step < limit:
            lr = self.method.learning_rate(t, epoch)
            self.stepper.set_lr(lr)
            data.set_epoch(epoch)
            sampler.set_epoch(epoch, batch_done)
            batches = epoch_batches(data, sampler, self.workers, self.device.type == "cuda",
                                    recipe.seed * 1_000_033 + epoch)
            for batch in batches:
                self._note_skipped(batch.pop(SKIPPED))
                if "low" not in batch:  # every file of the data became unreadable mid-run
                    self._save(epoch, batch_done, step)
                    raise TrainingError(f"data: no training image can be read any more; {self._kept()}")
                step += 1
                batch_done += 1
                batch = {k: self._to_device(v) for k, v in batch.items() if torch.is_tensor(v)}
                ctx = StepContext(step, torch.Generator().manual_seed(recipe.seed * 1_000_003 + step),
                                  self.autocast, self.stepper.backward(step))
                try:
                    with winograd_enabled(self.choice.winograd):
                        losses = self.method.step(self.parts, batch, ctx)
                except NonFiniteLoss as exc:
                    raise TrainingError(f"{exc}; training stopped, {self._kept()}: continue from it"
                                        " with --resume (try a lower train.lr or train.precision:"
                                        " fp32)") from exc
                self.stepper.end_step(step)
                stop_signal, too_many_bad = max_over_ranks(
                    [self.stop.signum or 0, int(self.bad.over_limit)], self.device)
                if stop_signal:
                    self.stop.request(stop_signal)
                window_images += batch["low"].shape[0] * self.world
                event = StepEvent(step, epoch, batch,
                                  final=step >= limit or self.stop.requested or bool(too_many_bad))
                extra = callbacks.metrics(event)
                if self.bad.count:
                    extra["bad_images"] = self.bad.count
                if (step % t.log_every == 0 or event.final or extra
                        or batch_done == sampler.batches_per_epoch()):
                    elapsed = max(time.perf_counter() - window_start, 1e-9)
                    last = event.record = {"step": step, "epoch": epoch, "lr": lr,
                                           **{k: float(v) for k, v in losses.items()}, **extra,
                                           "images_per_s": window_images / elapsed}
                    window_start, window_images = time.perf_counter(), 0
                callbacks.on_step(event)
                if event.final:
                    self._save(epoch, batch_done, step)
                    if too_many_bad:
                        raise (self.bad.error(self._kept()) if self.bad.over_limit else TrainingError(
                            "another rank met more unreadable training images than"
                            f" data.max_bad_images={self.bad.limit} (its log names them); {self._kept()}"))
                    return last
                if every and time.monotonic() - self.last_save >= every \
                        and batch_done < sampler.batches_per_epoch():
                    self._save(epoch, batch_done, step)
            keep = bool(t.save_every) and epoch % t.save_every == 0
            self._save(epoch, batch_done, step, keep_epoch=keep)
            epoch, batch_done = epoch + 1, 0
        return last

    def _note_skipped(self, reasons: list[str]) -> None:
        """Name each newly met unreadable image once in the run log."""
        for reason in self.bad.add(reasons):
            self.say(f"warning: skipped an unreadable training image: {reason}")

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.choice.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

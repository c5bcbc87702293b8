"""``egan run``: the training loop (checkpoints, exact resume, logging, DDP).

The loop itself lives here; what it is built from lives beside it: the checkpoint schema
(:mod:`.state`), the process group (:mod:`egan_core.distributed`), optimizer stepping
(:mod:`.optim`), Ctrl-C handling (:mod:`.stopping`) and everything that watches the run
(:mod:`.callbacks`: metrics log, TensorBoard, progress, samples, validation).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from egan_core.devices import resolve_device
from egan_core.distributed import broadcast_from_main, rank_and_world, training_group, wrap_ddp
from egan_core.errors import EganError, RecipeError
from egan_core.plugins import get_registries
from egan_core.recipe import Recipe, load_recipe
from egan_core.registry import Registries
from egan_core.training.build import build_dataset, build_parts, load_init_weights
from egan_core.training.callbacks import (
    Callback,
    CallbackList,
    MetricsWriter,
    SampleWriter,
    StepEvent,
    TensorBoardWriter,
    Validator,
)
from egan_core.training.optim import OptimizerStepper
from egan_core.training.outputs import MetricsLog, TensorBoard
from egan_core.training.precision import PrecisionChoice, bf16_warning, resolve_for_run
from egan_core.training.progress import ProgressReporter
from egan_core.training.sampler import EpochBatchSampler
from egan_core.training.schedule import learning_rate, total_epochs
from egan_core.training.state import TrainingState, resume_state, save_state
from egan_core.training.step import Parts, gan_step
from egan_core.training.stopping import StopRequest
from egan_core.winograd import enabled as winograd_enabled
from egan_core.winograd import use_winograd


class Interrupted(EganError):
    """Ctrl-C during training: the checkpoint was saved first."""

    exit_code = 130


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
        self.val_dataset = build_dataset(recipe, registries, "validation")
        self.parts: Parts = build_parts(recipe, registries, device)
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
        """``latest.pt`` (and ``epoch_NNNN.pt`` when kept), written by rank 0 only."""
        if not self.is_main:
            return
        state = TrainingState.capture(self.recipe, self.parts, self.scaler, epoch, batch, step)
        save_state(state, self.latest)
        if keep_epoch:
            save_state(state, self.ckpt_dir / f"epoch_{epoch:04d}.pt")

    def _wrap_ddp(self) -> None:
        p = self.parts
        p.generator_fwd = wrap_ddp(p.generator, self.device)
        if p.discriminator is not None:
            p.global_fwd = wrap_ddp(p.discriminator.global_d, self.device)
            if p.discriminator.local_d is not None:
                p.local_fwd = wrap_ddp(p.discriminator.local_d, self.device)

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
        """Resume or start, train to the end (or a Ctrl-C), save; the last logged record."""
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
        if self.precision_warning:
            reporter.message(f"warning: {self.precision_warning}")
        reporter.message(f"precision: {self.choice.reason}")
        last: dict[str, Any] = {}
        failed = True
        try:
            with self.stop.on_sigint():
                callbacks.on_start(step)
                last = self._loop(sampler, epoch, batch_done, step, limit, epochs, callbacks)
            failed = False
        finally:
            callbacks.on_end(failed)
        if self.is_main:
            reporter.message(f"checkpoint: {self.latest}")
        if self.stop.requested:
            raise Interrupted(f"interrupted at step {last.get('step', step)}; checkpoint saved to "
                              f"'{self.latest}' (continue with --resume)")
        return self.dir, last

    def _loop(self, sampler: EpochBatchSampler, epoch: int, batch_done: int, step: int,
              limit: float, epochs: int, callbacks: Callback) -> dict[str, Any]:
        """Epochs of steps until ``limit`` or a stop; a checkpoint after each epoch and at the end."""
        t, recipe = self.recipe.train, self.recipe
        last: dict[str, Any] = {}
        window_start, window_images = time.perf_counter(), 0
        loader_kwargs: dict[str, Any] = {"num_workers": recipe.data.workers,
                                         "pin_memory": self.device.type == "cuda"}
        while epoch <= epochs and step < limit:
            lr = learning_rate(t.lr, epoch, t.epochs, t.decay_epochs)
            self.stepper.set_lr(lr)
            if hasattr(self.dataset, "set_epoch"):
                self.dataset.set_epoch(epoch)
            sampler.set_epoch(epoch, batch_done)
            for batch in DataLoader(self.dataset, batch_sampler=sampler, **loader_kwargs):
                step += 1
                batch_done += 1
                batch = {k: self._to_device(v) for k, v in batch.items() if torch.is_tensor(v)}
                patch_gen = torch.Generator().manual_seed(recipe.seed * 1_000_003 + step)
                with winograd_enabled(self.choice.winograd):
                    losses = gan_step(self.parts, batch, step=step, patch_gen=patch_gen,
                                      autocast=self.autocast, backward=self.stepper.backward(step))
                self.stepper.end_step(step)
                window_images += batch["low"].shape[0] * self.world
                event = StepEvent(step, epoch, batch, final=step >= limit or self.stop.requested)
                extra = callbacks.metrics(event)
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
                    return last
            keep = bool(t.save_every) and epoch % t.save_every == 0
            self._save(epoch, batch_done, step, keep_epoch=keep)
            epoch, batch_done = epoch + 1, 0
        return last

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.choice.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

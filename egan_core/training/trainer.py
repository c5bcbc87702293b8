"""``egan run``: the training loop (checkpoints, exact resume, logging, DDP)."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from egan_core.checkpoint import load_checkpoint, save_checkpoint
from egan_core.devices import resolve_device
from egan_core.errors import EganError, RecipeError
from egan_core.plugins import get_registries
from egan_core.recipe import Recipe, _thaw, load_recipe
from egan_core.registry import Registries
from egan_core.training.build import build_dataset, build_parts, instantiate, load_init_weights
from egan_core.training.outputs import MetricsLog, TensorBoard, loss_curve, sample_grid, save_image
from egan_core.training.precision import PrecisionChoice, bf16_warning, resolve_precision
from egan_core.training.progress import ProgressReporter
from egan_core.training.sampler import EpochBatchSampler
from egan_core.training.schedule import learning_rate, total_epochs
from egan_core.training.step import Parts, gan_step
from egan_core.training.validation import run_validation


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
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    dev = resolve_device(device)
    if world > 1:
        if dev.type == "cuda":
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(dev)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    try:
        return _Run(recipe, registries, Path(out), dev, rank, world, quiet).run(resume)
    except OSError as exc:  # a folder that cannot be made, a full disk: one line, no traceback
        where = exc.filename if exc.filename is not None else out
        raise EganError(f"cannot write '{where}': {exc.strerror or exc}; check that --out '{out}' is"
                        " a writable folder with free space (the last checkpoint is kept)") from None
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


class _Run:
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
        self.val_dataset = None
        if recipe.validation is not None:
            comp = recipe.validation.dataset
            self.val_dataset = instantiate(registries.datasets.get(comp.name), comp.kwargs,
                                           "validation", seed=recipe.seed)
        self.parts: Parts = build_parts(recipe, registries, device)
        self.quiet = quiet
        self.stop_requested = False
        t = recipe.train
        self.accumulate = t.accumulate
        self.grad_clip = t.grad_clip
        self.choice = self._resolve_precision()
        self._header_written = False
        amp = self.choice.autocast_dtype
        self.autocast = self.choice.autocast(device)
        self.scaler = make_grad_scaler(amp, device)
        if self.choice.channels_last:
            for module in self._modules():
                module.to(memory_format=torch.channels_last)

    def _resolve_precision(self) -> PrecisionChoice:
        """``train.precision`` / ``channels_last`` for this machine (rank 0 decides for all)."""
        t, gen = self.recipe.train, self.recipe.generator
        choice = None
        self.precision_warning = bf16_warning(self.device) if t.precision == "bf16" else None
        if self.is_main:
            key = f"{gen.name}:{json.dumps(_thaw(gen.kwargs), sort_keys=True, default=str)}"
            choice = resolve_precision(t.precision, t.channels_last, self.device, self.parts.generator,
                                       model_key=key)
        if self.world > 1:
            box = [choice]
            dist.broadcast_object_list(box, src=0)
            choice = box[0]
        assert choice is not None
        return choice

    def _modules(self) -> Iterator[torch.nn.Module]:
        yield self.parts.generator
        if self.parts.discriminator is not None:
            yield self.parts.discriminator

    # -- checkpoints ---------------------------------------------------------------------
    def _state(self, epoch: int, batch: int, step: int) -> dict[str, Any]:
        parts = self.parts
        disc = None
        if parts.discriminator is not None and self.recipe.discriminator is not None:
            disc = {"name": self.recipe.discriminator.name,
                    "kwargs": _thaw(self.recipe.discriminator.kwargs),
                    "state_dict": parts.discriminator.state_dict()}
        grads = {}
        for name, module in (("generator", parts.generator), ("discriminator", parts.discriminator)):
            if module is not None:
                grads[name] = {k: p.grad for k, p in module.named_parameters() if p.grad is not None}
        return {
            "recipe": self.recipe.as_dict(),
            "generator": {"name": self.recipe.generator.name,
                          "kwargs": _thaw(self.recipe.generator.kwargs),
                          "state_dict": parts.generator.state_dict()},
            "discriminator": disc,
            "optimizers": {k: o.state_dict() for k, o in parts.optimizers.items()},
            "grads": grads,
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "epoch": epoch, "batch": batch, "step": step,
            "rng": {"torch": torch.get_rng_state(), "python": random.getstate()},
        }

    def _save(self, epoch: int, batch: int, step: int, *, keep_epoch: bool = False) -> None:
        if not self.is_main:
            return
        state = self._state(epoch, batch, step)
        save_checkpoint(self.latest, state)
        if keep_epoch:
            save_checkpoint(self.ckpt_dir / f"epoch_{epoch:04d}.pt", state)

    def _restore(self) -> tuple[int, int, int]:
        if not self.latest.is_file():
            raise EganError(f"--resume: no checkpoint at '{self.latest}'; run without --resume to start")
        state = load_checkpoint(self.latest, map_location=self.device)
        parts = self.parts
        try:
            parts.generator.load_state_dict(state["generator"]["state_dict"])
            if parts.discriminator is not None:
                parts.discriminator.load_state_dict(state["discriminator"]["state_dict"])
            for key, opt in parts.optimizers.items():
                opt.load_state_dict(state["optimizers"][key])
            for name, module in (("generator", parts.generator), ("discriminator", parts.discriminator)):
                saved = state.get("grads", {}).get(name, {})
                if module is not None:
                    for key, p in module.named_parameters():
                        p.grad = saved[key].to(p.device) if key in saved else None
            if self.scaler is not None and state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])
            torch.set_rng_state(state["rng"]["torch"].cpu())
            random.setstate(_as_tuple(state["rng"]["python"]))
            counters = (state["epoch"], state["batch"], state["step"])
            if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counters):
                raise ValueError(f"epoch, batch and step must be counts, got {counters}")
        except (KeyError, TypeError, RuntimeError, ValueError, AttributeError, IndexError) as exc:
            detail = " ".join(str(exc).split())[:150]
            raise EganError(f"--resume: '{self.latest}' does not fit this recipe ({detail});"
                            " resume with the recipe that made it") from None
        return counters

    # -- the loop ------------------------------------------------------------------------
    def _backward(self, step: int) -> Any:
        window_closes = step % self.accumulate == 0

        def backward(loss: torch.Tensor, name: str) -> None:
            scaled = loss / self.accumulate
            if self.scaler is not None:
                scaled = self.scaler.scale(scaled)
            scaled.backward()
            if window_closes:
                opt = self.parts.optimizers[name]
                if self.grad_clip is not None:  # train.grad_clip: on the true (unscaled) gradients
                    if self.scaler is not None:
                        self.scaler.unscale_(opt)
                    torch.nn.utils.clip_grad_norm_(
                        [p for group in opt.param_groups for p in group["params"]], self.grad_clip)
                if self.scaler is not None:
                    self.scaler.step(opt)
                else:
                    opt.step()
                opt.zero_grad(set_to_none=True)

        return backward

    def run(self, resume: bool) -> tuple[Path, dict[str, Any]]:
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
            epoch, batch_done, step = self._restore()
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
        board = TensorBoard(self.dir / "tensorboard") if self.is_main else None
        reporter = ProgressReporter(int(min(limit, epochs * per_epoch)), quiet=self.quiet,
                                    enabled=self.is_main)
        if self.precision_warning:
            reporter.message(f"warning: {self.precision_warning}")
        reporter.message(f"precision: {self.choice.reason}")
        reporter.update(step, None)
        last: dict[str, Any] = {}
        restore_signal = self._install_sigint()
        failed = True
        try:
            last = self._loop(sampler, epoch, batch_done, step, limit, epochs, reporter, board)
            failed = False
        finally:
            restore_signal()
            reporter.close()
            if board is not None:
                board.close()
            if self.is_main and self.log.path.is_file():
                try:
                    save_image(self.dir / "loss_curve.png", loss_curve(self.log.read()))
                except (EganError, OSError):
                    if not failed:  # never hide the error that stopped the run
                        raise
        if self.is_main:
            reporter.message(f"checkpoint: {self.latest}")
        if self.stop_requested:
            raise Interrupted(f"interrupted at step {last.get('step', step)}; checkpoint saved to "
                              f"'{self.latest}' (continue with --resume)")
        return self.dir, last

    def _loop(self, sampler: EpochBatchSampler, epoch: int, batch_done: int, step: int,
              limit: float, epochs: int, reporter: ProgressReporter,
              board: TensorBoard | None) -> dict[str, Any]:
        t, recipe = self.recipe.train, self.recipe
        last: dict[str, Any] = {}
        window_start, window_images = time.perf_counter(), 0
        loader_kwargs: dict[str, Any] = {"num_workers": recipe.data.workers,
                                         "pin_memory": self.device.type == "cuda"}
        while epoch <= epochs and step < limit:
            lr = learning_rate(t.lr, epoch, t.epochs, t.decay_epochs)
            for opt in self.parts.optimizers.values():
                for group in opt.param_groups:
                    group["lr"] = lr
            if hasattr(self.dataset, "set_epoch"):
                self.dataset.set_epoch(epoch)
            sampler.set_epoch(epoch, batch_done)
            loader = DataLoader(self.dataset, batch_sampler=sampler, **loader_kwargs)
            for batch in loader:
                step += 1
                batch_done += 1
                batch = {k: self._to_device(v) for k, v in batch.items() if torch.is_tensor(v)}
                patch_gen = torch.Generator().manual_seed(recipe.seed * 1_000_003 + step)
                losses = gan_step(self.parts, batch, step=step, patch_gen=patch_gen,
                                  autocast=self.autocast, backward=self._backward(step))
                if self.scaler is not None and step % self.accumulate == 0:
                    self.scaler.update()  # once per window, after its steps (none were taken before)
                window_images += batch["low"].shape[0] * self.world
                done = step >= limit or self.stop_requested
                val = self._validate(step, done, reporter, board)
                if (step % t.log_every == 0 or done or val
                        or batch_done == sampler.batches_per_epoch()):
                    elapsed = max(time.perf_counter() - window_start, 1e-9)
                    last = {"step": step, "epoch": epoch, "lr": lr,
                            **{k: float(v) for k, v in losses.items()}, **val,
                            "images_per_s": window_images / elapsed}
                    window_start, window_images = time.perf_counter(), 0
                    if self.is_main:
                        self.log.write({**last, **self._header()})
                        if board is not None:
                            board.write(last)
                    reporter.update(step, last)
                else:
                    reporter.update(step, None)
                if self.is_main and t.sample_every and step % t.sample_every == 0:
                    self._write_sample(batch, step)
                if done:
                    self._save(epoch, batch_done, step)
                    return last
            keep = bool(t.save_every) and epoch % t.save_every == 0
            self._save(epoch, batch_done, step, keep_epoch=keep)
            epoch, batch_done = epoch + 1, 0
        return last

    def _header(self) -> dict[str, Any]:
        """What the first record this process logs adds: the precision chosen and why."""
        if self._header_written:
            return {}
        self._header_written = True
        return self.choice.record()

    def _validate(self, step: int, last: bool, reporter: ProgressReporter,
                  board: TensorBoard | None) -> dict[str, float]:
        """Validation metrics when due (every ``validation.every`` steps and at the end).

        A no-reference set also writes its sample grid (``samples/val_step_*.png``); the
        seconds it took go to the run log, so its cost is visible.
        """
        spec = self.recipe.validation
        if self.val_dataset is None or spec is None or not self.is_main:
            return {}
        if step % spec.every and not last:
            return {}
        result = run_validation(self.parts.generator, self.val_dataset, self.device)
        if result.grid is not None:
            save_image(self.dir / "samples" / f"val_step_{step:07d}.png", result.grid)
            if board is not None:
                board.image("val_samples", result.grid, step)
        scores = " ".join(f"{k}={v:.4g}" for k, v in result.metrics.items())
        reporter.message(f"validation at step {step}: {scores} ({result.seconds:.1f} s)")
        return result.metrics

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.choice.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    @torch.no_grad()
    def _write_sample(self, batch: dict[str, torch.Tensor], step: int) -> None:
        from egan_core.tensors import enhance_with

        g = self.parts.generator
        was_training = g.training
        g.eval()
        enhanced, _ = enhance_with(g, batch["input"], signed=True)
        g.train(was_training)
        save_image(self.dir / "samples" / f"step_{step:07d}.png", sample_grid(batch["input"], enhanced))

    def _wrap_ddp(self) -> None:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [self.device.index] if self.device.type == "cuda" else None
        p = self.parts
        p.generator_fwd = DDP(p.generator, device_ids=ids)
        if p.discriminator is not None:
            p.global_fwd = DDP(p.discriminator.global_d, device_ids=ids)
            if p.discriminator.local_d is not None:
                p.local_fwd = DDP(p.discriminator.local_d, device_ids=ids)

    def _install_sigint(self) -> Any:
        """First Ctrl-C: finish the iteration, save, stop. Second: stop at once."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if self.stop_requested:
                raise KeyboardInterrupt
            self.stop_requested = True

        signal.signal(signal.SIGINT, handler)
        return lambda: signal.signal(signal.SIGINT, previous)


def _as_tuple(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_as_tuple(v) for v in value)
    return value

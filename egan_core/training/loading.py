"""Training data as the loop reads it: unreadable images skipped and counted, and loader
workers sized to the machine.

One corrupt file in a folder of thousands should not end a run of hours. The loop reads
its dataset through :class:`SkipUnreadable`: an item that fails with an unreadable-image
error (:class:`~egan_core.errors.InputError`, ``OSError``) is replaced by the next readable
item (so batches stay full, which BatchNorm and DDP need), and the error's one line travels
with the batch under :data:`SKIPPED`. :class:`BadImages` names each file once and stops the
run past ``data.max_bad_images``. Any other error (a bug in a dataset) still stops the run.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from egan_core.errors import InputError, TrainingError, first_line

#: The batch key under which the reasons of the items skipped for it travel.
SKIPPED = "skipped_images"
#: Errors that mean "this file cannot be read", as opposed to a bug in the dataset.
UNREADABLE = (InputError, OSError)

Item = tuple[dict[str, Any] | None, list[str]]


class SkipUnreadable(Dataset):
    """``dataset`` with each unreadable item replaced by the next readable one.

    Item ``i`` is ``(sample, reasons)``: the sample of the first readable index from ``i``
    on (wrapping around), and the one-line errors of the indices skipped on the way. The
    replacement is a pure function of the index, so it does not depend on the number of
    loader workers; ``sample`` is None only when no item at all can be read.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    def __getitem__(self, index: int) -> Item:
        n = len(self.dataset)
        reasons: list[str] = []
        for k in range(n):
            try:
                return self.dataset[(index + k) % n], reasons
            except UNREADABLE as exc:
                reasons.append(first_line(exc, 300))
        return None, reasons


def collate(items: list[Item]) -> dict[str, Any]:
    """The default collation of the samples, plus :data:`SKIPPED`: every reason of the batch.

    A batch in which some item had nothing readable holds :data:`SKIPPED` alone.
    """
    reasons = [r for _, rs in items for r in rs]
    samples = [s for s, _ in items if s is not None]
    batch: dict[str, Any] = default_collate(samples) if len(samples) == len(items) else {}
    batch[SKIPPED] = reasons
    return batch


def check_readable(dataset: Any, section: str = "data") -> None:
    """Fail before training when no item of ``dataset`` can be read (one line, first reason).

    Reads items from the first on until one loads, so a healthy dataset costs one sample.

    Raises:
        InputError: every item fails with an unreadable-image error.
    """
    sample, reasons = SkipUnreadable(dataset)[0]
    if sample is None:
        first = f" (first: {reasons[0]})" if reasons else ""
        raise InputError(f"{section}: none of the {len(dataset)} training samples can be read{first};"
                        f" check the images under {section}.root")


class BadImages:
    """The unreadable images a run met: each named once, counted, and a limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reasons: list[str] = []

    def add(self, reasons: Iterable[str]) -> list[str]:
        """Record ``reasons``; returns those not seen before (to be named in the log)."""
        new = [r for r in dict.fromkeys(reasons) if r not in self.reasons]
        self.reasons += new
        return new

    @property
    def count(self) -> int:
        return len(self.reasons)

    @property
    def over_limit(self) -> bool:
        return self.count > self.limit

    def error(self, where: str) -> TrainingError:
        """The run's stop past the limit: the count, the list and what to do."""
        listing = "; ".join(self.reasons[:20]) + (f"; (+{self.count - 20} more)" if self.count > 20 else "")
        return TrainingError(
            f"{self.count} unreadable training images, more than data.max_bad_images="
            f"{self.limit}: {listing}; {where}; fix or remove them (or raise data.max_bad_images)"
            " and continue with --resume")


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def auto_workers(cores: int | None = None, processes: int | None = None) -> int:
    """Loader worker processes for ``data.workers: auto``: half the cores each training
    process has (the other half run the model's own threads), at most 8; 0 on one core.

    ``processes`` defaults to the processes of this machine under torchrun
    (``LOCAL_WORLD_SIZE``), so ranks on one machine share its cores.
    """
    cores = usable_cores() if cores is None else cores
    if processes is None:
        processes = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", 1)))
    per_process = max(1, cores // max(1, processes))
    return min(8, per_process // 2)


def resolve_workers(setting: int | str) -> tuple[int, str | None]:
    """``data.workers`` for this machine, and a one-line note when an explicit count exceeds
    the cores (torch's own multi-line warning is then left out)."""
    if setting == "auto":
        return auto_workers(), None
    count, cores = int(setting), usable_cores()
    if count > cores:
        return count, (f"note: data.workers={count} loader processes on {cores} CPU core(s) may"
                       f" slow training; data.workers: auto picks {auto_workers()} here")
    return count, None


def epoch_batches(dataset: SkipUnreadable, batch_sampler: Any, workers: int, pin_memory: bool,
                  seed: int) -> Iterator[dict[str, Any]]:
    """The batches of one epoch. The loader's worker seeds come from ``seed`` (the run's
    seed and the epoch) instead of the global RNG, so starting an epoch part way (a
    resume) draws nothing from the RNG state the checkpoint restored."""
    with warnings.catch_warnings():
        # resolve_workers has already said it in one line
        warnings.filterwarnings("ignore", message="This DataLoader will create")
        loader = DataLoader(dataset, batch_sampler=batch_sampler, num_workers=workers,
                            pin_memory=pin_memory, collate_fn=collate,
                            generator=torch.Generator().manual_seed(seed),
                            worker_init_fn=leave_stops_to_the_trainer)
        return iter(loader)


def leave_stops_to_the_trainer(worker_id: int) -> None:
    """In a loader worker: leave the run's process group.

    A scheduler or a shell that stops a job signals its whole process group (``kill -TERM
    -PGID``, a terminal's Ctrl-C). The trainer turns that signal into "finish the step, save,
    exit 143/130" and then ends its workers itself; a worker that died of the same signal
    first would turn that clean stop into a crash. Out of the group, a worker still ends
    when the trainer ends it (or, should the trainer be killed, when it sees its parent gone).
    """
    os.setpgrp()

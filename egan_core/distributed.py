"""Process groups under ``torchrun``: one place for setup, teardown and DDP wrapping.

Training (:func:`training_group`, :func:`wrap_ddp`) joins the default group with nccl on
CUDA, gloo on the CPU. Sharded enhancement (:func:`start_group`, :func:`gather_objects`)
connects gloo groups before any work, so a rank dying later is noticed instead of waited
for. Everything is a no-op when ``WORLD_SIZE`` is 1 (or unset).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import torch
from torch import nn

from egan_core.errors import EganError, first_line

#: How long a rank that is done waits for the slowest one at the summary. Long: the group
#: is connected before any work, so a rank that dies is noticed at once (gloo sees the
#: closed connection); only a rank that is alive but stuck is waited for this long.
SUMMARY_TIMEOUT = timedelta(days=7)
#: How long ranks wait for rank 0's choice of enhancement path (a probe takes seconds).
DECISION_TIMEOUT = timedelta(minutes=10)

_group: Any = None  # the summary group of this process (None: alone, or not started yet)
_decision_group: Any = None  # where rank 0 shares its choice of path (short timeout)
_own_default_group = False  # whether start_group created the default process group


def rank_and_world() -> tuple[int, int]:
    """``(rank, world size)`` under ``torchrun``; ``(0, 1)`` otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


# -- training ------------------------------------------------------------------------------

@contextmanager
def training_group(device: torch.device) -> Iterator[torch.device]:
    """Join the default group for training; yields this rank's device (``cuda:LOCAL_RANK``).

    nccl on CUDA, gloo on the CPU; the group is left on the way out (also on errors).
    Alone, ``device`` is yielded as it is and nothing is joined.
    """
    _, world = rank_and_world()
    if world <= 1:
        yield device
        return
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield device
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def broadcast_from_main(value: Any, group: Any = None) -> Any:
    """Rank 0's ``value`` on every rank (so all take one decision); ``value`` when alone.

    ``group``: the process group to share it in (default: the default group; enhancement
    uses :func:`decision_group`, whose timeout is short). Every rank of it must call this.
    """
    if rank_and_world()[1] <= 1:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0, group=group)
    return box[0]


def max_over_ranks(values: list[int], device: torch.device) -> list[int]:
    """The element-wise maximum of every rank's ``values`` (``values`` when alone).

    Every rank must call it at the same point: the training loop does after each step, so
    a stop that one rank asks for (a signal, too many unreadable images) stops all of them
    at the same step.
    """
    if rank_and_world()[1] <= 1:
        return list(values)
    import torch.distributed as dist

    box = torch.tensor(values, dtype=torch.int64, device=device)
    dist.all_reduce(box, op=dist.ReduceOp.MAX)
    return [int(v) for v in box.tolist()]


def wrap_ddp(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` under DistributedDataParallel on ``device`` (gradients averaged over ranks)."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


# -- sharded enhancement -------------------------------------------------------------------

def start_group() -> None:
    """Connect to the other ranks (gloo) before any work; a no-op when not distributed.

    Raises:
        EganError: the ranks cannot reach each other (torchrun's rendezvous settings).
    """
    global _group, _own_default_group, _decision_group
    if rank_and_world()[1] <= 1 or _group is not None:
        return
    import torch.distributed as dist

    try:
        if not dist.is_initialized():
            dist.init_process_group("gloo")
            _own_default_group = True
        _group = dist.new_group(backend="gloo", timeout=SUMMARY_TIMEOUT)
        _decision_group = dist.new_group(backend="gloo", timeout=DECISION_TIMEOUT)
    except (RuntimeError, ValueError) as exc:
        raise EganError(f"cannot connect to the other ranks: {first_line(exc)}") from exc


def decision_group() -> Any:
    """The group in which every rank takes rank 0's measured decisions (None when alone)."""
    return _decision_group


def end_group() -> None:
    """Leave the summary group (and the default group, when :func:`start_group` made it)."""
    global _group, _own_default_group
    if _group is None:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group(_group)
        if _own_default_group:
            dist.destroy_process_group()
    _group, _own_default_group = None, False


def gather_objects(value: Any) -> list[Any]:
    """Every rank's ``value`` (gloo ``all_gather_object`` in the summary group), then leave.

    Every rank must call it. ``[value]`` when alone.

    Raises:
        RuntimeError: another rank died before handing in its value.
    """
    _, world = rank_and_world()
    if world <= 1:
        return [value]
    import torch.distributed as dist

    start_group()
    parts: list[Any] = [None] * world
    try:
        dist.all_gather_object(parts, value, group=_group)
    finally:
        end_group()
    return parts

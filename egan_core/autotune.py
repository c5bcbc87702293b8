"""Decisions measured once per machine and model, remembered in memory and on disk.

``precision: auto`` (training) and the enhancement path are chosen by a short timed probe.
The probe's result depends on the machine (see :func:`egan_core.hardware.machine_key`) and
the model, so it is cached under both: in this process, and in ``autotune.json`` in the
cache folder (``$EGAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/egan``, else ``~/.cache/egan``)
so that the next run starts without probing. An unwritable or damaged cache file is
ignored: the probe simply runs again.

Both decisions follow the rules kept here, so they cannot drift apart: which precisions
are candidates (:func:`bf16_support`), how timings become a choice (:class:`SpeedPolicy`,
:data:`ENHANCE` and :data:`TRAINING`), and that under ``torchrun`` rank 0 decides for
every rank (:func:`agreed`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from egan_core import distributed
from egan_core.errors import EganError
from egan_core.fileio import atomic_write
from egan_core.hardware import CpuFeatures, cpu_features, native_bf16

_MEMORY: dict[str, dict[str, Any]] = {}
_FILE = "autotune.json"
#: Cache entries kept on disk (the oldest go first).
MAX_ENTRIES = 256
#: Revision of the measured code paths, part of every key: raised when a candidate's
#: implementation changes (2: Winograd convolutions; 3: the training probe's batch, losses
#: and Winograd image threads), so decisions timed on the old code
#: are measured again instead of trusted.
REVISION = 3


@dataclass(frozen=True)
class SpeedPolicy:
    """How one kind of decision turns a timed probe into a choice.

    Attributes:
        margin: another candidate must beat the baseline by this factor to be chosen over
            it, so timing noise never trades the baseline for a path that is not really
            faster.
        probe_size: side of the probe image in pixels (where nothing else sets it).
    """

    margin: float
    probe_size: int

    def pick(self, timings: Mapping[str, float], baseline: str) -> str:
        """The fastest of ``timings`` (seconds); ``baseline`` unless beaten by :attr:`margin`.

        ``baseline`` is also the answer when nothing was timed.
        """
        if not timings:
            return baseline
        best = min(timings, key=lambda k: timings[k])
        if baseline in timings and timings[best] * self.margin > timings[baseline]:
            return baseline
        return best


#: The enhancement path (:mod:`egan_core.enhance.generator_runner`): another path must be 3 % faster
#: than eager fp32; the accuracy check runs on a 128 px image.
ENHANCE = SpeedPolicy(margin=1.03, probe_size=128)
#: Training precision, layout and Winograd (:mod:`egan_core.training.precision`): another
#: candidate must be 5 % faster than fp32 NCHW; the probe is 96 px where the crop is unknown.
TRAINING = SpeedPolicy(margin=1.05, probe_size=96)


@dataclass(frozen=True)
class Bf16Support:
    """What a device does with bf16: ``native`` (faster than fp32, so worth a probe),
    ``runs`` (bf16 convolutions run at all, perhaps emulated) and ``why`` (for logs)."""

    native: bool
    runs: bool
    why: str


def bf16_support(device: torch.device | str, features: CpuFeatures | None = None) -> Bf16Support:
    """Whether bf16 is native on ``device``, whether it runs there at all, and why.

    The one place the speed decisions ask, so tests drive every decision at once by
    replacing this function. ``features``: the CPU's (default: this machine's).
    """
    dev = torch.device(device)
    native, why = native_bf16(dev, features)
    if dev.type == "cpu":
        runs = (features if features is not None else cpu_features()).onednn_bf16
    else:
        runs = dev.type != "cuda" or native
    return Bf16Support(native=native, runs=runs, why=why)


def agreed(decide: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``decide()`` on rank 0 only, its result on every rank of :func:`distributed.decision_group`.

    Ranks sharing one job must take the same path (outputs of different paths differ in
    the last bits), and timing candidates on every rank at once would measure the
    contention, not the candidates. Alone, or without the group, ``decide()`` runs here.
    A rank that hears nothing from rank 0 (it failed first) decides alone.
    """
    import torch.distributed as dist

    group = distributed.decision_group()
    if group is None or not dist.is_initialized():
        return decide()
    mine = decide() if dist.get_rank() == 0 else None
    try:
        theirs = distributed.broadcast_from_main(mine, group=group)
    except RuntimeError:
        return decide() if mine is None else mine
    return theirs if theirs is not None else decide()


def cache_dir() -> Path:
    """The folder holding egan's per-machine cache."""
    if os.environ.get("EGAN_CACHE_DIR"):
        return Path(os.environ["EGAN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "egan"


def _read() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((cache_dir() / _FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def lookup(key: str) -> dict[str, Any] | None:
    """A cached decision, or None."""
    key = f"r{REVISION}|{key}"
    if key in _MEMORY:
        return _MEMORY[key]
    found = _read().get(key)
    if found is not None:
        _MEMORY[key] = found
    return found


def store(key: str, decision: dict[str, Any]) -> None:
    """Remember ``decision`` (JSON-serialisable) under ``key``, on disk when possible."""
    key = f"r{REVISION}|{key}"
    record = {**decision, "saved": time.time()}
    _MEMORY[key] = record
    data = _read()
    data[key] = record
    if len(data) > MAX_ENTRIES:
        for old in sorted(data, key=lambda k: data[k].get("saved", 0))[:len(data) - MAX_ENTRIES]:
            del data[old]
    text = json.dumps(data, indent=1, sort_keys=True)
    try:
        atomic_write(cache_dir() / _FILE, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    except (EganError, OSError):
        pass  # read-only home, full disk: the decision still holds for this process


def cached(key: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The decision under ``key``; ``measure()`` makes (and stores) it when there is none."""
    found = lookup(key)
    if found is None:
        found = measure()
        store(key, found)
    return found


def forget() -> None:
    """Drop this process's remembered decisions (the disk cache stays)."""
    _MEMORY.clear()


def timed_alternately(fns: dict[str, Callable[[], Any]], rounds: int = 3,
                      sync: Callable[[], Any] | None = None) -> dict[str, float]:
    """Best wall time of each function over ``rounds``, the functions taking turns.

    Each is warmed up once first. Taking turns spreads a busy machine's slow moments over
    all candidates instead of penalising whichever ran during them.
    """
    wait = sync or (lambda: None)
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            wait()
            start = time.perf_counter()
            fn()
            wait()
            best[name] = min(best[name], time.perf_counter() - start)
    return best

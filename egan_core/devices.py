"""``resolve_device``: the one place a user's device name becomes a ``torch.device``.

Training and enhancement share it, so both accept the same names and fail the same way: one
line naming the bad value and the valid ones, never torch's own ``RuntimeError``.
"""

from __future__ import annotations

import os

import torch

from egan_core.errors import UsageError

#: What a user may ask for (``cuda:N`` = the N-th GPU).
VALID = "auto, cpu, cuda or cuda:N"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when available, else ``cpu``; ``cpu``, ``cuda``, ``cuda:N`` checked.

    Under ``torchrun`` a bare ``cuda`` means this rank's GPU (``LOCAL_RANK``). A
    ``torch.device`` is taken as given.

    Raises:
        UsageError: an unknown device name, or CUDA asked for where it is not available.
    """
    if isinstance(device, torch.device):
        return device
    name = device.strip().lower() if isinstance(device, str) else device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda") or (dev.type == "cpu" and dev.index):
        raise UsageError(f"unknown device '{device}'; use {VALID}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device '{device}': CUDA is not available on this machine;"
                             " use --device cpu (or auto)")
        if dev.index is None and "LOCAL_RANK" in os.environ:
            dev = torch.device("cuda", int(os.environ["LOCAL_RANK"]))  # one GPU per torchrun rank
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise UsageError(f"device '{device}': this machine has {count} CUDA device(s);"
                             f" use cuda:0 to cuda:{count - 1} (or auto)")
    return dev

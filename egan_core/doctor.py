"""``egan doctor``: what this machine is and what ``auto`` resolves to on it.

Users paste its output into bug reports, so it names everything a speed or precision
question depends on: torch's build, the CPU features that decide the fast paths, threads,
GPUs, and the training and enhancement choices with the probe timings behind them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import sys
from typing import Any

import torch

from egan_core import autotune
from egan_core.devices import resolve_device
from egan_core.hardware import cpu_features, native_bf16

#: The CPU features shown, with the ``/proc/cpuinfo`` flags that stand for each.
FEATURES = {
    "AVX2": ("avx2",),
    "AVX-512": ("avx512f",),
    "AVX512-BF16": ("avx512_bf16",),
    "AMX": ("amx_tile", "amx_bf16"),
    "VNNI": ("avx512_vnni", "avx_vnni"),
}


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def system_report() -> dict[str, Any]:
    """Versions, CPU features, threads and GPUs (no probe: instant)."""
    feats = cpu_features()
    cuda = [{"name": torch.cuda.get_device_name(i), "bf16": native_bf16(f"cuda:{i}")[0]}
            for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    ok, why = native_bf16("cpu")
    return {
        "egan": _version("egan"),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu": feats.model,
        "cpu_features": {name: any(feats.has(f) for f in flags) for name, flags in FEATURES.items()},
        "aten_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn_bf16": feats.onednn_bf16,
        "cpu_bf16": {"native": ok, "why": why},
        "threads": {"torch": torch.get_num_threads(), "cpus": os.cpu_count()},
        "cuda": cuda,
        "onnxruntime": _version("onnxruntime") if importlib.util.find_spec("onnxruntime") else None,
        "cache": str(autotune.cache_dir()),
    }


def training_choice(device: torch.device) -> dict[str, Any]:
    """What ``train.precision``, ``channels_last`` and ``winograd: auto`` resolve to for EnlightenGAN."""
    from egan_core.plugins import get_registries
    from egan_core.training.precision import resolve_precision

    model = get_registries().generators.get("attention_unet")(base_channels=32)
    choice = resolve_precision("auto", "auto", device, model,
                               model_key='attention_unet:{"base_channels": 32}')
    return {"precision": choice.precision, "channels_last": choice.channels_last,
            "winograd": choice.winograd, "reason": choice.reason, "probe_s": choice.timings}


def enhancement_choice(device: torch.device) -> dict[str, Any]:
    """What ``egan enhance`` with every default runs the default model as, and why."""
    from egan_core.plugins import get_registries

    runner = get_registries().enhancers.get("gan")(device=device)
    return {"backend": runner.backend, "precision": runner.precision, "reason": runner.reason,
            "probe_psnr_db": runner.probe_psnr, "probe_s": runner.timings}


def report(device: str = "auto", probe: bool = True) -> dict[str, Any]:
    """Everything ``egan doctor`` prints (``probe=False`` skips the timed choices)."""
    dev = resolve_device(device)
    out = {**system_report(), "device": str(dev)}
    if probe:
        out["auto_training"] = training_choice(dev)
        out["auto_enhance"] = enhancement_choice(dev)
    return out

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
from typing import TYPE_CHECKING, Any

import torch

from egan_core import autotune
from egan_core.devices import resolve_device
from egan_core.errors import EganError
from egan_core.hardware import cpu_features, native_bf16

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from egan_core.recipe import Recipe

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


#: The recipe whose training settings ``egan doctor`` resolves unless told another.
DEFAULT_RECIPE = "recipes/enlightengan.yaml"


def _load(recipe: str) -> Recipe:
    # random VGG weights cost the same to run as ImageNet's, and are never downloaded
    from egan_core.recipe import load_recipe

    return load_recipe(recipe, {"vgg.weights": "none"})


def recipe_training_choice(recipe: str, device: str) -> dict[str, Any]:
    """What ``egan run recipe`` resolves ``train.precision`` / ``channels_last`` /
    ``winograd`` to here, by the run's own probe (and cached under the run's key).

    Call it in a fresh process (:func:`training_choice` does): a training probe may put
    Winograd in its one-image-per-thread mode, which only a process that has run no Winograd
    convolution can take, and which would change the enhancement probe after it.
    """
    import warnings

    from egan_core.plugins import get_registries
    from egan_core.training.build import build_parts
    from egan_core.training.precision import probe_batch, probe_size, resolve_for_run

    rec = _load(recipe)
    dev = resolve_device(device)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="vgg.weights: none")
        choice = resolve_for_run(rec, build_parts(rec, get_registries(), dev), dev)
    return {"recipe": recipe, "precision": choice.precision, "channels_last": choice.channels_last,
            "winograd": choice.winograd, "reason": choice.reason, "probe_s": choice.timings,
            "probe_batch": probe_batch(rec.data.batch_size),
            "probe_crop": probe_size(rec.data.dataset.kwargs.get("size")),
            "losses": [spec.name for spec in rec.losses]}


def _answer(recipe: str, device: str, conn: Connection) -> None:
    """The child's side of :func:`training_choice`: the choice, or the error as one line."""
    try:
        conn.send(recipe_training_choice(recipe, device))
    except Exception as exc:  # noqa: BLE001 - reported by the parent as one line
        conn.send({"error": str(exc) if isinstance(exc, EganError) else f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


def training_choice(device: torch.device, recipe: str = DEFAULT_RECIPE) -> dict[str, Any]:
    """What ``train.precision``, ``channels_last`` and ``winograd: auto`` resolve to for
    ``recipe`` (default: the paper's), from a fresh process (see :func:`recipe_training_choice`).

    The process is spawned (it imports the same egan as this one, from the same
    ``sys.path``) and answers through a pipe.

    Raises:
        EganError: the recipe cannot be loaded or built, or the probe failed (one line).
    """
    import multiprocessing

    _load(recipe)  # a missing or invalid recipe: its own error here, before any process starts
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_answer, args=(recipe, str(device), send), daemon=True)
    child.start()
    send.close()
    try:
        answer = receive.recv()
    except EOFError:  # the child died without answering
        answer = None
    child.join()
    if answer is None:
        raise EganError(f"the training probe for '{recipe}' ended without an answer "
                        f"(exit code {child.exitcode}); run egan run {recipe} to see why")
    if "error" in answer:
        raise EganError(f"the training probe for '{recipe}' failed: {answer['error']}")
    return answer


def enhancement_choice(device: torch.device) -> dict[str, Any]:
    """What ``egan enhance`` with every default runs the default model as, and why."""
    from egan_core.plugins import get_registries

    runner = get_registries().enhancers.get("gan")(device=device)
    return {"backend": runner.backend, "precision": runner.precision, "reason": runner.reason,
            "probe_psnr_db": runner.probe_psnr, "probe_s": runner.timings}


def report(device: str = "auto", probe: bool = True, recipe: str = DEFAULT_RECIPE) -> dict[str, Any]:
    """Everything ``egan doctor`` prints (``probe=False`` skips the timed choices; ``recipe``
    is the one whose training settings are resolved)."""
    dev = resolve_device(device)
    out = {**system_report(), "device": str(dev)}
    if probe:
        out["auto_training"] = training_choice(dev, recipe)
        out["auto_enhance"] = enhancement_choice(dev)
    return out

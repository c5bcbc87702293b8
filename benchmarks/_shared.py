"""What the enhancement benchmarks share: the test image, the model, the eager baseline.

Imported by the scripts in this folder (``python benchmarks/bench_*.py`` puts it on the path).
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image


def dark_image(height: int, width: int) -> np.ndarray:
    """A dark HxWx3 uint8 gradient with noise: the same pixels for every path, run and
    release, so figures in docs/benchmarks.md stay comparable (image content changes
    speed: near-black activations run slower on some paths). Examples and tests use
    :func:`egan_core.scenes.dark_scene`."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / width, yy / height, (xx + yy) / (width + height)], axis=2) * 60
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def cpu_name() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it (else what platform knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()



def add_timing_arguments(parser: argparse.ArgumentParser) -> None:
    """``--megapixels``, ``--repeats`` and ``--threads``: what every per-megapixel timing takes."""
    parser.add_argument("--megapixels", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")


def chosen_path(fn: Callable[..., object]) -> str | None:
    """``backend:precision`` an enhancer's first stage settled on (None when it has none)."""
    stages = getattr(fn, "stages", [])
    if stages and hasattr(stages[0], "backend"):
        return f"{stages[0].backend}:{stages[0].precision}"
    return None


def time_alternately(fns: dict[Any, Callable[[np.ndarray], object]], image: np.ndarray,
                     repeats: int) -> dict[Any, list[float]]:
    """Seconds per call of each ``fns`` entry on ``image``, ``repeats`` rounds of one call
    each in turn, so a busy machine slows them all alike."""
    times: dict[Any, list[float]] = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn(image)
            times[key].append(time.perf_counter() - start)
    return times


def dark_image_of(megapixels: float) -> tuple[np.ndarray, float]:
    """:func:`dark_image` of about ``megapixels`` at 4:3, and its exact size in megapixels."""
    width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(megapixels * 1e6 / width))
    return dark_image(height, width), width * height / 1e6


def make_checkpoint(path: Path) -> None:
    """attention_unet (width 32) with BatchNorm statistics calibrated on a dark image and a
    scaled-up residual, so the model really changes the image."""
    from egan_core.checkpoint import save_checkpoint
    from egan_core.generator_io import attention_map, to_model_range
    from egan_plugins.networks.unet import AttentionUNet

    model = AttentionUNet(base_channels=32, seed=0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None
    x = to_model_range(torch.from_numpy(dark_image(128, 128)).permute(2, 0, 1)[None].float() / 255)
    with torch.no_grad():
        model.train()(x, attention_map(x))
        model.conv10.weight.mul_(5.0)
    spec = {"name": "attention_unet", "kwargs": {"base_channels": 32},
            "state_dict": model.state_dict()}
    save_checkpoint(path, {"generator": spec})


def eager_fn(checkpoint: str | Path) -> Callable[[np.ndarray], np.ndarray]:
    """The plain way: eval mode, ``torch.no_grad``, NCHW fp32, uint8 in and out."""
    from egan_core.generator_io import attention_map
    from egan_core.model_loading import load_generator

    model = load_generator(checkpoint).eval()

    def run(image: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255 * 2 - 1
            out, _ = model(x, attention_map(x))
            out = ((out + 1) / 2).clamp(0, 1)[0].permute(1, 2, 0).numpy()
        return (out * 255 + 0.5).astype(np.uint8)

    return run


def high_pass(difference: np.ndarray) -> float:
    """The deviation of what a 1.5 px Gaussian removes: a noise measure."""
    d = difference.astype(np.float32)
    return float((d - cv2.GaussianBlur(d, (0, 0), 1.5)).std())


def chroma_noise(image: np.ndarray) -> float:
    """:func:`high_pass` of an RGB uint8 image's Cr and Cb, averaged: colour speckle."""
    ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    return float(np.mean([high_pass(ycc[..., k]) for k in (1, 2)]))


def darkest(folder: str | None, below: float, count: int) -> list[tuple[Path, float]]:
    """The ``count`` darkest photos of ``folder`` with a mean brightness under ``below``."""
    if not folder:
        return []
    means = []
    for path in sorted(Path(folder).iterdir()):
        if path.suffix.lower() in (".png", ".jpg", ".bmp"):
            with Image.open(path) as image:
                means.append((float(np.asarray(image.convert("RGB").reduce(4)).mean()) / 255, path))
    return [(path, mean) for mean, path in sorted(means)[:count] if mean < below]


def load(path: Path, side: int) -> np.ndarray:
    """A photo as RGB uint8, its long side reduced to ``side`` (Lanczos) where longer."""
    image = Image.open(path).convert("RGB")
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return np.asarray(image).copy()

"""Validation during training: PSNR against paired targets, or no-reference NIQE and brightness.

Unpaired training on real photos has no targets, so a ``noref`` validation set (a dataset
whose ``reference`` attribute is False) is scored with NIQE and mean brightness instead,
and a fixed grid of its images shows what the generator does to them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from egan_core.errors import InputError
from egan_core.generator_io import enhance_with, from_model_range, to_model_range
from egan_core.metrics import niqe
from egan_core.metrics.psnr import psnr01


@torch.no_grad()
def validate(generator: nn.Module, dataset: Any, device: torch.device) -> dict[str, float]:
    """Mean PSNR (dB) of ``generator`` on every item of a paired ``dataset``.

    The generator runs in eval mode (BatchNorm on running statistics), its output clipped
    to [0, 1] as ``egan enhance`` writes it; the dataset's epoch is pinned to 0 so each
    validation sees the same crops.
    """
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(0)
    was_training = generator.training
    generator.eval()
    scores = []
    try:
        for i in range(len(dataset)):
            item = dataset[i]
            inp = item["input"].unsqueeze(0).to(device)
            target = from_model_range(item["normal"].unsqueeze(0).to(device)).clamp(0, 1)
            out, _ = enhance_with(generator, inp, signed=True)
            scores.append(psnr01(from_model_range(out.float()).clamp(0, 1), target))
    finally:
        generator.train(was_training)
    return {"val_psnr": sum(scores) / len(scores)} if scores else {}


@dataclass
class ValidationResult:
    """Metrics for the log, an optional sample grid, and the seconds validation took."""

    metrics: dict[str, float]
    grid: Image.Image | None
    seconds: float


def _uint8(image: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` in [0, 1] -> HxWx3 uint8, rounded as ``egan enhance`` writes files."""
    return (image.clamp(0, 1).permute(1, 2, 0).float().cpu().numpy() * 255 + 0.5).astype(np.uint8)


def _niqe_or_none(image: np.ndarray) -> float | None:
    try:
        return niqe(image)
    except InputError:  # a flat output (e.g. an untrained generator): not scorable
        return None


def noref_grid(pairs: list[tuple[np.ndarray, np.ndarray]], box: int) -> Image.Image:
    """One row per image, ``input | enhanced``, each centred in a ``box`` x ``box`` grey tile."""
    grid = Image.new("RGB", (2 * box, box * len(pairs)), (128, 128, 128))
    for row, images in enumerate(pairs):
        for col, array in enumerate(images):
            h, w = array.shape[:2]
            grid.paste(Image.fromarray(array), (col * box + (box - w) // 2, row * box + (box - h) // 2))
    return grid


@torch.no_grad()
def validate_noref(generator: nn.Module, dataset: Any, device: torch.device) -> ValidationResult:
    """NIQE (``val_niqe``) and mean brightness in [0, 1] (``val_brightness``) of the outputs.

    The inputs' own scores come along (``val_input_niqe``, ``val_input_brightness``) as the
    line to beat. Images run one at a time in eval mode at their downscaled size.
    """
    start = time.perf_counter()
    was_training = generator.training
    generator.eval()
    scores: dict[str, list[float]] = {"val_niqe": [], "val_brightness": [], "val_input_niqe": [],
                                      "val_input_brightness": []}
    pairs = []
    try:
        for i in range(len(dataset)):
            image = dataset.image(i).to(device)
            inp = to_model_range(image).unsqueeze(0)
            out, _ = enhance_with(generator, inp, signed=True)
            enhanced = from_model_range(out[0].float()).clamp(0, 1)
            arrays = (_uint8(image), _uint8(enhanced))
            for prefix, array in zip(("val_input_", "val_"), arrays, strict=True):
                scores[prefix + "brightness"].append(float(array.mean()) / 255)
                value = _niqe_or_none(array)
                if value is not None:
                    scores[prefix + "niqe"].append(value)
            if i < getattr(dataset, "grid", 0):
                pairs.append(arrays)
    finally:
        generator.train(was_training)
    grid = noref_grid(pairs, dataset.max_side) if pairs else None
    metrics = {k: sum(v) / len(v) for k, v in scores.items() if v}  # NIQE: images under one block
    return ValidationResult(metrics, grid, time.perf_counter() - start)


def run_validation(generator: nn.Module, dataset: Any, device: torch.device) -> ValidationResult:
    """Score ``dataset`` the way it allows: no-reference when it has no targets, else PSNR."""
    if getattr(dataset, "reference", True) is False:
        return validate_noref(generator, dataset, device)
    start = time.perf_counter()
    metrics = validate(generator, dataset, device)
    return ValidationResult(metrics, None, time.perf_counter() - start)

"""Validation during training: PSNR of the generator's output against paired targets."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from egan_core.tensors import attention_map, from_model_range


def psnr01(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two images in [0, 1] (``inf`` when identical)."""
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


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
            out, _ = generator(inp, attention_map(inp))
            scores.append(psnr01(from_model_range(out.float()).clamp(0, 1), target))
    finally:
        generator.train(was_training)
    return {"val_psnr": sum(scores) / len(scores)} if scores else {}

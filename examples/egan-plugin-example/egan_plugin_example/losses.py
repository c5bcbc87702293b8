"""Zero-DCE-style exposure-control loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ExposureLoss(nn.Module):
    """Mean distance of local brightness from a well-exposed level.

    The enhanced image (``ctx.enhanced``, [-1, 1]) is mapped to [0, 1], averaged over
    colour channels and over non-overlapping ``patch x patch`` regions; the loss is the
    mean of ``|region mean - level|``.

    Args:
        patch: region side in pixels (clipped to the image size).
        level: the well-exposed intensity in [0, 1].
    """

    def __init__(self, patch: int = 16, level: float = 0.6) -> None:
        super().__init__()
        if patch < 1:
            raise ValueError(f"patch must be at least 1, got {patch}")
        self.patch, self.level = int(patch), float(level)

    def forward(self, ctx) -> torch.Tensor:  # type: ignore[no-untyped-def]
        """``ctx`` is egan's ``LossContext``; only ``ctx.enhanced`` is used."""
        intensity = ((ctx.enhanced + 1) / 2).mean(dim=1, keepdim=True)
        k = min(self.patch, intensity.shape[-2], intensity.shape[-1])
        regions = F.avg_pool2d(intensity, kernel_size=k, stride=k)
        return (regions - self.level).abs().mean()

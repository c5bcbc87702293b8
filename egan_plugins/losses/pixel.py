"""Pixel-space losses: reconstruction (``l1``, ``mse``, ``gradient``) and ``exposure`` control.

``l1``, ``mse`` and ``gradient`` compare ``ctx.enhanced`` with ``ctx.normal``, so they only make
sense on paired data (the ``paired`` dataset, e.g. distilling a teacher). ``exposure`` needs
no pairs: it pulls local brightness towards a well-exposed level (Zero-DCE's exposure
control loss), which speeds up the first minutes of unpaired training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from egan_core.losses import LossContext


class L1Loss(nn.Module):
    """Mean absolute difference between the enhanced image and the (paired) target."""

    def forward(self, ctx: LossContext) -> torch.Tensor:
        return (ctx.enhanced - ctx.normal).abs().mean()


class MSELoss(nn.Module):
    """Mean squared difference to the (paired) target: the loss PSNR measures.

    Meant for the last, low-learning-rate stage of a distillation, where the score to raise
    is PSNR against the teacher; ``l1`` is the more robust choice earlier on.
    """

    def forward(self, ctx: LossContext) -> torch.Tensor:
        return (ctx.enhanced.float() - ctx.normal.float()).square().mean()


def _gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., 1:, :] - x[..., :-1, :], x[..., :, 1:] - x[..., :, :-1]


class GradientLoss(nn.Module):
    """L1 between the image gradients of enhanced and target (keeps edges and texture)."""

    def forward(self, ctx: LossContext) -> torch.Tensor:
        (eh, ew), (th, tw) = _gradients(ctx.enhanced), _gradients(ctx.normal)
        return (eh - th).abs().mean() + (ew - tw).abs().mean()


class ExposureLoss(nn.Module):
    """Mean ``|region brightness - level|`` over ``patch x patch`` regions, in [0, 1].

    Args:
        patch: region side in pixels (clipped to the image size).
        level: the well-exposed intensity in [0, 1] (Zero-DCE uses 0.6).
        squared: mean *squared* difference instead, as Zero-DCE's official code computes
            it (the paper writes the absolute value); the zero-reference recipes set it.
    """

    def __init__(self, patch: int = 16, level: float = 0.6, squared: bool = False) -> None:
        super().__init__()
        if patch < 1:
            raise ValueError(f"patch must be at least 1, got {patch}")
        if not 0.0 <= level <= 1.0:
            raise ValueError(f"level must be in [0, 1], got {level}")
        self.patch, self.level, self.squared = patch, level, squared

    def forward(self, ctx: LossContext) -> torch.Tensor:
        intensity = ((ctx.enhanced.float() + 1) / 2).mean(dim=1, keepdim=True)
        k = min(self.patch, intensity.shape[-2], intensity.shape[-1])
        regions = F.avg_pool2d(intensity, kernel_size=k, stride=k)
        diff = regions - self.level
        return (diff.square() if self.squared else diff.abs()).mean()

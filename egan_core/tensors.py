"""Tensor conventions shared by every component.

Models work on images in [-1, 1] (``x * 2 - 1`` of the [0, 1] image), NCHW.
"""

from __future__ import annotations

import torch


def to_model_range(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] image -> [-1, 1]."""
    return x * 2 - 1


def from_model_range(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] image -> [0, 1] (not clipped)."""
    return (x + 1) / 2


def attention_map(x: torch.Tensor) -> torch.Tensor:
    """EnlightenGAN's attention map ``1 - Y/2`` of an image in [-1, 1].

    Args:
        x: ``(N, 3, H, W)`` RGB in [-1, 1].

    Returns:
        ``(N, 1, H, W)``: ``1 - (0.299 (r+1) + 0.587 (g+1) + 0.114 (b+1)) / 2``; dark
        pixels get weights near 1, bright ones near 0.
    """
    r, g, b = x[:, 0:1] + 1, x[:, 1:2] + 1, x[:, 2:3] + 1
    return 1.0 - (0.299 * r + 0.587 * g + 0.114 * b) / 2.0

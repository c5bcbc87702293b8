"""Reflection padding to a multiple of the U-Net's stride, shared by the trainable
``attention_unet`` and its inference-only fused form (which must pad identically)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Spatial sizes are padded to a multiple of this (four 2x poolings).
DIVISOR = 16

Pads = tuple[int, int, int, int]


def pads_for(height: int, width: int, multiple: int = DIVISOR) -> Pads:
    """``(left, right, top, bottom)`` padding that brings both sides to multiples of
    ``multiple``, split as evenly as possible (the extra pixel on the right/bottom)."""
    dw, dh = -width % multiple, -height % multiple
    return dw // 2, dw - dw // 2, dh // 2, dh - dh // 2


def pad(x: torch.Tensor, pads: Pads) -> torch.Tensor:
    """Reflection-pad ``x``; replicate where the image is too small to reflect (< 9 px)."""
    left, right, top, bottom = pads
    if max(left, right) < x.shape[-1] and max(top, bottom) < x.shape[-2]:
        return F.pad(x, pads, mode="reflect")
    return F.pad(x, pads, mode="replicate")


def crop(x: torch.Tensor, pads: Pads, height: int, width: int) -> torch.Tensor:
    """Undo :func:`pad`: the ``height`` x ``width`` window the padding surrounded."""
    left, _, top, _ = pads
    return x[..., top:top + height, left:left + width]

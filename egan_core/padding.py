"""Reflection padding to a multiple of a generator's stride: the one implementation.

Networks that pool (``attention_unet`` pools four times, so it needs multiples of 16) pad
their input with :func:`pad` and take the result back with :func:`crop`; the export
wrapper pads to the generator's declared ``pad_multiple`` the same way, so a traced graph
pads exactly as the network does. The amounts are computed from the input's shape at
run time, which keeps traced graphs dynamic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

Pads = tuple[int, int, int, int]


def pads_for(height: int, width: int, multiple: int) -> Pads:
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


def smallest_traced_side(multiple: int) -> int:
    """The smallest image side a traced graph pads correctly: a trace keeps the reflect
    branch of :func:`pad`, and reflection needs more pixels than it adds."""
    return 2 * multiple

"""EnlightenGAN's training augmentation on ``(3, H, W)`` tensors in [0, 1].

Every random choice comes from a caller-supplied :class:`random.Random`, drawn in a fixed
order (whatever the flags say), so one seed gives one sample.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: The fork's zoom factors: resize to height 400z, width 600z before the crop.
ZOOM_FACTORS = (1.0, 1.1, 1.2, 1.3, 1.4)
ZOOM_BASE = (400, 600)
#: Darkening divides the [0, 1] image by randint(200, 400) / 100.
DARKEN_RANGE = (200, 400)


@dataclass(frozen=True)
class CropParams:
    """One sample's geometry: optional resize to ``resize`` (h, w), crop (none when
    ``size`` is ``None``), flips."""

    resize: tuple[int, int] | None
    top: int
    left: int
    size: int | None
    hflip: bool
    vflip: bool


def covering_size(height: int, width: int, size: int) -> tuple[int, int]:
    """``(height, width)`` scaled up (aspect kept) so both sides are at least ``size``."""
    short = min(height, width)
    if short >= size:
        return height, width
    scale = size / short
    return max(size, round(height * scale)), max(size, round(width * scale))


def needs_upscale(height: int, width: int, size: int, zoom: bool) -> bool:
    """Whether an image of this size is smaller than the crop (after any zoom)."""
    if zoom:
        height, width = ZOOM_BASE
    return min(height, width) < size


def sample_params(
    rng: random.Random, height: int, width: int, size: int, zoom: bool, flip: bool
) -> CropParams:
    """Draw zoom (per sample), crop offset and flips for an image of ``height x width``."""
    z = rng.choice(ZOOM_FACTORS)
    resize: tuple[int, int] | None = None
    if zoom:
        height, width = round(ZOOM_BASE[0] * z), round(ZOOM_BASE[1] * z)
        resize = (height, width)
    if min(height, width) < size:
        height, width = covering_size(height, width, size)
        resize = (height, width)
    top = rng.randint(0, height - size)
    left = rng.randint(0, width - size)
    hflip = rng.random() < 0.5
    vflip = rng.random() < 0.5
    return CropParams(resize, top, left, size, flip and hflip, flip and vflip)


def resize(img: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bicubic (antialiased) resize of a ``(3, H, W)`` image, clipped to [0, 1]."""
    if img.shape[-2:] == (height, width):
        return img
    out = F.interpolate(img[None], size=(height, width), mode="bicubic",
                        align_corners=False, antialias=True)[0]
    return out.clamp_(0.0, 1.0)


def apply_params(img: torch.Tensor, params: CropParams) -> torch.Tensor:
    """Apply :class:`CropParams` to a ``(3, H, W)`` image; returns ``(3, size, size)``
    (the whole, possibly flipped image when ``size`` is ``None``)."""
    if params.resize is not None:
        img = resize(img, *params.resize)
    s = params.size
    if s is not None:
        img = img[:, params.top:params.top + s, params.left:params.left + s]
    dims = [d for d, on in ((2, params.hflip), (1, params.vflip)) if on]
    if dims:
        img = torch.flip(img, dims)
    return img.contiguous()


def augment(
    img: torch.Tensor, rng: random.Random, size: int, zoom: bool, flip: bool
) -> torch.Tensor:
    """Draw and apply one sample's geometry to ``img``."""
    params = sample_params(rng, img.shape[-2], img.shape[-1], size, zoom, flip)
    return apply_params(img, params)


def maybe_darken(img: torch.Tensor, rng: random.Random, enabled: bool) -> torch.Tensor:
    """With p = 0.5 (if ``enabled``), ``img / (randint(200, 400) / 100)``; else ``img``."""
    coin = rng.random() < 0.5
    factor = rng.randint(*DARKEN_RANGE) / 100.0
    if enabled and coin:
        return img / factor
    return img

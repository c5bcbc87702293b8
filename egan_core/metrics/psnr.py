"""Peak signal-to-noise ratio on 8-bit data (peak 255), on RGB or on the BT.601 Y channel."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch

from egan_core.errors import InputError
from egan_core.metrics.matlab import rgb2y

Channel = Literal["rgb", "y"]
CHANNELS: tuple[str, ...] = ("rgb", "y")
#: Two renderings of one model (another backend, precision or file format) agree when
#: they are at least this close, in dB on the [0, 1] range.
MIN_PSNR = 40.0


def prepare_pair(image: np.ndarray, reference: np.ndarray,
                 channel: Channel) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes and return both images as float64 on the 0..255 scale.

    ``channel='y'`` turns HxWx3 RGB into the BT.601 Y channel (MATLAB ``rgb2ycbcr``,
    16..235, not rounded); ``rgb`` keeps every channel. Gray (HxW) images are used as is.
    """
    a = np.asarray(image)
    b = np.asarray(reference)
    if a.shape != b.shape:
        raise InputError(f"image is {_size(a)} but its reference is {_size(b)}")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; use 'rgb' or 'y'")
    if channel == "y" and a.ndim == 3 and a.shape[2] == 3:
        return rgb2y(a), rgb2y(b)
    return a.astype(np.float64), b.astype(np.float64)


def _size(a: np.ndarray) -> str:
    """'WxH' (or the shape) of an image array, for messages."""
    return f"{a.shape[1]}x{a.shape[0]}" if a.ndim >= 2 else str(a.shape)


def psnr(image: np.ndarray, reference: np.ndarray, *, channel: Channel = "rgb") -> float:
    """PSNR in dB, ``10 log10(255^2 / MSE)``; ``inf`` for identical images.

    Images are HxW or HxWx3 arrays on the 0..255 scale (``uint8`` or float) of the same
    shape. On ``rgb`` the MSE is over all channels; on ``y`` over the Y channel.
    """
    a, b = prepare_pair(image, reference, channel)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(255.0 ** 2 / mse)


def psnr01(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two [0, 1] tensors, in float64 (``inf`` when identical): the check
    that a backend, precision or export still renders the model's output."""
    mse = float(((a.double() - b.double()) ** 2).mean())
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)

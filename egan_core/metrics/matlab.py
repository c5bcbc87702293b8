"""MATLAB-compatible image primitives in plain numpy.

NIQE, PSNR and SSIM as published were computed in MATLAB, so their reference values depend
on MATLAB's colour conversions, ``fspecial('gaussian')``, ``imfilter`` and ``imresize``.
This module reimplements the few pieces the metrics need, in float64:

- :func:`rgb2gray` and :func:`rgb2y` (ITU-R BT.601 luma as MATLAB's ``rgb2gray`` and the
  Y of ``rgb2ycbcr``), rounding to 8 bits when the input is ``uint8`` as MATLAB does;
- :func:`gaussian_kernel_1d` (the separable factor of ``fspecial('gaussian', n, sigma)``);
- :func:`filter2d_separable` (``imfilter(..., 'replicate')`` and ``filter2(..., 'valid')``
  for separable, symmetric kernels);
- :func:`imresize` (``imresize(A, scale)`` bicubic with antialiasing when shrinking).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

#: MATLAB rgb2gray weights: the first row of inv(T) for the YCbCr matrix T (0..255 scale).
RGB2GRAY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
#: BT.601 Y weights of MATLAB rgb2ycbcr for R, G, B in [0, 1]; Y = 16 + w . rgb.
RGB2Y = np.array([65.481, 128.553, 24.966])


def _round_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB's double -> uint8 conversion: round half away from zero, saturate."""
    return np.clip(np.floor(x + 0.5), 0, 255)


def _weighted_sum(img: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``w0 R + w1 G + w2 B`` in float64, summed left to right."""
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {img.shape}")
    out = img[:, :, 0] * weights[0]
    out += img[:, :, 1] * weights[1]
    out += img[:, :, 2] * weights[2]
    return out


def rgb2gray(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` of an HxWx3 image on the 0..255 scale; returns float64 HxW.

    A ``uint8`` input gives whole values (MATLAB returns ``uint8`` then), any other dtype
    is converted without rounding.
    """
    gray = _weighted_sum(img, RGB2GRAY)
    return _round_uint8(gray) if img.dtype == np.uint8 else gray


def rgb2y(img: np.ndarray, *, round_uint8: bool = False) -> np.ndarray:
    """BT.601 luma (MATLAB ``rgb2ycbcr`` Y, 16..235) of an HxWx3 image on 0..255.

    Returns float64 HxW. With ``round_uint8`` and a ``uint8`` input the result is rounded
    to whole values, as MATLAB does for ``uint8`` images.
    """
    y = 16.0 + _weighted_sum(img, RGB2Y / 255.0)
    return _round_uint8(y) if round_uint8 and img.dtype == np.uint8 else y


def gaussian_kernel_1d(size: int, sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian; ``outer(k, k)`` is ``fspecial('gaussian', size, sigma)``."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    k = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return k / k.sum()


def filter2d_separable(img: np.ndarray, kernel: np.ndarray,
                       mode: Literal["replicate", "valid"]) -> np.ndarray:
    """Correlate a 2-D array with ``outer(kernel, kernel)``.

    ``replicate`` keeps the size (edge padding, as ``imfilter(img, w, 'replicate')``);
    ``valid`` returns only the fully covered positions (as ``filter2(w, img, 'valid')``).
    The kernel must have odd length; it is used as given (correlation, not convolution).
    """
    k = np.asarray(kernel, dtype=np.float64)
    n = k.size
    x = np.asarray(img, dtype=np.float64)
    if mode == "replicate":
        x = np.pad(x, n // 2, mode="edge")
    elif mode != "valid":
        raise ValueError(f"unknown filter mode {mode!r}")
    h = x.shape[0] - n + 1
    w = x.shape[1] - n + 1
    if h <= 0 or w <= 0:
        raise ValueError(f"image {img.shape} is smaller than the {n}x{n} window")
    rows = k[0] * x[0:h]
    tmp = np.empty_like(rows)
    for i in range(1, n):
        rows += np.multiply(x[i:i + h], k[i], out=tmp)
    out = k[0] * rows[:, 0:w]
    tmp = np.empty_like(out)
    for j in range(1, n):
        out += np.multiply(rows[:, j:j + w], k[j], out=tmp)
    return out


def cubic(x: np.ndarray) -> np.ndarray:
    """MATLAB's bicubic kernel (Keys, a = -0.5), support [-2, 2]."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


def contributions(in_length: int, out_length: int, scale: float,
                  antialiasing: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Input indices and weights, both ``(out_length, taps)``, of MATLAB ``imresize``.

    Follows ``imresize``'s ``contributions``: output pixel k (1-based) samples the input at
    ``u = k/scale + (1 - 1/scale)/2``; when shrinking with antialiasing the cubic kernel is
    stretched by ``1/scale`` (``h(x) = scale * cubic(scale * x)``, width ``4/scale``); each
    row is normalised to sum 1; indices outside the image are mirrored (symmetric
    padding, the edge pixel repeated). Indices are 0-based; a mirrored index may repeat
    within a row (its weights add up).
    """
    stretch = scale < 1 and antialiasing
    width = 4.0 / scale if stretch else 4.0
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = math.ceil(width) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    dist = u[:, None] - idx
    weights = scale * cubic(dist * scale) if stretch else cubic(dist)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # symmetric padding: ..., 2, 1 | 1, 2, ..., n | n, n-1, ...
    period = 2 * in_length
    m = np.mod(idx.astype(np.int64) - 1, period)
    src = np.where(m < in_length, m, period - 1 - m)
    keep = np.any(weights != 0, axis=0)  # MATLAB drops all-zero columns
    return src[:, keep], weights[:, keep]


def resize_matrix(in_length: int, out_length: int, scale: float,
                  antialiasing: bool = True) -> np.ndarray:
    """The ``out_length x in_length`` matrix of MATLAB ``imresize`` along one axis."""
    src, weights = contributions(in_length, out_length, scale, antialiasing)
    mat = np.zeros((out_length, in_length))
    rows = np.repeat(np.arange(out_length), src.shape[1])
    np.add.at(mat, (rows, src.ravel()), weights.ravel())
    return mat


def _resize_axis0(a: np.ndarray, src: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Apply :func:`contributions` along the first axis."""
    out = weights[:, 0, None] * a[src[:, 0]]
    for k in range(1, src.shape[1]):
        out += weights[:, k, None] * a[src[:, k]]
    return out


def imresize(img: np.ndarray, scale: float, antialiasing: bool = True) -> np.ndarray:
    """MATLAB ``imresize(img, scale)`` (bicubic) of a 2-D float array; returns float64.

    The output is ``ceil(scale * size)`` in each dimension, rows resized before columns
    as MATLAB does for equal scales. No rounding or clipping (as for ``double`` input).
    """
    a = np.asarray(img, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"imresize expects a 2-D array, got shape {a.shape}")
    h, w = a.shape
    out_h, out_w = math.ceil(h * scale), math.ceil(w * scale)
    rows = _resize_axis0(a, *contributions(h, out_h, scale, antialiasing))
    return _resize_axis0(rows.T, *contributions(w, out_w, scale, antialiasing)).T

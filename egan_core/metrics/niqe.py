"""NIQE (Mittal, Soundararajan and Bovik, "Making a 'Completely Blind' Image Quality
Analyzer", IEEE SPL 2012), following the authors' MATLAB ``niqe.m`` / ``computequality.m``.

Steps, each as the MATLAB release does them:

1. RGB -> gray with MATLAB ``rgb2gray`` (8-bit images stay 8-bit, i.e. rounded), then
   ``double``; crop to a multiple of the 96x96 block size (top-left kept).
2. At two scales: MSCN coefficients ``(I - mu) / (sigma + 1)`` with a 7x7 Gaussian window
   (sigma 7/6, normalised) and replicated borders; per block (96x96, then 48x48) 18
   features: the AGGD fit (alpha, mean of the left/right scales) of the coefficients and,
   for the products with the four neighbours (circular shifts (0,1), (1,0), (1,1), (1,-1)),
   the AGGD alpha, mean, left and right scales. The second scale is MATLAB
   ``imresize(I, 0.5)`` (bicubic, antialiased) of the first.
3. The patches' multivariate Gaussian (``nanmean``, ``nancov`` over complete rows) is
   compared with the pristine model: ``sqrt(d' pinv((C_p + C) / 2) d)``, ``d = mu_p - mu``.
   All patches are used (the release's sharpness threshold is 0).

The pristine model is the published one (see ``NIQE_SOURCE.md``). Lower is better.

Agreement with MATLAB: to ~1e-12 on images without perfectly flat areas; where a 7x7
neighbourhood has a single value the MSCN coefficients are floating-point noise whose
signs depend on the filter's summation order, which moves NIQE by a few hundredths on
images with such areas (the checks are listed in ``NIQE_SOURCE.md``).
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np

from egan_core.errors import InputError
from egan_core.metrics.matlab import (
    filter2d_separable,
    gaussian_kernel_1d,
    imresize,
    rgb2gray,
    rgb2y,
)

BLOCK_SIZE = 96
#: circshift offsets (rows, columns) of the paired-product features, in niqe.m's order.
SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
FEATURES_PER_SCALE = 18


@lru_cache(maxsize=1)
def pristine_model() -> tuple[np.ndarray, np.ndarray]:
    """The published pristine MVG model: mean (36,) and covariance (36, 36)."""
    ref = resources.files("egan_core.metrics").joinpath("niqe_pristine.npz")
    with ref.open("rb") as fh, np.load(fh) as data:
        mu = np.asarray(data["mu_pris_param"], dtype=np.float64).reshape(-1)
        cov = np.asarray(data["cov_pris_param"], dtype=np.float64)
    return mu, cov


@lru_cache(maxsize=1)
def _ratio_table() -> tuple[np.ndarray, np.ndarray]:
    """The release's search grid 0.2:0.001:10 and Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a))."""
    alphas = 0.2 + 0.001 * np.arange(9801)
    ratio = np.array([math.gamma(2 / a) ** 2 / (math.gamma(1 / a) * math.gamma(3 / a))
                      for a in alphas])
    return alphas, ratio


def _rms(values: np.ndarray) -> float:
    """Root mean square, NaN for an empty array (MATLAB's mean of nothing)."""
    return math.sqrt(float(np.mean(values * values))) if values.size else math.nan


def aggd_params(values: np.ndarray) -> tuple[float, float, float]:
    """Fit an asymmetric generalised Gaussian; returns ``(alpha, beta_left, beta_right)``.

    Moment matching on the release's grid of shapes (first best match, as MATLAB ``min``);
    degenerate inputs (no negative or no positive values) give NaN scales and alpha 0.2,
    which is what MATLAB's ``min`` over NaNs returns.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    left = _rms(v[v < 0])
    right = _rms(v[v > 0])
    gamma_hat = left / right if right and not math.isnan(right) else math.nan
    mean_sq = float(np.mean(v * v))
    r_hat = float(np.mean(np.abs(v))) ** 2 / mean_sq if mean_sq > 0 else math.nan
    r_norm = r_hat * (gamma_hat ** 3 + 1) * (gamma_hat + 1) / (gamma_hat ** 2 + 1) ** 2
    alphas, ratio = _ratio_table()
    alpha = float(alphas[0] if math.isnan(r_norm) else alphas[np.argmin((ratio - r_norm) ** 2)])
    spread = math.sqrt(math.gamma(1 / alpha) / math.gamma(3 / alpha))
    return alpha, left * spread, right * spread


def block_features(block: np.ndarray) -> np.ndarray:
    """The 18 NIQE features of one block of MSCN coefficients."""
    alpha, bl, br = aggd_params(block)
    feats = [alpha, (bl + br) / 2]
    for shift in SHIFTS:
        pair = block * np.roll(block, shift, axis=(0, 1))
        alpha, bl, br = aggd_params(pair)
        mean = (br - bl) * math.gamma(2 / alpha) / math.gamma(1 / alpha)
        feats += [alpha, mean, bl, br]
    return np.array(feats)


def mscn(gray: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients ``(I - mu) / (sigma + 1)``."""
    window = gaussian_kernel_1d(7, 7 / 6)
    mu = filter2d_separable(gray, window, "replicate")
    var = filter2d_separable(gray * gray, window, "replicate") - mu * mu
    return (gray - mu) / (np.sqrt(np.abs(var)) + 1.0)


def to_gray(image: np.ndarray, convert: Literal["gray", "y"] = "gray") -> np.ndarray:
    """The float64 2-D image NIQE works on (0..255 scale).

    HxW input is used as is; HxWx3 RGB is converted with MATLAB ``rgb2gray`` (``gray``, as
    ``niqe.m``) or to BT.601 Y (``y``, as BasicSR's default); 8-bit input stays 8-bit.
    """
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        return img.astype(np.float64)
    if img.ndim != 3 or img.shape[2] != 3:
        raise InputError(f"NIQE needs a gray or RGB image, got an array of shape {img.shape}")
    if convert == "gray":
        return rgb2gray(img)
    if convert == "y":
        return rgb2y(img, round_uint8=True)
    raise ValueError(f"unknown conversion {convert!r}; use 'gray' or 'y'")


def niqe_features(gray: np.ndarray, block_size: int = BLOCK_SIZE) -> np.ndarray:
    """Per-block features ``(n_blocks, 36)`` of a 2-D image (scale 1 then scale 2)."""
    h, w = gray.shape
    nby, nbx = h // block_size, w // block_size
    if nby == 0 or nbx == 0:
        raise InputError(f"image of {w}x{h} pixels is too small for NIQE "
                         f"(needs at least {block_size}x{block_size})")
    img = np.asarray(gray, dtype=np.float64)[:nby * block_size, :nbx * block_size]
    per_scale = []
    for scale in (1, 2):
        coeffs = mscn(img)
        b = block_size // scale
        per_scale.append(np.array([block_features(coeffs[y * b:(y + 1) * b, x * b:(x + 1) * b])
                                   for x in range(nbx) for y in range(nby)]))
        if scale == 1:
            img = imresize(img, 0.5)
    return np.concatenate(per_scale, axis=1)


def mvg_distance(features: np.ndarray, mu_p: np.ndarray, cov_p: np.ndarray) -> float:
    """``sqrt(d' pinv((cov_p + cov) / 2) d)`` with MATLAB ``nanmean`` / ``nancov``."""
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(features), axis=0)
        mu = np.where(counts > 0, np.nansum(features, axis=0) / np.maximum(counts, 1), np.nan)
    complete = features[~np.isnan(features).any(axis=1)]
    if complete.shape[0] == 0 or np.isnan(mu).any():
        raise InputError("NIQE is undefined for this image: no block has texture "
                         "(flat image?)")
    if complete.shape[0] == 1:  # MATLAB cov of one observation is all zeros
        cov = np.zeros((features.shape[1], features.shape[1]))
    else:
        cov = np.cov(complete, rowvar=False)
    pooled = (cov_p + cov) / 2
    rcond = max(pooled.shape) * np.finfo(np.float64).eps  # MATLAB pinv tolerance
    d = mu_p - mu
    return float(math.sqrt(max(float(d @ np.linalg.pinv(pooled, rcond=rcond) @ d), 0.0)))


def niqe(image: np.ndarray, *, convert: Literal["gray", "y"] = "gray",
         block_size: int = BLOCK_SIZE) -> float:
    """NIQE of an image (HxW or HxWx3 RGB on the 0..255 scale, ``uint8`` or float).

    ``convert`` picks the RGB -> gray conversion: ``gray`` is MATLAB ``rgb2gray`` as the
    original ``niqe.m``; ``y`` is the BT.601 Y channel. Lower is better.
    Raises :class:`~egan_core.InputError` for images under one block or without texture.
    """
    feats = niqe_features(to_gray(image, convert), block_size)
    mu_p, cov_p = pristine_model()
    return mvg_distance(feats, mu_p, cov_p)

"""SSIM (Wang, Bovik, Sheikh and Simoncelli, IEEE TIP 2004) on 8-bit data.

As the authors' ``ssim_index.m``: an 11x11 Gaussian window (sigma 1.5), K1 = 0.01,
K2 = 0.03, L = 255, statistics over the window positions fully inside the image
('valid'), the mean of the SSIM map. No automatic downsampling. On RGB the result is the
mean of the three channels' SSIM; on ``y`` the BT.601 Y channel is compared.
"""

from __future__ import annotations

import numpy as np

from egan_core.errors import InputError
from egan_core.metrics.matlab import filter2d_separable, gaussian_kernel_1d
from egan_core.metrics.psnr import Channel, prepare_pair

WINDOW_SIZE = 11
SIGMA = 1.5
K1, K2, DATA_RANGE = 0.01, 0.03, 255.0


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The SSIM map of two 2-D float arrays on the 0..255 scale ('valid' positions)."""
    if min(a.shape) < WINDOW_SIZE:
        raise InputError(f"SSIM needs images of at least {WINDOW_SIZE}x{WINDOW_SIZE} pixels, "
                         f"got {a.shape[1]}x{a.shape[0]}")
    c1 = (K1 * DATA_RANGE) ** 2
    c2 = (K2 * DATA_RANGE) ** 2
    win = gaussian_kernel_1d(WINDOW_SIZE, SIGMA)
    mu_a = filter2d_separable(a, win, "valid")
    mu_b = filter2d_separable(b, win, "valid")
    var_a = filter2d_separable(a * a, win, "valid") - mu_a * mu_a
    var_b = filter2d_separable(b * b, win, "valid") - mu_b * mu_b
    cov = filter2d_separable(a * b, win, "valid") - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    return num / den


def ssim(image: np.ndarray, reference: np.ndarray, *, channel: Channel = "rgb") -> float:
    """Mean SSIM of two same-shape images (HxW or HxWx3 on 0..255); 1.0 when identical."""
    a, b = prepare_pair(image, reference, channel)
    if a.ndim == 2:
        return float(ssim_map(a, b).mean())
    return float(np.mean([ssim_map(a[:, :, c], b[:, :, c]).mean() for c in range(a.shape[2])]))

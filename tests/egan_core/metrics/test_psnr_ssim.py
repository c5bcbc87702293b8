"""PSNR and SSIM against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from egan_core.errors import InputError
from egan_core.metrics import psnr, ssim
from egan_core.metrics.matlab import gaussian_kernel_1d


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(20, 236, (24, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize("channel", ["rgb", "y"])
def test_identical_images(image: np.ndarray, channel: str) -> None:
    assert psnr(image, image.copy(), channel=channel) == math.inf
    assert ssim(image, image.copy(), channel=channel) == pytest.approx(1.0, abs=1e-12)


def test_constant_offset_closed_form(image: np.ndarray) -> None:
    shifted = image + np.uint8(10)  # no overflow: values <= 235
    assert psnr(shifted, image) == pytest.approx(20 * math.log10(255 / 10), abs=1e-12)
    # on Y the offset is scaled by the BT.601 weights: 10 * (65.481+128.553+24.966)/255
    dy = 10 * 219.0 / 255
    assert psnr(shifted, image, channel="y") == pytest.approx(20 * math.log10(255 / dy),
                                                              abs=1e-9)


def test_psnr_known_mse() -> None:
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    b[0, 0] = 16  # MSE = 256 / 16 = 16
    assert psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 16), abs=1e-12)


def test_ssim_of_constant_images_closed_form() -> None:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    a = np.full((16, 16), 100.0)
    b = np.full((16, 16), 140.0)
    expected = (2 * 100 * 140 + c1) / (100 ** 2 + 140 ** 2 + c1)  # variance terms: c2 / c2
    assert c2 > 0 and ssim(a, b) == pytest.approx(expected, rel=1e-9)


def test_ssim_matches_direct_window_sums() -> None:
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 255, (13, 14))
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255)
    k = gaussian_kernel_1d(11, 1.5)
    w = np.outer(k, k)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for r in range(3):
        for c in range(4):
            pa, pb = a[r:r + 11, c:c + 11], b[r:r + 11, c:c + 11]
            ma, mb = (w * pa).sum(), (w * pb).sum()
            va = (w * pa * pa).sum() - ma * ma
            vb = (w * pb * pb).sum() - mb * mb
            cov = (w * pa * pb).sum() - ma * mb
            vals.append((2 * ma * mb + c1) * (2 * cov + c2)
                        / ((ma * ma + mb * mb + c1) * (va + vb + c2)))
    assert ssim(a, b) == pytest.approx(float(np.mean(vals)), rel=1e-12)
    assert ssim(b, a) == pytest.approx(ssim(a, b), rel=1e-12)


def test_rgb_ssim_is_mean_of_channels(image: np.ndarray) -> None:
    other = np.clip(image.astype(int) + np.random.default_rng(2).integers(-30, 30, image.shape),
                    0, 255).astype(np.uint8)
    per_channel = [ssim(image[:, :, c], other[:, :, c]) for c in range(3)]
    assert ssim(image, other) == pytest.approx(np.mean(per_channel), rel=1e-12)
    assert ssim(image, other) < 1.0


def test_shape_mismatch_and_tiny_images() -> None:
    with pytest.raises(InputError, match="reference"):
        psnr(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(InputError, match="11x11"):
        ssim(np.zeros((10, 40)), np.zeros((10, 40)))

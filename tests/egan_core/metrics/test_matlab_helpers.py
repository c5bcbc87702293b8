"""MATLAB-compatible helpers: imresize against hand-computed weights, filters, colour."""

from __future__ import annotations

import numpy as np
import pytest

from egan_core.metrics.matlab import (
    RGB2GRAY,
    filter2d_separable,
    gaussian_kernel_1d,
    imresize,
    resize_matrix,
    rgb2gray,
    rgb2y,
)

# imresize(x, 0.5) of a length-4 signal, antialiased (kernel h(t) = 0.5 * cubic(0.5 t),
# width 8). Output 1 samples the input at u = 1/0.5 + 0.5 (1 - 2) = 1.5; the taps at
# distances +-0.5, +-1.5, +-2.5, +-3.5 weigh 0.43359375, 0.11328125, -0.03515625,
# -0.01171875 (they already sum to 1). Taps 1.5 +- d fall on pixels -2..5, mirrored into
# 1..4 as 3 2 1 | 1 2 3 4 | 4 3, so output 1 collects
#   a1: 0.43359375 + 0.11328125 = 0.546875      a2: 0.43359375 - 0.03515625 = 0.3984375
#   a3: 0.11328125 - 0.01171875 = 0.1015625     a4: -0.03515625 - 0.01171875 = -0.046875
# and output 2 is the mirror image.
HALF_AA = np.array([[0.546875, 0.3984375, 0.1015625, -0.046875],
                    [-0.046875, 0.1015625, 0.3984375, 0.546875]])
# Without antialiasing (plain cubic, width 4): taps at +-0.5 weigh 0.5625, at +-1.5 -0.0625;
# pixel 0 mirrors onto 1, so output 1 = (-0.0625 + 0.5625) a1 + 0.5625 a2 - 0.0625 a3.
HALF_PLAIN = np.array([[0.5, 0.5625, -0.0625, 0.0],
                       [0.0, -0.0625, 0.5625, 0.5]])


def test_resize_matrix_matches_hand_computed_weights() -> None:
    np.testing.assert_allclose(resize_matrix(4, 2, 0.5, antialiasing=True), HALF_AA, atol=1e-15)
    np.testing.assert_allclose(resize_matrix(4, 2, 0.5, antialiasing=False), HALF_PLAIN,
                               atol=1e-15)


def test_imresize_tiny_array_hand_computed() -> None:
    a = np.array([[10.0, 20.0, 40.0, 80.0],
                  [0.0, 255.0, 0.0, 255.0],
                  [5.0, 5.0, 5.0, 5.0],
                  [100.0, 50.0, 25.0, 0.0]])
    out = imresize(a, 0.5)
    assert out.shape == (2, 2)
    # first output pixel written out: rows first, then columns
    col = HALF_AA[0] @ a  # the four columns after the row pass
    assert out[0, 0] == pytest.approx(col @ HALF_AA[0], abs=1e-12)
    np.testing.assert_allclose(out, HALF_AA @ a @ HALF_AA.T, atol=1e-12)


def test_imresize_sizes_constant_and_odd_lengths() -> None:
    out = imresize(np.full((7, 5), 42.0), 0.5)
    assert out.shape == (4, 3)  # ceil(scale * size) as MATLAB
    np.testing.assert_allclose(out, 42.0, atol=1e-12)
    np.testing.assert_allclose(resize_matrix(9, 5, 0.5).sum(axis=1), 1.0, atol=1e-12)


def test_fspecial_gaussian_matches_published_window() -> None:
    from importlib import resources

    ref = resources.files("egan_core.metrics").joinpath("niqe_pristine.npz")
    with ref.open("rb") as fh, np.load(fh) as data:
        window = data["gaussian_window"]
    k = gaussian_kernel_1d(7, 7 / 6)
    np.testing.assert_allclose(np.outer(k, k), window, atol=1e-15)


def test_filter_replicate_and_valid_match_direct_sums() -> None:
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (9, 12))
    k = gaussian_kernel_1d(5, 1.0)
    w2 = np.outer(k, k)
    padded = np.pad(img, 2, mode="edge")
    direct = np.array([[np.sum(w2 * padded[r:r + 5, c:c + 5]) for c in range(12)]
                       for r in range(9)])
    np.testing.assert_allclose(filter2d_separable(img, k, "replicate"), direct, rtol=1e-12)
    valid = np.array([[np.sum(w2 * img[r:r + 5, c:c + 5]) for c in range(8)] for r in range(5)])
    np.testing.assert_allclose(filter2d_separable(img, k, "valid"), valid, rtol=1e-12)


def test_rgb2gray_rounds_uint8_like_matlab() -> None:
    px = np.array([[[200, 100, 50], [0, 0, 0], [255, 255, 255], [1, 2, 3]]], dtype=np.uint8)
    expected = np.floor(px.astype(float) @ RGB2GRAY + 0.5)
    np.testing.assert_array_equal(rgb2gray(px), expected)
    assert rgb2gray(px)[0, 0] == 124.0  # 59.7872 + 58.7043 + 5.7010 = 124.1926
    assert rgb2gray(px.astype(float))[0, 0] == pytest.approx(124.19256, abs=1e-5)


def test_rgb2y_bt601_range() -> None:
    px = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], dtype=np.uint8)
    np.testing.assert_allclose(rgb2y(px)[0], [16.0, 235.0, 16.0 + 65.481])

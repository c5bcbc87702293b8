"""NIQE: ordering on synthetic images, invariances, and an independent re-computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from egan_core.errors import InputError
from egan_core.metrics import niqe
from egan_core.metrics.matlab import filter2d_separable, gaussian_kernel_1d, imresize
from egan_core.metrics.niqe import block_features, mscn, niqe_features, pristine_model


def natural_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, natural-looking RGB uint8 image: random phases, 1/f amplitude spectrum."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f
    spec[0, 0] = 0
    x = np.fft.irfft2(spec, s=(h, w))
    x = (x - x.mean()) / x.std()
    rgb = np.stack([x, 0.8 * x + 0.2 * np.roll(x, 7, axis=1), 0.6 * x], axis=-1)
    return np.clip(128 + 40 * rgb, 0, 255).round().astype(np.uint8)


def blur_and_noise(img: np.ndarray, seed: int = 1) -> np.ndarray:
    """Gaussian blur (sigma 2) then additive Gaussian noise (sigma 12), back to uint8."""
    k = gaussian_kernel_1d(13, 2.0)
    blurred = np.stack([filter2d_separable(img[:, :, c], k, "replicate") for c in range(3)], -1)
    noise = np.random.default_rng(seed).normal(0, 12, img.shape)
    return np.clip(blurred + noise, 0, 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return natural_image(192, 288)


def test_pristine_model_shapes() -> None:
    mu, cov = pristine_model()
    assert mu.shape == (36,) and cov.shape == (36, 36)
    np.testing.assert_allclose(cov, cov.T)
    assert 2.0 < mu[0] < 3.5  # the GGD shape of pristine MSCN coefficients (~2.6)


def test_clean_scores_better_than_degraded(clean: np.ndarray) -> None:
    good = niqe(clean)
    bad = niqe(blur_and_noise(clean))
    assert math.isfinite(good) and math.isfinite(bad)
    assert good + 2.0 < bad, (good, bad)


def test_rotation_by_180_degrees_is_invariant(clean: np.ndarray) -> None:
    # replicate padding, the circular pair products and MATLAB's imresize are all
    # symmetric, and the 96-block grid maps onto itself for multiples of 96
    assert niqe(clean[::-1, ::-1]) == pytest.approx(niqe(clean), abs=1e-6)


def test_pixels_past_the_last_full_block_are_ignored(clean: np.ndarray) -> None:
    junk = np.random.default_rng(5).integers(0, 256, (192 + 50, 288 + 95, 3), dtype=np.uint8)
    junk[:192, :288] = clean
    assert niqe(junk) == niqe(clean)


def test_gray_input_equals_three_equal_channels(clean: np.ndarray) -> None:
    gray = clean[:, :, 0]
    assert niqe(np.repeat(gray[:, :, None], 3, axis=2)) == pytest.approx(niqe(gray), abs=1e-12)


def test_offset_invariance_of_float_input(clean: np.ndarray) -> None:
    gray = clean[:, :, 0].astype(np.float64)
    assert niqe(gray + 20.0) == pytest.approx(niqe(gray), abs=1e-6)


def test_too_small_and_flat_images_raise() -> None:
    with pytest.raises(InputError, match="too small"):
        niqe(np.zeros((95, 400, 3), np.uint8))
    with pytest.raises(InputError, match="undefined"):
        niqe(np.full((96, 96), 7.0))


# --- an independent, straightforward re-computation on one 96x96 block -------------------

_ALPHAS = [0.2 + 0.001 * k for k in range(9801)]
_RATIOS = [math.gamma(2 / a) ** 2 / (math.gamma(1 / a) * math.gamma(3 / a)) for a in _ALPHAS]


def _direct_mscn(x: np.ndarray) -> np.ndarray:
    """Pixel by pixel: 7x7 Gaussian (sigma 7/6) with clamped indices, C = 1."""
    h, w = x.shape
    offs = np.arange(-3, 4)
    win = np.exp(-(offs[:, None] ** 2 + offs[None, :] ** 2) / (2 * (7 / 6) ** 2))
    win /= win.sum()
    out = np.empty_like(x)
    for r in range(h):
        rows = np.clip(r + offs, 0, h - 1)
        for c in range(w):
            patch = x[np.ix_(rows, np.clip(c + offs, 0, w - 1))]
            mu = float((win * patch).sum())
            var = float((win * patch * patch).sum()) - mu * mu
            out[r, c] = (x[r, c] - mu) / (math.sqrt(abs(var)) + 1)
    return out


def _direct_aggd(v: np.ndarray) -> tuple[float, float, float]:
    vals = [float(t) for t in v.ravel()]
    neg = [t * t for t in vals if t < 0]
    pos = [t * t for t in vals if t > 0]
    left, right = math.sqrt(sum(neg) / len(neg)), math.sqrt(sum(pos) / len(pos))
    g = left / right
    r = (sum(abs(t) for t in vals) / len(vals)) ** 2 / (sum(t * t for t in vals) / len(vals))
    rn = r * (g ** 3 + 1) * (g + 1) / (g ** 2 + 1) ** 2
    errs = [(q - rn) ** 2 for q in _RATIOS]
    alpha = _ALPHAS[errs.index(min(errs))]
    s = math.sqrt(math.gamma(1 / alpha) / math.gamma(3 / alpha))
    return alpha, left * s, right * s


def _direct_features(block: np.ndarray) -> list[float]:
    h, w = block.shape
    a, bl, br = _direct_aggd(block)
    feats = [a, (bl + br) / 2]
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):  # MATLAB circshift offsets
        shifted = np.array([[block[(r - dr) % h, (c - dc) % w] for c in range(w)]
                            for r in range(h)])
        a, bl, br = _direct_aggd(block * shifted)
        feats += [a, (br - bl) * math.gamma(2 / a) / math.gamma(1 / a), bl, br]
    return feats


def test_mscn_and_features_match_direct_computation() -> None:
    gray = natural_image(96, 96, seed=3)[:, :, 0].astype(np.float64)
    coeffs = mscn(gray)
    np.testing.assert_allclose(coeffs, _direct_mscn(gray), atol=1e-10)
    np.testing.assert_allclose(block_features(coeffs), _direct_features(coeffs), rtol=1e-9)

    small = imresize(gray, 0.5)
    direct = np.array(_direct_features(_direct_mscn(gray))
                      + _direct_features(_direct_mscn(small)))
    np.testing.assert_allclose(niqe_features(gray)[0], direct, rtol=1e-8, atol=1e-12)

    # one block: MATLAB's covariance of a single observation is zero
    mu_p, cov_p = pristine_model()
    d = mu_p - direct
    expected = math.sqrt(d @ np.linalg.pinv(cov_p / 2) @ d)
    assert niqe(gray) == pytest.approx(expected, rel=1e-8)

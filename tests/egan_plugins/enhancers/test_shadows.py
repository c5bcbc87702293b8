"""The shadow colour correction of very dark photos (``gan``'s whole-frame finish)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from egan_core import load_enhancer
from egan_core.scenes import dark_scene
from egan_plugins.enhancers import shadows
from egan_plugins.enhancers.shadows import finish_shadows, gate
from egan_plugins.networks.fast_grid import box_blur


def chroma(t: torch.Tensor) -> torch.Tensor:
    """(Cb, Cr) as (B - Y, R - Y), BT.601."""
    lum = shadows._luma(t)
    return torch.cat([t[:, 2:3] - lum, t[:, 0:1] - lum], 1)


def speckle(t: torch.Tensor) -> float:
    """Mean high-pass deviation of the chroma (what a 5x5 box removes)."""
    c = chroma(t)
    return float((c - shadows._box(c, 2)).abs().mean())


def very_dark(seed: int = 0, size: tuple[int, int] = (96, 128), level: float = 3 / 255) -> torch.Tensor:
    """A near-black input with per-channel sensor noise and 8-bit quantisation."""
    g = torch.Generator().manual_seed(seed)
    x = level + torch.randn((1, 3, *size), generator=g) * (1.5 / 255)
    return (x.clamp(0, 1) * 255).round() / 255


def test_gate_follows_the_photos_mean_brightness() -> None:
    assert gate(torch.full((1, 3, 8, 8), 0.01)) == 1.0
    assert gate(torch.full((1, 3, 8, 8), 0.04)) == pytest.approx(0.5, abs=1e-5)
    assert gate(torch.full((1, 3, 8, 8), 0.06)) == 0.0


def test_photos_brighter_than_the_gate_are_returned_as_they_are() -> None:
    x = torch.full((2, 3, 16, 16), 0.2)
    y = torch.rand(2, 3, 16, 16)
    assert finish_shadows(x, y) is y


def test_bands_equal_one_whole_frame_pass() -> None:
    torch.manual_seed(0)
    height = 2 * shadows.BAND + 37  # three bands, the last a short one
    x = torch.rand(1, 3, height, 40) * 0.02
    y = torch.rand(1, 3, height, 40)
    whole = shadows._correct(x, y, 1.0)
    assert (finish_shadows(x, y) - whole).abs().max() < 1e-5


def test_bands_without_their_halo_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    """The band test above can fail: with too little context the seams show."""
    torch.manual_seed(0)
    x = torch.rand(1, 3, shadows.BAND + 40, 40) * 0.02
    y = torch.rand(1, 3, shadows.BAND + 40, 40)
    whole = shadows._correct(x, y, 1.0)
    monkeypatch.setattr(shadows, "HALO", 4)
    assert (finish_shadows(x, y) - whole).abs().max() > 1e-3


def test_the_box_filter_is_the_same_on_every_device_path() -> None:
    """OpenCV's (the CPU's) and the pooling one (other devices) agree, edges included."""
    torch.manual_seed(1)
    t = torch.rand(1, 6, 37, 29)
    for radius in (3, 8):
        assert (shadows._box(t, radius) - box_blur(t, radius)).abs().max() < 1e-5
    assert shadows._box(t[:, :1], 4).shape == (1, 1, 37, 29)


def test_luma_is_kept_up_to_black_and_white() -> None:
    x = very_dark()
    for y in ((x * 25).clamp(0, 0.8) + 0.1, (x * 60).clamp(0, 1)):  # the second reaches 0 and 1
        out = finish_shadows(x, y)
        assert (shadows._luma(out) - shadows._luma(y)).abs().max() < 1e-5
        assert out.min() >= 0 and out.max() <= 1


def test_colour_speckle_is_removed_where_the_input_was_dark() -> None:
    x = very_dark(1)
    y = (x * 25).clamp(0, 1)  # the gain brings the input's noise up with it
    before, after = speckle(y), speckle(finish_shadows(x, y))
    assert after < 0.5 * before


def test_an_invented_tint_goes_and_the_inputs_own_colour_stays() -> None:
    neutral = torch.full((1, 3, 64, 64), 2 / 255)
    purple = torch.tensor([0.30, 0.22, 0.32]).view(1, 3, 1, 1).expand(1, 3, 64, 64).clone()
    tint_before = chroma(purple).abs().mean()
    tint_after = chroma(finish_shadows(neutral, purple)).abs().mean()
    assert tint_after < 0.2 * tint_before

    warm = torch.tensor([5 / 255, 3 / 255, 1 / 255]).view(1, 3, 1, 1).expand(1, 3, 64, 64).clone()
    grey = torch.full((1, 3, 64, 64), 0.3)  # the generator lost the warm colour
    out = finish_shadows(warm, grey)
    cb, cr = chroma(out).mean(dim=(0, 2, 3)).tolist()
    assert cr > 0.02 and cb < -0.02  # red above luma, blue below: warm again


def test_gan_applies_it_by_default_and_can_be_turned_off() -> None:
    x = np.clip(very_dark(2, (64, 64))[0].permute(1, 2, 0).numpy() * 255 + 0.5, 0, 255).astype(np.uint8)
    on = load_enhancer("gan", device="cpu")(x)
    off = load_enhancer("gan:shadow_chroma=false", device="cpu")(x)
    assert np.abs(on.astype(int) - off).max() > 2
    on_t = torch.from_numpy(on).permute(2, 0, 1)[None].float() / 255
    off_t = torch.from_numpy(off).permute(2, 0, 1)[None].float() / 255
    assert speckle(on_t) < speckle(off_t)


def test_gan_leaves_ordinary_dark_photos_exactly_as_the_generator_made_them() -> None:
    scene = np.clip(dark_scene(96, 64, seed=3).astype(int) * 2, 0, 255).astype(np.uint8)
    assert scene.mean() / 255 > shadows.GATE[1]
    on = load_enhancer("gan", device="cpu")(scene)
    off = load_enhancer("gan:shadow_chroma=false", device="cpu")(scene)
    assert np.array_equal(on, off)


def test_gan_in_tiles_equals_gan_on_the_whole_frame() -> None:
    x = np.clip(very_dark(4, (160, 200))[0].permute(1, 2, 0).numpy() * 255 + 0.5, 0, 255).astype(np.uint8)
    whole = load_enhancer("gan", device="cpu", tile=0)(x)
    tiled = load_enhancer("gan", device="cpu", tile=96)(x)
    assert np.abs(whole.astype(int) - tiled).max() <= 1

"""The augmentation primitives: zoom per sample, crop, flips, upscaling, darkening."""

from __future__ import annotations

import random

import torch

from egan_plugins.data.transforms import (
    ZOOM_FACTORS,
    apply_params,
    augment,
    covering_size,
    maybe_darken,
    sample_params,
)


def test_zoom_is_drawn_per_sample_from_the_fork_factors() -> None:
    sizes = {sample_params(random.Random(i), 50, 70, 256, zoom=True, flip=True).resize
             for i in range(60)}
    expected = {(round(400 * z), round(600 * z)) for z in ZOOM_FACTORS}
    assert sizes == expected


def test_crop_offsets_stay_inside_and_cover_the_range() -> None:
    tops, lefts = set(), set()
    for i in range(400):
        p = sample_params(random.Random(i), 40, 50, 32, zoom=False, flip=False)
        assert p.resize is None and not p.hflip and not p.vflip
        assert 0 <= p.top <= 8 and 0 <= p.left <= 18
        tops.add(p.top)
        lefts.add(p.left)
    assert tops == set(range(9)) and lefts == set(range(19))


def test_flips_happen_about_half_the_time() -> None:
    params = [sample_params(random.Random(i), 32, 32, 32, False, True) for i in range(400)]
    h = sum(p.hflip for p in params) / 400
    v = sum(p.vflip for p in params) / 400
    assert 0.4 < h < 0.6 and 0.4 < v < 0.6


def test_apply_params_crops_and_flips_exactly() -> None:
    img = torch.arange(3 * 6 * 8, dtype=torch.float32).reshape(3, 6, 8)
    p = sample_params(random.Random(3), 6, 8, 4, False, True)
    out = apply_params(img, p)
    ref = img[:, p.top:p.top + 4, p.left:p.left + 4]
    if p.hflip:
        ref = ref.flip(2)
    if p.vflip:
        ref = ref.flip(1)
    assert torch.equal(out, ref)


def test_small_images_are_upscaled_keeping_aspect() -> None:
    assert covering_size(20, 40, 32) == (32, 64)
    assert covering_size(100, 40, 32) == (100, 40)
    out = augment(torch.rand(3, 20, 40), random.Random(0), 32, zoom=False, flip=True)
    assert out.shape == (3, 32, 32) and 0 <= out.min() and out.max() <= 1


def test_darkening_divides_by_two_to_four_half_the_time() -> None:
    img = torch.full((3, 4, 4), 0.8)
    factors = []
    for i in range(300):
        out = maybe_darken(img, random.Random(i), enabled=True)
        factors.append(float(img[0, 0, 0] / out[0, 0, 0]))
        assert torch.equal(maybe_darken(img, random.Random(i), enabled=False), img)
    darkened = [f for f in factors if f != 1.0]
    assert 0.4 < len(darkened) / 300 < 0.6
    assert min(darkened) >= 2.0 - 1e-5 and max(darkened) <= 4.0 + 1e-5

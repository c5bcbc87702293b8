"""The one padding implementation: amounts, reflection (replication on tiny images), crop."""

from __future__ import annotations

import pytest
import torch

from egan_core.padding import crop, pad, pads_for, smallest_traced_side


@pytest.mark.parametrize(("height", "width", "multiple", "expected"), [
    (32, 48, 16, (0, 0, 0, 0)),
    (33, 47, 16, (0, 1, 7, 8)),  # the odd pixel goes right / bottom
    (5, 7, 1, (0, 0, 0, 0)),
    (10, 3, 4, (0, 1, 1, 1)),
])
def test_pads_bring_both_sides_to_the_multiple(height: int, width: int, multiple: int,
                                               expected: tuple[int, int, int, int]) -> None:
    pads = pads_for(height, width, multiple)
    assert pads == expected
    left, right, top, bottom = pads
    assert (height + top + bottom) % multiple == 0 and (width + left + right) % multiple == 0


def test_pad_reflects_and_crop_undoes_it() -> None:
    x = torch.arange(2 * 3 * 9 * 11, dtype=torch.float32).reshape(2, 3, 9, 11)
    pads = pads_for(9, 11, 8)
    padded = pad(x, pads)
    assert padded.shape[-2:] == (16, 16)
    left, _, top, _ = pads
    # reflection: the row above the image is the image's second row, not a copy of its first
    assert torch.equal(padded[..., top - 1, left:left + 11], x[..., 1, :])
    assert torch.equal(crop(padded, pads, 9, 11), x)


def test_images_too_small_to_reflect_are_replicated() -> None:
    x = torch.rand(1, 1, 2, 3)
    padded = pad(x, pads_for(2, 3, 16))
    assert padded.shape[-2:] == (16, 16)
    assert torch.equal(padded[..., 0, 0], x[..., 0, 0])  # the corner pixel, replicated
    assert smallest_traced_side(16) == 32

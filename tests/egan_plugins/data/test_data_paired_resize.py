"""``paired`` with ``resize: true``: whole pairs squashed to size x size, nothing cropped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from egan_core.errors import RecipeError
from egan_plugins.data import PairedDataset
from egan_plugins.data.transforms import resize


def _pairs(root: Path, sizes: list[tuple[int, int]]) -> Path:
    """low/<i>.png of the given (height, width); high/<i>.png its colour inverse."""
    for folder in ("low", "high"):
        (root / folder).mkdir(parents=True)
    for i, (h, w) in enumerate(sizes):
        rgb = np.random.default_rng(i).integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(root / "low" / f"{i}.png")
        Image.fromarray(255 - rgb).save(root / "high" / f"{i}.png")
    return root


@pytest.mark.parametrize("cache", [False, True])
def test_whole_pairs_are_resized_not_cropped(tmp_path: Path, cache: bool) -> None:
    root = _pairs(tmp_path, [(30, 70), (90, 40)])
    ds = PairedDataset(root=str(root), size=32, resize=True, flip=False, cache=cache)
    assert ds.num_upscaled == 0  # no crop, so no "smaller than the crop" warning
    for i in range(len(ds)):
        for _ in range(2):  # the second read comes from the cache when enabled
            item = ds[i]
            assert item["input"].shape == item["normal"].shape == (3, 32, 32)
            low = torch.from_numpy(np.asarray(Image.open(root / "low" / f"{i}.png")).copy())
            expected = resize(low.permute(2, 0, 1).float() / 255, 32, 32) * 2 - 1
            torch.testing.assert_close(item["input"], expected, atol=2 / 255, rtol=0)
            # target resized the same way: still the inverse of the input
            torch.testing.assert_close(item["normal"], -item["input"], atol=3 / 255, rtol=0)


def test_flips_are_shared_and_resize_excludes_zoom(tmp_path: Path) -> None:
    root = _pairs(tmp_path, [(30, 70)])
    ds = PairedDataset(root=str(root), size=16, resize=True, seed=3)
    for epoch in range(4):
        ds.set_epoch(epoch)
        item = ds[0]
        torch.testing.assert_close(item["normal"], -item["input"], atol=3 / 255, rtol=0)
    with pytest.raises(RecipeError, match="zoom"):
        PairedDataset(root=str(root), size=16, resize=True, zoom=True)

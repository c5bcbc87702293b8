"""No-reference validation data (``noref``): a folder of low-light photos without targets.

Real low-light photos rarely come with well-lit targets, so PSNR cannot say whether an
unpaired GAN is learning; NIQE and the mean brightness of the generator's output on a few
fixed held-out photos can. Only valid under ``validation:`` (images keep their own aspect
ratio, so they cannot be batched for training).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from egan_core.errors import RecipeError
from egan_plugins.data.base import EpochDataset, make_sample
from egan_plugins.data.folders import DatasetFolderError, check_root
from egan_plugins.data.io import IMAGE_EXTENSIONS, list_images, read_image


def shrink(image: torch.Tensor, max_side: int) -> torch.Tensor:
    """``(3, H, W)`` downscaled (antialiased) so its longest side is at most ``max_side``."""
    h, w = image.shape[-2:]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    out = F.interpolate(image.unsqueeze(0), size=size, mode="bilinear", antialias=True,
                        align_corners=False)
    return out.squeeze(0).clamp(0, 1)


class NoRefDataset(EpochDataset):
    """The first ``images`` photos (sorted by path) under ``root``, downscaled, no targets.

    Items follow the datasets contract with ``low``, ``input`` and ``normal`` all the same
    image; :attr:`reference` is False so validation scores them with NIQE and brightness.

    Args:
        root: folder of low-light images (searched recursively).
        images: how many photos to score (few keep validation cheap enough to leave on).
        max_side: longest side after downscaling, in pixels (NIQE needs 96 px blocks).
        grid: how many of them appear in the sample grid (0 = no grid).
        seed: injected by the engine (unused: the selection is fixed).
        section: injected: the recipe block this dataset sits in, named in errors.
    """

    reference = False

    def __init__(self, root: str = "data", images: int = 8, max_side: int = 256, grid: int = 4,
                 seed: int = 0, section: str = "validation") -> None:
        super().__init__(seed)
        if section != "validation":
            raise RecipeError(f"{section}.dataset: 'noref' has no targets and only scores a"
                              " generator; use it under validation: and train on another dataset")
        for key, value, low in (("images", images, 1), ("max_side", max_side, 96), ("grid", grid, 0)):
            if value < low:
                raise RecipeError(f"{section}.{key} must be at least {low}, got {value}")
        self.root = check_root(root, "low-light images", section)
        paths = list_images([self.root])
        if not paths:
            raise DatasetFolderError(
                f"validation folder '{self.root}' holds no images"
                f" ({' '.join(sorted(IMAGE_EXTENSIONS))}); add images or fix {section}.root"
            )
        self.paths: list[Path] = paths[:images]
        self.max_side, self.grid = int(max_side), min(int(grid), len(self.paths))
        self._images: dict[int, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, index: int) -> torch.Tensor:
        """Photo ``index`` as ``(3, H, W)`` in [0, 1], downscaled (decoded once, then cached)."""
        index = self._check_index(index)
        if index not in self._images:
            self._images[index] = shrink(read_image(self.paths[index]), self.max_side)
        return self._images[index]

    def __getitem__(self, index: int) -> dict[str, Any]:
        img = self.image(index)
        path = self.paths[self._check_index(index)]
        return make_sample(img, img, img, path, path)

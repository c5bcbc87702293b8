"""Low-light images alone (``lowlight``): one folder, no pairs, for zero-reference training."""

from __future__ import annotations

from typing import Any

from egan_core.errors import RecipeError
from egan_plugins.data.base import EpochDataset, make_sample, warn_small_images
from egan_plugins.data.folders import DatasetFolderError, check_root
from egan_plugins.data.io import list_images, read_image
from egan_plugins.data.transforms import CropParams, apply_params, resize, sample_params


class LowLightDataset(EpochDataset):
    """Every image under ``root`` (recursively) as a training sample of its own.

    Zero-DCE, Zero-DCE++ and SCI learn from low-light images alone, so ``low``, ``input``
    and ``normal`` are the same image (nothing is darkened; no loss should read
    ``normal`` as a target).

    Args:
        root: the folder of images.
        size: side of the square sample; ``None`` keeps whole images (batch size 1
            unless they share one size, as SCI trains).
        resize: resize the whole image to ``size x size`` (bicubic, antialiased) as the
            Zero-DCE training scripts do; ``false``: a random ``size`` crop instead.
        flip: random horizontal and vertical flips (the official scripts use none).
        seed: injected by the engine.
        section: injected: the recipe block this dataset sits in, for error messages.
    """

    def __init__(self, root: str = "data", size: int | None = 256, resize: bool = True,
                 flip: bool = False, seed: int = 0, section: str = "data") -> None:
        super().__init__(seed)
        if size is not None and size < 1:
            raise RecipeError(f"{section}.size must be at least 1, got {size}")
        self.root = check_root(root, "low-light images", section)
        self.size, self.resize, self.flip = size, resize, flip
        self.paths = list_images([self.root])
        if not self.paths:
            raise DatasetFolderError(f"no images in '{self.root}' (looked recursively for image "
                                     f"files); set {section}.root to a folder of low-light images")
        if size is not None and not resize:
            warn_small_images(self.paths, size, False, f"'{self.root}'")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self._check_index(index)
        rng = self.item_rng(index)
        path = self.paths[index]
        img = read_image(path)
        if self.size is not None and self.resize:
            img = resize(img, self.size, self.size)
        if self.size is None or self.resize:
            flips = (rng.random() < 0.5, rng.random() < 0.5)
            params = CropParams(None, 0, 0, None, self.flip and flips[0], self.flip and flips[1])
        else:
            params = sample_params(rng, *img.shape[-2:], self.size, False, self.flip)
        img = apply_params(img, params)
        return make_sample(img, img, img, path, path)

"""Reading training images through egan's one reader (:mod:`egan_core.imageio`), as tensors.

Any format PIL reads, EXIF orientation applied, 16-bit precision kept, any mode; the same
pixels ``egan enhance`` and ``egan eval`` see.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from egan_core import imageio
from egan_core.imageio import IMAGE_EXTENSIONS, image_size, is_image

__all__ = ["IMAGE_EXTENSIONS", "image_size", "is_image", "list_images", "read_image"]


def list_images(folders: Iterable[Path]) -> list[Path]:
    """Image files under ``folders`` (recursively, hidden files skipped), sorted, unique."""
    found: set[Path] = set()
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and is_image(path) and not path.name.startswith("."):
                found.add(path)
    return sorted(found)


def read_image(path: Path | str) -> torch.Tensor:
    """Read an image file as a ``(3, H, W)`` float32 RGB tensor in [0, 1], upright per its EXIF.

    Raises:
        InputError: the file is missing, truncated or not an image; the message names it.
    """
    array = imageio.read_image(path)
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).contiguous()

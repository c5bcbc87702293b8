"""What every built-in dataset shares: per-item RNG, the sample dict, size checks."""

from __future__ import annotations

import random
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from egan_core.errors import InputError
from egan_core.generator_io import to_model_range
from egan_plugins.data.io import image_size
from egan_plugins.data.transforms import needs_upscale


class EpochDataset(Dataset):
    """A dataset whose sample ``i`` of epoch ``e`` is a pure function of ``(seed, e, i)``.

    Each item draws from its own :class:`random.Random`, so the result does not depend on
    the number of DataLoader workers, their start method or the order items are read in.
    Call :meth:`set_epoch` before each epoch (with persistent workers, recreate them).
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose samples the next reads return."""
        self.epoch = int(epoch)

    def item_rng(self, index: int) -> random.Random:
        """The random source of item ``index`` in the current epoch."""
        return random.Random(f"{self.seed}:{self.epoch}:{index}")

    def _check_index(self, index: int) -> int:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} items")
        return index % n


def make_sample(
    low: torch.Tensor, model_input: torch.Tensor, normal: torch.Tensor,
    low_path: Path | str, normal_path: Path | str,
) -> dict[str, Any]:
    """The dataset contract's dict, images converted from [0, 1] to [-1, 1]."""
    return {
        "low": to_model_range(low),
        "input": to_model_range(model_input),
        "normal": to_model_range(normal),
        "low_path": str(low_path),
        "normal_path": str(normal_path),
    }


def warn_small_images(paths: Sequence[Path], size: int, zoom: bool, what: str) -> int:
    """Count images smaller than the crop (they get upscaled) and warn once with the count.

    Reads headers only; a file whose header cannot be read is left for the training
    loop, which skips unreadable images and names them. Returns the count.
    """
    small = [p for p in paths if _smaller(p, size, zoom)]
    if small:
        warnings.warn(
            f"{len(small)} of {len(paths)} images in {what} are smaller than the {size}px crop"
            f" and will be upscaled (first: '{small[0]}')",
            UserWarning,
            stacklevel=3,
        )
    return len(small)


def _smaller(path: Path, size: int, zoom: bool) -> bool:
    try:
        return needs_upscale(*image_size(path), size, zoom)
    except InputError:
        return False

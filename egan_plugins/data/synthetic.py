"""Embedded data (``synthetic``): procedural scenes, no files needed (tests, smoke runs)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from egan_core.errors import RecipeError
from egan_plugins.data.base import EpochDataset
from egan_plugins.data.scenes import degrade_low_light, render_scene
from egan_plugins.data.transforms import maybe_darken

_MASK = 2**64 - 1


class SyntheticDataset(EpochDataset):
    """Unpaired synthetic data: well-exposed scenes as the normal side, low-light
    renderings of *other* scenes as the low side.

    Item ``i`` of epoch ``e`` is generated from ``(seed, e, i)`` alone, so every epoch
    brings new scenes and any worker count gives the same data.

    Args:
        size: side of the square images.
        length: items per epoch.
        darken: with p = 0.5 the generator input is the low image divided by 2.00..4.00.
        flip: random horizontal and vertical flips (each side independently).
        seed: injected by the engine.
        section: injected: the recipe block this dataset sits in, named in errors.
    """

    def __init__(self, size: int = 128, length: int = 256, darken: bool = True,
                 flip: bool = True, seed: int = 0, section: str = "data") -> None:
        super().__init__(seed)
        if size < 8:
            raise RecipeError(f"{section}.size must be at least 8, got {size}")
        if length < 1:
            raise RecipeError(f"{section}.length must be at least 1, got {length}")
        self.size, self.length, self.darken, self.flip = int(size), int(length), darken, flip

    def __len__(self) -> int:
        return self.length

    def _generator(self, index: int, stream: int) -> np.random.Generator:
        key = [self.seed & _MASK, self.epoch & _MASK, index, stream]
        return np.random.default_rng(np.random.SeedSequence(key))

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self._check_index(index)
        rng = self.item_rng(index)
        normal = render_scene(self._generator(index, 0), self.size)
        low_gen = self._generator(index, 1)
        low = self._flip(degrade_low_light(render_scene(low_gen, self.size), low_gen), rng)
        normal = self._flip(normal, rng)
        model_input = maybe_darken(low, rng, self.darken)
        where = f"synthetic:seed={self.seed}/epoch={self.epoch}/item={index}"
        return {
            "low": _to_model(low),
            "input": _to_model(model_input),
            "normal": _to_model(normal),
            "low_path": f"{where}/low",
            "normal_path": f"{where}/normal",
        }

    def _flip(self, img: np.ndarray, rng: random.Random) -> np.ndarray:
        hflip, vflip = rng.random() < 0.5, rng.random() < 0.5
        if self.flip and hflip:
            img = img[:, ::-1]
        if self.flip and vflip:
            img = img[::-1]
        return img


def _to_model(img: np.ndarray) -> torch.Tensor:
    """HxWx3 [0, 1] -> (3, H, W) [-1, 1], computed in numpy (no intra-op threads)."""
    return torch.from_numpy(np.ascontiguousarray((img * 2.0 - 1.0).transpose(2, 0, 1)))

"""EnlightenGAN's unpaired data (``unpaired``) and the fork's per-object variant
(``object_paired``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from egan_core.errors import RecipeError
from egan_plugins.data.base import EpochDataset, make_sample, warn_small_images
from egan_plugins.data.folders import check_root, find_object_dirs, find_sides, images_of
from egan_plugins.data.io import read_image
from egan_plugins.data.transforms import augment, maybe_darken


class UnpairedDataset(EpochDataset):
    """Low-light images from ``root/train_A`` and normal-light ones from ``root/train_B``.

    Item ``i`` pairs low image ``i % len(A)`` with a normal image drawn at random (the
    original picks a random B for each A); the length is the larger side's.

    Args:
        root: folder holding ``train_A/`` and ``train_B/`` (or ``trainA/``, ``trainB/``).
        size: side of the square random crop (images smaller than it are upscaled).
        zoom: the fork's bicubic resize to 400z x 600z (z per sample in 1.0..1.4) first.
        darken: with p = 0.5 the generator input is the crop divided by 2.00..4.00.
        flip: random horizontal and vertical flips (p = 0.5 each, A and B independent).
        seed: injected by the engine (the recipe's seed).
        section: injected: the recipe block this dataset sits in, named in errors.
    """

    def __init__(self, root: str = "data", size: int = 320, zoom: bool = False,
                 darken: bool = True, flip: bool = True, seed: int = 0,
                 section: str = "data") -> None:
        super().__init__(seed)
        if size < 1:
            raise RecipeError(f"{section}.size must be at least 1, got {size}")
        self.root = check_root(root, self._wanted(), section)
        self.size, self.zoom, self.darken, self.flip = int(size), zoom, darken, flip
        a_dirs, b_dirs = self._side_dirs()
        self.a_paths: list[Path] = images_of(a_dirs, "A", section)
        self.b_paths: list[Path] = images_of(b_dirs, "B", section)
        self.num_upscaled = warn_small_images(
            self.a_paths + self.b_paths, self.size, self.zoom, f"'{self.root}'"
        )

    def _wanted(self) -> str:
        return "train_A/ and train_B/"

    def _side_dirs(self) -> tuple[list[Path], list[Path]]:
        sides = find_sides(self.root)
        return [sides["A"]], [sides["B"]]

    def __len__(self) -> int:
        return max(len(self.a_paths), len(self.b_paths))

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self._check_index(index)
        rng = self.item_rng(index)
        a_path = self.a_paths[index % len(self.a_paths)]
        b_path = self.b_paths[rng.randrange(len(self.b_paths))]
        low = augment(read_image(a_path), rng, self.size, self.zoom, self.flip)
        normal = augment(read_image(b_path), rng, self.size, self.zoom, self.flip)
        model_input = maybe_darken(low, rng, self.darken)
        return make_sample(low, model_input, normal, a_path, b_path)


class ObjectPairedDataset(UnpairedDataset):
    """The fork's object-context data: ``train_A/<object>/`` and ``train_B/<object>/``.

    The object folder may be named by any spelling of the object in the objects registry
    (``person/`` counts as ``people``), case-insensitively.

    Args:
        root: folder holding ``train_A/`` and ``train_B/`` (or ``trainA/``, ``trainB/``).
        object: a registered object name or alias (``car``, ``person``...).
        size: side of the square random crop.
        zoom: bicubic resize to 400z x 600z (z per sample) before the crop.
        darken: with p = 0.5 the generator input is the crop divided by 2.00..4.00.
        flip: random horizontal and vertical flips.
        seed: injected by the engine.
        section: injected: the recipe block this dataset sits in, named in errors.
    """

    def __init__(self, root: str = "data", object: str = "car", size: int = 320,
                 zoom: bool = False, darken: bool = True, flip: bool = True,
                 seed: int = 0, section: str = "data") -> None:
        from egan_core import get_registries

        self.spec = get_registries().find_object(object)
        self.object = self.spec.name
        super().__init__(root=root, size=size, zoom=zoom, darken=darken, flip=flip, seed=seed,
                         section=section)

    def _wanted(self) -> str:
        return f"train_A/{self.object}/ and train_B/{self.object}/"

    def _side_dirs(self) -> tuple[list[Path], list[Path]]:
        sides = find_sides(self.root)
        return find_object_dirs(sides["A"], self.spec), find_object_dirs(sides["B"], self.spec)

"""Paired data (``paired``): input and target images matched by file stem (LOL-style)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from egan_core.errors import RecipeError
from egan_plugins.data.base import EpochDataset, make_sample, warn_small_images
from egan_plugins.data.folders import DatasetFolderError, check_root
from egan_plugins.data.io import list_images, read_image
from egan_plugins.data.transforms import CropParams, apply_params, resize, sample_params

SPLITS = ("train", "holdout")


def _by_stem(folder: Path) -> dict[str, Path]:
    """Images under ``folder`` keyed by relative path without suffix (first one wins)."""
    out: dict[str, Path] = {}
    for path in list_images([folder]):
        out.setdefault(path.relative_to(folder).with_suffix("").as_posix(), path)
    return out


def _repeats(repeat: Any, keys: list[str], section: str) -> Callable[[str], int]:
    """``times(key)``: how often the pair ``key`` is listed, from ``{sub-folder: times}``."""
    if not isinstance(repeat, dict):
        raise RecipeError(f"{section}.repeat must be a mapping {{sub-folder: times}}, got {repeat!r}")
    repeat = {str(folder).strip("/"): times for folder, times in repeat.items()}
    for folder, times in repeat.items():
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise RecipeError(f"{section}.repeat.{folder} must be a whole number >= 1, got {times!r}")
        if not any(k.startswith(f"{folder}/") for k in keys):
            raise RecipeError(f"{section}.repeat names '{folder}', but no {section} pair is in a"
                              " sub-folder of that name; use a folder under the input folder")

    def times(key: str) -> int:
        return max((n for folder, n in repeat.items() if key.startswith(f"{folder}/")), default=1)

    return times


class PairedDataset(EpochDataset):
    """Aligned pairs ``root/<input_dir>/x.*`` and ``root/<target_dir>/x.*``.

    Both images get the same zoom, crop and flips (a target of another size is first
    resized to the input's); nothing is darkened, so ``low`` and ``input`` are the same
    crop and ``normal`` is the aligned target.

    Args:
        root: folder holding the two image folders.
        input_dir: low-light folder name under ``root``.
        target_dir: normal-light folder name under ``root``.
        size: side of the square random crop (smaller images are upscaled); ``None``
            keeps whole images (flips still apply), for validation with batches of 1.
        zoom: bicubic resize to 400z x 600z (z per sample) before the crop.
        resize: instead of cropping, resize each whole pair to ``size x size`` (bicubic,
            antialiased; aspect not kept): for generators whose decisions depend on the whole
            frame (``fast_grid`` sees every image squashed to a fixed square), so that
            training shows them what inference does rather than a crop's context.
        flip: random horizontal and vertical flips (the same for input and target).
        holdout: stems kept out of training (for evaluation).
        split: ``train`` (every stem but the holdout ones) or ``holdout`` (only those).
        cache: keep decoded pairs in memory (8-bit, per process): small sets of large
            photos then cost one decode each instead of one per sample.
        repeat: ``{sub-folder: times}``: the pairs under ``<input_dir>/<sub-folder>/`` are
            listed that many times per epoch (each draw with its own flips), so that a
            small set that matters more (the `fast` model's official EnlightenGAN pairs
            among many teacher-labelled ones) weighs more in the loss. Cached pairs are
            decoded once however often they repeat.
        seed: injected by the engine.
        section: injected: the recipe block this dataset sits in (``data`` or
            ``validation``), so errors name the keys as the recipe wrote them.
    """

    def __init__(self, root: str = "data", input_dir: str = "low", target_dir: str = "high",
                 size: int | None = 320, zoom: bool = False, flip: bool = True,
                 holdout: tuple[str, ...] = (), split: str = "train", cache: bool = False,
                 seed: int = 0, section: str = "data", resize: bool = False,
                 repeat: dict[str, int] | None = None) -> None:
        super().__init__(seed)
        if split not in SPLITS:
            raise RecipeError(f"{section}.split must be one of {', '.join(SPLITS)}, got '{split}'")
        if size is not None and size < 1:
            raise RecipeError(f"{section}.size must be at least 1, got {size}")
        self.root = check_root(root, f"{input_dir}/ and {target_dir}/", section)
        self.size = None if size is None else int(size)
        self.zoom, self.flip, self.split = zoom, flip, split
        self.resize = resize and self.size is not None
        if self.resize and zoom:
            raise RecipeError(f"{section}.resize and {section}.zoom exclude each other")
        self.cache = cache
        self._decoded: dict[Path, tuple[torch.Tensor, torch.Tensor]] = {}
        folders = [self.root / input_dir, self.root / target_dir]
        for folder in folders:
            if not folder.is_dir():
                raise DatasetFolderError(
                    f"paired data needs '{folder}' (looked in '{self.root}' for {input_dir}/"
                    f" and {target_dir}/); set {section}.input_dir / {section}.target_dir"
                )
        inputs, targets = _by_stem(folders[0]), _by_stem(folders[1])
        common = sorted(set(inputs) & set(targets))
        held = set(holdout)
        keep = [k for k in common if (k in held or Path(k).name in held) == (split == "holdout")]
        if not keep:
            raise DatasetFolderError(
                f"no {split} pairs in '{folders[0]}' and '{folders[1]}' ({len(inputs)} inputs,"
                f" {len(targets)} targets, {len(common)} matched by file stem,"
                f" {len(held)} held out)"
            )
        unmatched = len(set(inputs) ^ set(targets))
        if unmatched:
            warnings.warn(f"{unmatched} images in '{folders[0]}' / '{folders[1]}' have no"
                          " partner with the same file stem and are ignored", UserWarning,
                          stacklevel=2)
        times = _repeats(repeat or {}, keep, section)
        self.pairs: list[tuple[Path, Path]] = [(inputs[k], targets[k]) for k in keep
                                               for _ in range(times(k))]
        self.num_upscaled = 0 if self.size is None or self.resize else warn_small_images(
            [p for p, _ in self.pairs], self.size, self.zoom, f"'{folders[0]}'"
        )

    def _pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Input and size-matched target in [0, 1], from the cache when enabled."""
        in_path, target_path = self.pairs[index]
        if in_path in self._decoded:
            low8, target8 = self._decoded[in_path]
            return low8.float() / 255, target8.float() / 255
        low, target = read_image(in_path), read_image(target_path)
        target = resize(target, *low.shape[-2:])
        if self.resize:  # deterministic, so done before caching
            assert self.size is not None
            low, target = resize(low, self.size, self.size), resize(target, self.size, self.size)
        if self.cache:
            self._decoded[in_path] = ((low * 255).round().to(torch.uint8),
                                    (target * 255).round().to(torch.uint8))
            return self._pair(index)
        return low, target

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self._check_index(index)
        rng = self.item_rng(index)
        in_path, target_path = self.pairs[index]
        low, target = self._pair(index)
        if self.size is None or self.resize:  # whole image: only the flips are drawn
            flips = (rng.random() < 0.5, rng.random() < 0.5)
            params = CropParams(None, 0, 0, None, self.flip and flips[0], self.flip and flips[1])
        else:
            params = sample_params(rng, *low.shape[-2:], self.size, self.zoom, self.flip)
        low, target = apply_params(low, params), apply_params(target, params)
        return make_sample(low, low, target, in_path, target_path)

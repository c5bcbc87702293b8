"""Two low-light shots of one scene (``scene_pairs``): training pairs for PairLIE.

Why: PairLIE (Fu et al., CVPR 2023) learns without any normal-light target. It sees two
*different* under-exposed shots of the *same* scene and asks the network to find one
reflectance that explains both, so every item here is such a pair, never a (low, target)
pair.

Sources (give exactly one):

- ``root: DIR`` holding sub-folders, one scene each (``1/``, ``2/``, ...): PairLIE's own
  training layout. Every image under a sub-folder is a shot of that scene.
- ``root: DIR`` holding the images themselves, flat (or ``group: content``): the files,
  in natural order (``2.jpg`` before ``10.jpg``), are split into scenes by their content,
  as multi-exposure sets such as SICE come numbered without marked sequence boundaries.
- ``pairs: FILE``: an explicit list, one scene a line: ``a.jpg b.jpg`` (two or more
  paths, quoted when they hold spaces), ``#`` starts a comment. Relative paths are taken
  from ``root`` when it is set, else from the list file's folder.

Grouping by content: each file becomes a 64 px grey thumbnail (JPEG decoded at 1/8 scale
with PIL's ``draft``, so 2,000 512 px files take about two seconds), then the signed
x and y gradients of ``log(grey + 0.05 * mean)``, flattened and scaled to unit length.
The log turns an exposure change into an added constant that the gradients remove, and the
offset relative to the mean makes it the same for every exposure while keeping the noise
of near-black shots down. The score of two files is the dot product of these vectors (a
correlation, 1 for the same structure). A file joins the scene of any of the 3 files
before it that it scores at least ``match`` with, so one blown-out or near-black shot in the
middle of a sequence does not cut it in two (many of SICE's longer sequences run a dark
shot, the bright ones, then the dark ones again, as if numbered 1, 10, 11, ..., 2, 3, ...).

``match: 0.4``, measured on the 2,002 SICE images of the Zero-DCE training set (512 px
JPEG): of 1.9 million pairs of files at least 30 apart, none scores above 0.26 but the 146
that are repeats of one scene (0.5 and up); 99.99 % score below 0.17. Neighbours across a
scene boundary score at most 0.08. Neighbours within one scene score 0.9 or more in 1,545
of 1,736 cases; 21 of the 22 below 0.5 (down to 0.32) pair a shot of mean brightness above
0.9 or below 0.05. 0.4 splits one scene at two places (scores 0.23 and 0.35,
a near-white shot next to a dark one) and keeps a margin of 0.14 over every pair of
different scenes: a split costs a few pairs, a merge would pair two scenes.

Only under-exposed shots pair: a shot whose mean (over a small thumbnail, in [0, 1], read
once when the dataset is built) is above ``max_brightness`` (default 0.35) or below
``min_brightness`` is left out, and a scene needs two shots left. The filter applies to
every source, an explicit list included (set ``max_brightness: 1`` to keep everything).

Licence: SICE (Cai et al., TIP 2018), and so the Zero-DCE training set made from it, is
for academic research use only (the copy this was measured on came under CC BY-NC 4.0);
name it wherever a model trained on it is described.
"""

from __future__ import annotations

import re
import shlex
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from egan_core.errors import InputError, RecipeError, first_line, one_line
from egan_core.generator_io import to_model_range
from egan_core.imageio import exif_orientation, orient_array, pil_to_float
from egan_plugins.data.base import EpochDataset, make_sample, warn_small_images
from egan_plugins.data.folders import DatasetFolderError, check_root
from egan_plugins.data.io import is_image, list_images, read_image
from egan_plugins.data.transforms import CropParams, apply_params, resize, sample_params

#: Side of the square grey thumbnail that brightness and structure are read from.
THUMB_SIZE = 64
#: The log offset, relative to the thumbnail's mean (exposure-invariant, damps dark noise).
LOG_OFFSET = 0.05
#: How many files back a file is compared with when grouping by content.
WINDOW = 3
GROUPINGS = ("auto", "folders", "content")


def natural_key(path: Path | str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting ``2.jpg`` before ``10.jpg``: SICE-style numbering is in sequence order
    only when the numbers compare as numbers."""
    parts = re.split(r"(\d+)", str(path).lower())
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


def thumbnail(path: Path | str, size: int = THUMB_SIZE) -> np.ndarray:
    """``(size, size, 3)`` float32 RGB in [0, 1], upright: cheap (JPEG decodes at 1/8 scale
    via ``draft``), for brightness and grouping, never for training.

    Raises:
        InputError: the file cannot be read as an image; the message names it.
    """
    try:
        with Image.open(path) as im:
            orientation = exif_orientation(im)
            im.draft("RGB", (size, size))
            array = pil_to_float(im)
    except Exception as exc:  # any decoder failure: the scan leaves the file out
        raise InputError(f"'{path}': cannot read the image ({first_line(exc)})") from exc
    array = orient_array(array, orientation)
    return cv2.resize(array, (size, size), interpolation=cv2.INTER_AREA)


def structure(thumb: np.ndarray) -> np.ndarray:
    """The exposure-invariant structure of a thumbnail: unit-length signed gradients of
    ``log(grey + 0.05 * mean)`` (zeros for a flat image, which matches nothing)."""
    grey = thumb @ np.array([0.299, 0.587, 0.114], np.float32)
    logs = np.log(grey + LOG_OFFSET * float(grey.mean()) + 1e-4)
    feature = np.concatenate([np.diff(logs, axis=1).ravel(), np.diff(logs, axis=0).ravel()])
    norm = float(np.linalg.norm(feature))
    return (feature / norm if norm > 1e-6 else np.zeros_like(feature)).astype(np.float32)


def match_score(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two :func:`structure` vectors are: 1 for one scene, about 0 for two."""
    return float(np.dot(a, b))


def group_by_content(features: Sequence[np.ndarray], match: float,
                     window: int = WINDOW) -> list[list[int]]:
    """Split files (their :func:`structure` vectors, in sequence order) into scenes.

    File ``i`` joins the scene of every file among the ``window`` before it that it scores
    at least ``match`` with (union-find), so one shot that matches neither neighbour does
    not split a sequence. Returns lists of indices in order; a scene may skip an index.
    """
    parent = list(range(len(features)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(features)):
        for j in range(max(0, i - window), i):
            if match_score(features[i], features[j]) >= match:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(features)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


class ScenePairsDataset(EpochDataset):
    """Scenes with at least two under-exposed shots; item ``i`` is two shots of scene ``i``.

    Each epoch draws two different shots of the scene and gives both the same crop and
    flips. ``low``, ``input`` and ``normal`` are the first shot, ``pair`` the second (all in
    [-1, 1]); ``low_path`` and ``normal_path`` name the first and second files. ``normal`` is
    **not** a target: PairLIE has none, and no loss should read it as one.

    Shots of one scene that differ in size: the second is resized (bicubic, antialiased) to
    the first's size before the shared crop, which keeps them aligned when one copy was
    rescaled, as multi-exposure sets sometimes are.

    Args:
        root: a folder of scene sub-folders, or a flat folder of images to group by
            content; with ``pairs``, the folder its relative paths start from.
        pairs: a list file, one scene a line (see the module docstring).
        group: ``auto`` (sub-folders when ``root`` has them, else content), ``folders``
            or ``content``.
        match: the content score (-1..1) two files need to be one scene.
        max_brightness: shots with a higher mean (in [0, 1]) are left out.
        min_brightness: shots with a lower mean are left out (black frames).
        size: side of the shared square crop (PairLIE trains on 128); ``None`` keeps whole
            images (batch size 1 unless they share one size).
        flip: random horizontal and vertical flips, the same for both shots.
        seed: injected by the engine.
        section: injected: the recipe block this dataset sits in, for error messages.
    """

    def __init__(self, root: str | None = None, pairs: str | None = None, group: str = "auto",
                 match: float = 0.4, max_brightness: float = 0.35, min_brightness: float = 0.0,
                 size: int | None = 128, flip: bool = False, seed: int = 0,
                 section: str = "data") -> None:
        super().__init__(seed)
        self._check_values(root, pairs, group, match, max_brightness, min_brightness, size, section)
        self.size, self.flip, self.match = size, flip, float(match)
        self.max_brightness, self.min_brightness = float(max_brightness), float(min_brightness)
        self.root = None if root is None else check_root(
            root, "low-light images or scene sub-folders", section)
        self.brightness: dict[Path, float] = {}
        self.unreadable: list[Path] = []
        #: Where the scenes came from: ``pairs``, ``folders`` or ``content``.
        self.source = "pairs" if pairs is not None else "content"
        if pairs is not None:
            groups = _read_list(Path(pairs), self.root, section)
            self._measure([p for g in groups for p in g])
        else:
            assert self.root is not None
            groups = self._scan_root(self.root, group, section)
        #: Every scene found, before the brightness filter (readable files only).
        self.groups = [[p for p in g if p in self.brightness] for g in groups]
        #: The usable scenes: their shots within the brightness range, two or more.
        self.scenes = [s for s in (self._usable(g) for g in self.groups) if len(s) >= 2]
        if self.unreadable:
            warnings.warn(f"{len(self.unreadable)} unreadable images left out of {section}"
                          f" (first: '{one_line(str(self.unreadable[0]))}')", UserWarning, stacklevel=2)
        if not self.scenes:
            where = f"'{pairs}'" if pairs is not None else f"'{self.root}'"
            raise DatasetFolderError(
                f"no scene in {where} has two shots with a mean brightness in"
                f" [{self.min_brightness:g}, {self.max_brightness:g}] ({len(self.groups)} scenes,"
                f" {len(self.brightness)} images); raise {section}.max_brightness or check"
                f" {section}.{'pairs' if pairs is not None else 'root'}"
            )
        if size is not None:
            warn_small_images([p for s in self.scenes for p in s], size, False,
                              f"{section} ('{pairs if pairs is not None else self.root}')")

    @staticmethod
    def _check_values(root: str | None, pairs: str | None, group: str, match: float,
                      max_brightness: float, min_brightness: float, size: int | None,
                      section: str) -> None:
        if root is None and pairs is None:
            raise RecipeError(f"{section}: set {section}.root (a folder of scenes or images) or"
                              f" {section}.pairs (a list file of shots of one scene)")
        if group not in GROUPINGS:
            raise RecipeError(f"{section}.group must be one of {', '.join(GROUPINGS)}, got '{group}'")
        if pairs is not None and group != "auto":
            raise RecipeError(f"{section}.group applies to {section}.root alone; drop it or"
                              f" drop {section}.pairs")
        if not -1.0 <= match <= 1.0:
            raise RecipeError(f"{section}.match must be within -1..1 (0.4 measured), got {match}")
        if not 0.0 <= min_brightness < max_brightness:
            raise RecipeError(f"{section}.min_brightness and {section}.max_brightness must satisfy"
                              f" 0 <= min < max, got {min_brightness} and {max_brightness}")
        if size is not None and size < 1:
            raise RecipeError(f"{section}.size must be at least 1, got {size}")

    def _scan_root(self, root: Path, group: str, section: str) -> list[list[Path]]:
        """Scenes under ``root``: its sub-folders, or its loose images grouped by content."""
        loose = sorted((p for p in root.iterdir() if p.is_file() and is_image(p)
                        and not p.name.startswith(".")), key=natural_key)
        folders = [] if group == "content" else [
            (d, sorted(list_images([d]), key=natural_key))
            for d in sorted(root.iterdir(), key=natural_key)
            if d.is_dir() and not d.name.startswith(".")
        ]
        folders = [(d, paths) for d, paths in folders if paths]
        if group == "auto" and folders and loose:
            raise RecipeError(f"'{root}' holds both images and sub-folders of images; set"
                              f" {section}.group to folders (each sub-folder a scene) or content")
        if group == "folders" or (group == "auto" and folders):
            self.source = "folders"
            if not folders:
                raise DatasetFolderError(f"no sub-folder of '{root}' holds images; put each scene"
                                         f" in a sub-folder or set {section}.group to content")
            scenes = [paths for _, paths in folders]
            self._measure([p for s in scenes for p in s])
            return scenes
        self.source = "content"
        if not loose:
            raise DatasetFolderError(f"no images in '{root}' (looked for image files and"
                                     f" sub-folders of them); set {section}.root to a folder of"
                                     " low-light shots")
        features = self._measure(loose)
        readable = [p for p in loose if p in features]
        index = group_by_content([features[p] for p in readable], self.match)
        return [[readable[i] for i in g] for g in index]

    def _measure(self, paths: list[Path]) -> dict[Path, np.ndarray]:
        """Fill :attr:`brightness` (and return the structure vectors) of ``paths``; files
        that cannot be read go to :attr:`unreadable`."""
        features: dict[Path, np.ndarray] = {}
        for path in paths:
            if path in self.brightness:
                continue
            try:
                thumb = thumbnail(path)
            except InputError:
                self.unreadable.append(path)
                continue
            self.brightness[path] = float(thumb.mean())
            if self.source == "content":
                features[path] = structure(thumb)
        return features

    def _usable(self, shots: list[Path]) -> list[Path]:
        return [p for p in shots if self.min_brightness <= self.brightness[p] <= self.max_brightness]

    @property
    def pair_count(self) -> int:
        """How many distinct (unordered) pairs of shots the usable scenes hold."""
        return sum(len(s) * (len(s) - 1) // 2 for s in self.scenes)

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self._check_index(index)
        rng = self.item_rng(index)
        shots = self.scenes[index]
        i, j = rng.sample(range(len(shots)), 2)
        first, second = read_image(shots[i]), read_image(shots[j])
        second = resize(second, *first.shape[-2:])
        if self.size is None:
            flips = (rng.random() < 0.5, rng.random() < 0.5)
            params = CropParams(None, 0, 0, None, self.flip and flips[0], self.flip and flips[1])
        else:
            params = sample_params(rng, *first.shape[-2:], self.size, False, self.flip)
        first, second = apply_params(first, params), apply_params(second, params)
        sample = make_sample(first, first, first, shots[i], shots[j])
        sample["pair"] = to_model_range(second)
        return sample


def _read_list(path: Path, root: Path | None, section: str) -> list[list[Path]]:
    """The scenes of a pairs list file, each a list of existing paths."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetFolderError(f"cannot read the pairs list '{path}' ({first_line(exc)});"
                                 f" set {section}.pairs to a text file, one pair a line") from exc
    base = root if root is not None else path.parent
    scenes: list[list[Path]] = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            names = shlex.split(line, comments=True)
        except ValueError as exc:
            raise DatasetFolderError(f"{section}.pairs '{path}' line {number}: {exc}") from exc
        if not names:
            continue
        names = list(dict.fromkeys(names))  # a file twice is still one shot
        if len(names) < 2:
            raise DatasetFolderError(f"{section}.pairs '{path}' line {number} names one image;"
                                     " a line needs two shots of one scene: 'a.jpg b.jpg'")
        shots = [Path(n) if Path(n).is_absolute() else base / n for n in names]
        for shot in shots:
            if not shot.is_file():
                raise DatasetFolderError(
                    f"{section}.pairs '{path}' line {number}: '{one_line(str(shot))}' not found"
                    f" (relative paths start from {'root' if root is not None else 'the list file'}"
                    f" folder '{base}'); fix the line or set {section}.root")
        scenes.append(shots)
    if not scenes:
        raise DatasetFolderError(f"the pairs list '{path}' names no pairs; add lines 'a.jpg b.jpg'"
                                 f" or fix {section}.pairs")
    return scenes

"""Score folders of images with NIQE, PSNR and SSIM (the logic behind ``egan eval``).

Images are read as 8-bit RGB, upright per their EXIF orientation (:mod:`egan_core.imageio`).
Full-reference metrics match each image to the reference image with the same file stem
(``a.png`` to ``ref/a.jpg``). One bad image (unreadable, no reference, sizes differ) fails
alone: it is recorded in :attr:`EvalReport.failures` and the rest are still scored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from egan_core.errors import EganError, InputError, UsageError
from egan_core.imageio import IMAGE_EXTENSIONS, read_image_uint8
from egan_core.metrics import CHANNELS, NEEDS_REFERENCE, brightness, niqe, psnr, ssim

METRICS: tuple[str, ...] = tuple(NEEDS_REFERENCE)


@dataclass(frozen=True)
class Failure:
    """An image that could not be scored, and why."""

    name: str
    reason: str


@dataclass
class EvalReport:
    """Per-image scores, their means and the images that failed."""

    metrics: tuple[str, ...]
    per_image: dict[str, dict[str, float]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    #: each input as given (a folder or a file) -> the ``per_image`` names of its images
    inputs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def mean(self) -> dict[str, float]:
        """Mean of each metric over all scored images (absent when none was scored)."""
        return self._mean(list(self.per_image))

    @property
    def mean_per_input(self) -> dict[str, dict[str, float]]:
        """Mean of each metric per input, so two folders (before / after) are compared
        side by side instead of averaged together."""
        return {given: self._mean(names) for given, names in self.inputs.items()}

    def _mean(self, names: list[str]) -> dict[str, float]:
        out: dict[str, float] = {}
        for metric in self.metrics:
            values = [self.per_image[n][metric] for n in names
                      if n in self.per_image and metric in self.per_image[n]]
            if values:
                out[metric] = math.fsum(values) / len(values)
        return out

    def to_dict(self) -> dict[str, Any]:
        """``{"per_image": {file_name: {metric: value}}, "mean": {metric: value},
        "mean_per_input": {input: {metric: value}}}``."""
        return {"per_image": self.per_image, "mean": self.mean,
                "mean_per_input": self.mean_per_input}


def load_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as an upright HxWx3 ``uint8`` RGB array (egan's one reader).

    Raises:
        InputError: the file is missing, unreadable or not an image.
    """
    return read_image_uint8(path)


def list_images(path: str | Path) -> list[Path]:
    """The image files of a folder (sorted, not recursive), or the file itself."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise InputError(f"{p}: no such file or folder")
    return sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)


def _reference_index(reference: str | Path) -> dict[str, list[Path]]:
    """Reference images by file stem."""
    index: dict[str, list[Path]] = {}
    for f in list_images(reference):
        index.setdefault(f.stem, []).append(f)
    return index


def _names(files: Sequence[Path]) -> list[str]:
    """Report keys: the file name, or the path as given where two names collide."""
    counts: dict[str, int] = {}
    for f in files:
        counts[f.name] = counts.get(f.name, 0) + 1
    return [f.name if counts[f.name] == 1 else str(f) for f in files]


def score_image(image: np.ndarray, metrics: Iterable[str], reference: np.ndarray | None = None,
                channel: str = "rgb") -> dict[str, float]:
    """Compute the named metrics of one RGB image (against ``reference`` for psnr/ssim)."""
    scores: dict[str, float] = {}
    for metric in metrics:
        if metric == "niqe":
            scores[metric] = niqe(image)
            continue
        if metric == "brightness":
            scores[metric] = brightness(image)
            continue
        if reference is None:
            raise UsageError(f"{metric} needs a reference image: pass --reference DIR")
        fn = psnr if metric == "psnr" else ssim
        scores[metric] = fn(image, reference, channel=channel)  # type: ignore[arg-type]
    return scores


def evaluate(dirs: Sequence[str | Path], metrics: Sequence[str],
             reference: str | Path | None = None, channel: str = "rgb") -> EvalReport:
    """Score every image in ``dirs`` (folders or files) with ``metrics``.

    ``reference`` is the folder of ground-truth images for psnr/ssim, matched by file
    stem. ``channel`` is ``rgb`` or ``y`` (BT.601 luma) for psnr/ssim; NIQE always works
    on MATLAB ``rgb2gray``. Usage mistakes raise :class:`UsageError`; per-image problems
    are collected in the report's ``failures``.
    """
    metrics = tuple(dict.fromkeys(metrics))
    if not metrics:
        raise UsageError("no metric given: pass --metric niqe|psnr|ssim")
    unknown = [m for m in metrics if m not in NEEDS_REFERENCE]
    if unknown:
        raise UsageError(f"unknown metric {unknown[0]!r}; known: {', '.join(METRICS)}")
    if channel not in CHANNELS:
        raise UsageError(f"unknown channel {channel!r}; use rgb or y")
    needing = [m for m in metrics if NEEDS_REFERENCE[m]]
    if needing and reference is None:
        verb = "needs" if len(needing) == 1 else "need"
        raise UsageError(f"{' and '.join(needing)} {verb} ground truth: pass --reference DIR "
                         "(a folder of reference images, matched by file stem)")
    ref_index = _reference_index(reference) if needing and reference is not None else {}

    files: list[Path] = []
    owners: list[str] = []
    for d in dirs:
        found = list_images(d)
        if not found:
            suffixes = ", ".join(sorted(IMAGE_EXTENSIONS))
            raise InputError(f"{d}: no images found (looked for {suffixes})")
        files.extend(found)
        owners.extend([str(d)] * len(found))

    report = EvalReport(metrics=metrics)
    for name, owner in zip(_names(files), owners, strict=True):
        report.inputs.setdefault(owner, []).append(name)
    for name, path in zip(_names(files), files, strict=True):
        try:
            ref_img = None
            if needing:
                matches = ref_index.get(path.stem, [])
                if not matches:
                    raise InputError(f"no reference image named '{path.stem}.*' in {reference}")
                if len(matches) > 1:
                    listing = ", ".join(m.name for m in matches)
                    raise InputError(f"several reference images match '{path.stem}': {listing}")
                ref_img = load_rgb(matches[0])
            report.per_image[name] = score_image(load_rgb(path), metrics, ref_img, channel)
        except UsageError:
            raise
        except EganError as exc:
            report.failures.append(Failure(name, str(exc)))
    return report

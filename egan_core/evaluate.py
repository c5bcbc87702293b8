"""Score folders of images with NIQE, PSNR and SSIM (the logic behind ``egan eval``).

Images are read as 8-bit RGB, upright per their EXIF orientation (:mod:`egan_core.imageio`).
Full-reference metrics match each image to the reference image with the same file stem
(``a.png`` to ``ref/a.jpg``). One bad image (unreadable, no reference, sizes differ) fails
alone: it is recorded in :attr:`EvalReport.failures` and the rest are still scored.

Videos (endings in :data:`egan_core.video.io.READABLE`) are scored too: ``niqe`` and
``brightness`` as the mean over up to :data:`VIDEO_SAMPLES` evenly spaced frames, and
``flicker`` (:mod:`egan_core.video.flicker`), which only videos have, with the flow of the
``source`` video where one is given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from egan_core.errors import EganError, InputError, UsageError
from egan_core.imageio import IMAGE_EXTENSIONS, read_image_uint8
from egan_core.metrics import CHANNELS, NEEDS_REFERENCE, brightness, niqe, psnr, ssim
from egan_core.video.io import READABLE, Frame, VideoReader

METRICS: tuple[str, ...] = (*NEEDS_REFERENCE, "flicker")
#: The metrics a video can be scored with (psnr/ssim would need a reference video).
VIDEO_METRICS = ("niqe", "brightness", "flicker")
#: The report keys of ``flicker``: alone, or with a source all three.
FLICKER_KEYS = ("flicker", "flicker_source", "flicker_relative")
#: Frames of a video that ``niqe`` and ``brightness`` average over, evenly spaced: NIQE
#: takes about a second on a 1080p frame, and a scene changes slowly.
VIDEO_SAMPLES = 16


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


def _listing(path: str | Path, endings: frozenset[str] | set[str]) -> list[Path]:
    """The files of a folder with one of ``endings`` (sorted, not recursive), or the file itself."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise InputError(f"{p}: no such file or folder")
    return sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in endings)


def list_images(path: str | Path) -> list[Path]:
    """The image files of a folder (sorted, not recursive), or the file itself."""
    return _listing(path, IMAGE_EXTENSIONS)


def is_video(path: str | Path) -> bool:
    """Whether ``path`` names a video by its ending."""
    return Path(path).suffix.lower() in READABLE


def list_inputs(path: str | Path) -> list[Path]:
    """The image and video files of a folder (sorted, not recursive), or the file itself."""
    return _listing(path, IMAGE_EXTENSIONS | READABLE)


def _reference_index(reference: str | Path) -> dict[str, list[Path]]:
    """Reference images by file stem."""
    index: dict[str, list[Path]] = {}
    for f in list_images(reference):
        index.setdefault(f.stem, []).append(f)
    return index


def _source_index(source: str | Path) -> dict[str, list[Path]]:
    """Source videos of a folder by file stem."""
    index: dict[str, list[Path]] = {}
    for f in list_inputs(source):
        if is_video(f):
            index.setdefault(f.stem, []).append(f)
    return index


def _source_of(video: Path, source: Path, index: dict[str, list[Path]]) -> Path:
    """The source video of ``video``: ``source`` itself when a file, else its namesake there."""
    if source.is_file():
        return source
    matches = index.get(video.stem, [])
    if not matches:
        raise InputError(f"no source video named '{video.stem}.*' in {source}")
    if len(matches) > 1:
        raise InputError(f"several source videos match '{video.stem}': "
                         f"{', '.join(m.name for m in matches)}")
    return matches[0]


def _video_frames(reader: VideoReader) -> Iterator[np.ndarray]:
    """The RGB frames of an open video, decoded one at a time (audio packets skipped)."""
    for item in reader.items():
        if isinstance(item, Frame):
            yield item.image


def _spread(total: int, count: int) -> set[int]:
    """Indices of up to ``count`` evenly spaced frames out of ``total``, first and last included."""
    return {round(i) for i in np.linspace(0, total - 1, min(count, total))}


def score_video(path: str | Path, metrics: Iterable[str], source: str | Path | None = None
                ) -> dict[str, float]:
    """Compute the named metrics (:data:`VIDEO_METRICS`) of the video file at ``path``.

    ``niqe`` and ``brightness`` are the mean over up to :data:`VIDEO_SAMPLES` evenly spaced
    frames (decoded one at a time); ``flicker`` adds the keys of
    :func:`egan_core.video.flicker.flicker` (with ``source``, the video ``path`` was made from).
    """
    from egan_core.video.flicker import flicker  # OpenCV's flow: loaded for flicker only

    path = Path(path)
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in VIDEO_METRICS]
    if unknown:
        raise UsageError(f"{unknown[0]} scores images, not videos ('{path}')")
    scores: dict[str, float] = {}
    per_frame = [m for m in metrics if m in ("niqe", "brightness")]
    if per_frame:
        values: dict[str, list[float]] = {m: [] for m in per_frame}
        with VideoReader(path) as reader:
            total = reader.info.expected_frames
            if total is None:  # the container does not say: count the frames first
                with VideoReader(path) as counter:
                    total = sum(1 for _ in _video_frames(counter))
            wanted = _spread(total, VIDEO_SAMPLES)
            for index, image in enumerate(_video_frames(reader)):
                if index in wanted:
                    for m, value in score_image(image, per_frame).items():
                        values[m].append(value)
                if index >= max(wanted):
                    break
        for m in per_frame:
            scores[m] = math.fsum(values[m]) / len(values[m])
    if "flicker" in metrics:
        scores.update(flicker(path, source))
    return scores


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
             reference: str | Path | None = None, channel: str = "rgb",
             source: str | Path | None = None) -> EvalReport:
    """Score every image and video in ``dirs`` (folders or files) with ``metrics``.

    ``reference`` is the folder of ground-truth images for psnr/ssim, matched by file
    stem. ``channel`` is ``rgb`` or ``y`` (BT.601 luma) for psnr/ssim; NIQE always works
    on MATLAB ``rgb2gray``. ``source`` is the input video of ``flicker`` (a video file, or a
    folder of them matched by file stem): the flow comes from it, and ``flicker_source``
    and ``flicker_relative`` are reported too. Usage mistakes (psnr/ssim of a video,
    flicker of an image) raise :class:`UsageError`; per-file problems are collected in the
    report's ``failures``.
    """
    metrics = tuple(dict.fromkeys(metrics))
    if not metrics:
        raise UsageError("no metric given: pass --metric niqe|psnr|ssim")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise UsageError(f"unknown metric {unknown[0]!r}; known: {', '.join(METRICS)}")
    if channel not in CHANNELS:
        raise UsageError(f"unknown channel {channel!r}; use rgb or y")
    needing = [m for m in metrics if NEEDS_REFERENCE.get(m, False)]
    if needing and reference is None:
        verb = "needs" if len(needing) == 1 else "need"
        raise UsageError(f"{' and '.join(needing)} {verb} ground truth: pass --reference DIR "
                         "(a folder of reference images, matched by file stem)")
    if source is not None and "flicker" not in metrics:
        raise UsageError("--source is the input video of --metric flicker; pass that metric too")
    ref_index = _reference_index(reference) if needing and reference is not None else {}
    source_path = Path(source) if source is not None else None
    source_index = _source_index(source_path) if source_path is not None and source_path.is_dir() else {}

    files: list[Path] = []
    owners: list[str] = []
    for d in dirs:
        found = list_inputs(d)
        if not found:
            suffixes = ", ".join(sorted(IMAGE_EXTENSIONS | READABLE))
            raise InputError(f"{d}: no images or videos found (looked for {suffixes})")
        files.extend(found)
        owners.extend([str(d)] * len(found))
    for path in files:
        if is_video(path):
            wrong = [m for m in metrics if m not in VIDEO_METRICS]
            if wrong:
                verb = "compares" if len(wrong) == 1 else "compare"
                raise UsageError(f"{' and '.join(wrong)} {verb} images with --reference; "
                                 f"'{path}' is a video (use niqe, brightness or flicker)")
        elif "flicker" in metrics:
            raise UsageError(f"flicker is measured on videos; '{path}' is an image")

    columns = metrics
    if "flicker" in metrics and source is not None:
        at = metrics.index("flicker")
        columns = (*metrics[:at], *FLICKER_KEYS, *metrics[at + 1:])
    report = EvalReport(metrics=columns)
    for name, owner in zip(_names(files), owners, strict=True):
        report.inputs.setdefault(owner, []).append(name)
    for name, path in zip(_names(files), files, strict=True):
        try:
            if is_video(path):
                video_source = (None if source_path is None
                                else _source_of(path, source_path, source_index))
                report.per_image[name] = score_video(path, metrics, video_source)
                continue
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

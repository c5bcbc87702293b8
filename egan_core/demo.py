"""The logic behind ``egan demo``, free of any web framework so it is testable on its own.

- :func:`list_choices`: what the app offers, read from the enhancer registry (so an
  enhancer a plugin adds shows up without touching this module), plus one entry per
  ``--checkpoint`` file.
- :func:`enhance`: one image through :func:`~egan_core.load_enhancer` (the same pipeline,
  tiling included, as ``egan enhance``) with models loaded once and cached; returns the
  image, the seconds it took and its NIQE.
- :func:`read_upload`: an uploaded file as pixels, or an :class:`~egan_core.InputError`
  naming it (a text file is refused with a message, never a traceback).
- :func:`run_batch`: several uploads at once, each failing alone, results written as
  full-resolution PNGs into a folder the caller owns (the app's temporary folder).
- :func:`run_video`: one short clip (at most :data:`MAX_VIDEO_SECONDS`, checked before any
  work) into a browser-playable H.264 MP4 with its audio, plus a before/after still.
- :func:`dark_scene` / :func:`write_samples` / :func:`write_sample_clip`: small procedural
  low-light photos and a clip, so the app has samples without shipping media files.

:mod:`egan_core.demo_page` puts a Gradio page over these; only it imports gradio.
"""

from __future__ import annotations

import functools
import math
import re
import shlex
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np
from PIL import Image

from egan_core.enhance.api import load_enhancer
from egan_core.enhance.io import read_image, to_uint8, write_image
from egan_core.enhance.pipeline import Enhancer
from egan_core.errors import EganError, InputError, folded
from egan_core.fileio import save_image
from egan_core.metrics import niqe
from egan_core.plugins import get_registries
from egan_core.registry import Registries
from egan_core.scenes import dark_scene
from egan_core.signature import accepted, parameters
from egan_core.video import synthetic
from egan_core.video.enhance import enhance_video
from egan_core.video.io import Frame, VideoInfo, VideoReader
from egan_core.video.temporal import DEFAULT_TEMPORAL

#: the enhancer offered first (``egan enhance`` with no ``--enhancer`` runs it too).
DEFAULT_ENHANCER = "gan"
#: appended to every other enhancer to offer a chain (brightening amplifies noise).
CHAIN_TAIL = "denoise"
#: previews shown in the page are at most this many pixels on their long side; the
#: download is always the full-resolution result.
PREVIEW_SIDE = 1600
#: models kept loaded at once (each ``gan`` model is ~35 MB).
CACHE_SIZE = 8
#: the longest clip the demo takes: it enhances while the user waits, so longer ones are
#: for ``egan enhance``.
MAX_VIDEO_SECONDS = 20.0
#: the enhancer the video section offers first: the default model is too slow for video on a CPU.
VIDEO_ENHANCER = "fast"
#: the optional extra that brings gradio.
EXTRA = "egan[demo]"
INSTALL_HINT = f"pip install '{EXTRA}'"


@dataclass(frozen=True)
class Choice:
    """One entry of the app's enhancer menu: a chain of registered names and a checkpoint."""

    label: str
    names: tuple[str, ...]
    checkpoint: str | None = None


class Enhanced(NamedTuple):
    """What :func:`enhance` returns: the image (uint8 HxWx3), seconds taken, its NIQE."""

    image: np.ndarray
    seconds: float
    niqe: float


@dataclass
class Item:
    """One processed upload of :func:`run_batch`."""

    name: str
    size: tuple[int, int]
    seconds: float
    niqe_before: float
    niqe_after: float
    before_preview: Path
    after_preview: Path
    result: Path

    @property
    def caption(self) -> str:
        """One line for the page: name, size, time and NIQE before -> after."""
        w, h = self.size
        return (f"{self.name} ({w}x{h}): {self.seconds:.2f} s, NIQE {format_niqe(self.niqe_before)}"
                f" -> {format_niqe(self.niqe_after)}")


@dataclass
class Batch:
    """What :func:`run_batch` did: the processed images and one message per refused file."""

    items: list[Item] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class VideoResult(NamedTuple):
    """What :func:`run_video` wrote: the MP4, a before/after still (PNG) and a caption."""

    video: Path
    still: Path
    caption: str


def format_niqe(value: float) -> str:
    """NIQE with two decimals, ``n/a`` where it is undefined (tiny or flat images)."""
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def _needs_arguments(factory: Any) -> bool:
    """Whether a factory has a required parameter besides ``device`` (the app passes none)."""
    return any(p.default is p.empty and name != "device"
               for name, p in parameters(factory)[0].items())


def _takes_checkpoint(factory: Any) -> bool:
    return "checkpoint" in accepted(factory)


def list_choices(checkpoints: Sequence[str | Path] = (),
                 registries: Registries | None = None) -> list[Choice]:
    """The enhancer menu: every registered enhancer, each chained with ``denoise``, then
    the checkpoints (alone and chained), for the default enhancer or the first that takes one.

    Enhancers whose factory needs an argument the app cannot give are left out.
    """
    registry = (registries or get_registries()).enhancers
    names = [n for n in registry.names() if not _needs_arguments(registry.get(n))]
    names.sort(key=lambda n: n != DEFAULT_ENHANCER)  # stable: the default first, others sorted
    choices = [Choice(n, (n,)) for n in names]
    if CHAIN_TAIL in names:
        choices += [Choice(f"{n} + {CHAIN_TAIL}", (n, CHAIN_TAIL)) for n in names if n != CHAIN_TAIL]
    takers = [n for n in registry.names() if _takes_checkpoint(registry.get(n))]
    if checkpoints and takers:
        model = DEFAULT_ENHANCER if DEFAULT_ENHANCER in takers else takers[0]
        paths = [str(Path(c)) for c in checkpoints]
        short = [Path(p).name for p in paths]
        for path, name in zip(paths, short, strict=True):
            shown = name if short.count(name) == 1 else path
            choices.append(Choice(f"{model}: {shown}", (model,), path))
            if CHAIN_TAIL in names:
                choices.append(Choice(f"{model} + {CHAIN_TAIL}: {shown}", (model, CHAIN_TAIL), path))
    return choices


@functools.lru_cache(maxsize=CACHE_SIZE)
def load(names: tuple[str, ...], checkpoint: str | None = None, device: str = "auto") -> Enhancer:
    """The enhancer for a chain and checkpoint, loaded once per process (strength 1)."""
    return load_enhancer(list(names), checkpoint=checkpoint, device=device)


def _at_strength(choice: Choice, strength: float, device: str) -> Enhancer:
    """The cached enhancer of ``choice`` at ``strength``: another strength reuses its stages."""
    base = load(choice.names, choice.checkpoint, device)
    if strength == base.strength:
        return base
    return Enhancer(base.stages, names=base.names, strength=strength, device=base.device)


def enhance(image: np.ndarray | Image.Image, choice: Choice, strength: float = 1.0,
            device: str = "auto") -> Enhanced:
    """Enhance one image (PIL, HxWx3 uint8 or float [0, 1]) with ``choice`` at ``strength``.

    The model comes from :func:`load`'s cache; a strength other than 1 reuses its stages.
    The seconds are those of the enhancement alone; NIQE (lower is better) is NaN where it
    is undefined.

    Raises:
        EganError: an enhancer that cannot load, a strength out of range.
    """
    enhancer = _at_strength(choice, strength, device)
    start = time.perf_counter()
    out = np.asarray(enhancer(image))  # a PIL image comes back as one, upright and RGB
    seconds = time.perf_counter() - start
    out = out if out.dtype == np.uint8 else to_uint8(out)
    return Enhanced(out, seconds, safe_niqe(out))


def safe_niqe(image: np.ndarray) -> float:
    """NIQE of an HxWx3 image (uint8 or float [0, 1]); NaN where it is undefined."""
    pixels = image if image.dtype == np.uint8 else to_uint8(image)
    try:
        return float(niqe(pixels))
    except EganError:
        return math.nan


def read_upload(path: str | Path, name: str | None = None) -> np.ndarray:
    """An uploaded file as HxWx3 float32 RGB in [0, 1] (upright per EXIF, 16 bits kept).

    Raises:
        InputError: not an image, empty, corrupt or too large; the message names the file
            as the user knows it (``name``), not by the server's temporary path.
    """
    try:
        return read_image(path)
    except InputError as exc:
        if name is None:
            raise
        raise InputError(str(exc).replace(f"'{Path(path)}'", f"'{name}'")) from exc


def preview(image: np.ndarray, side: int = PREVIEW_SIDE) -> np.ndarray:
    """A uint8 copy of ``image`` at most ``side`` pixels on its long side (for the page)."""
    pixels = image if image.dtype == np.uint8 else to_uint8(image)
    h, w = pixels.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return pixels
    return cv2.resize(pixels, (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA)


def slug(text: str) -> str:
    """``text`` as a safe file-name part."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "image"


def run_batch(uploads: Sequence[str | Path], choice: Choice, strength: float, out: str | Path,
              device: str = "auto", on_image: Callable[[int, int, str], None] | None = None) -> Batch:
    """Enhance every upload into ``out`` (created), each failing alone with a message.

    Writes, per image, ``<stem>_<choice>.png`` (full resolution) and two previews under
    ``out/preview/``. Only the enhancer itself failing to load stops the batch.

    Raises:
        EganError: the enhancer cannot be loaded, or the strength is out of range.
    """
    out = Path(out)
    (out / "preview").mkdir(parents=True, exist_ok=True)
    batch = Batch()
    used: set[str] = set()
    for index, upload in enumerate(uploads):
        name = Path(upload).name
        if on_image is not None:
            on_image(index, len(uploads), name)
        try:
            pixels = read_upload(upload, name)
        except InputError as exc:
            batch.errors.append(folded(exc))
            continue
        done = enhance(pixels, choice, strength, device)
        stem = slug(Path(name).stem)
        while stem in used:
            stem += "_"
        used.add(stem)
        result = out / f"{stem}_{slug(choice.label)}.png"
        save_image(result, Image.fromarray(done.image, "RGB"), compress_level=1)  # fast: photos are big
        before = write_image(out / "preview" / f"{stem}_before.jpg", preview(pixels), "jpg")
        after = write_image(out / "preview" / f"{stem}_after.jpg", preview(done.image), "jpg")
        h, w = done.image.shape[:2]
        batch.items.append(Item(name, (w, h), done.seconds, safe_niqe(pixels), done.niqe,
                                before, after, result))
    return batch


def run_video(upload: str | Path, choice: Choice, strength: float, out: str | Path, *,
              device: str = "auto", max_seconds: float = MAX_VIDEO_SECONDS,
              temporal: float = DEFAULT_TEMPORAL,
              on_frame: Callable[[int, int | None], None] | None = None) -> VideoResult:
    """Enhance one clip into ``out/<stem>_<choice>.mp4`` (H.264, audio kept, plays in
    browsers) and ``out/<stem>_before_after.png`` (its middle frame, input beside output).

    The length is checked before anything is loaded or written, so a long clip is refused
    at once with the command that takes it, not after minutes of work. ``on_frame`` gets
    (frames written, frames expected or None), from another thread.

    Raises:
        InputError: not a readable video, longer than ``max_seconds`` (or of unknown length),
            or damaged part way; the message names the file as the user knows it.
        EganError: the enhancer cannot be loaded, or the strength is out of range.
    """
    upload, out = Path(upload), Path(out)
    name = upload.name
    try:
        with VideoReader(upload) as reader:
            info = reader.info
    except InputError as exc:
        raise InputError(str(exc).replace(str(upload), name)) from exc
    seconds = _length(info)
    if seconds is None or seconds > max_seconds:
        length = "its length is unknown" if seconds is None else f"it lasts {seconds:.1f} s"
        raise InputError(f"'{name}': {length}; the demo takes clips up to {max_seconds:g} s; use "
                         f"`egan enhance {shlex.quote(name)} --out out/` for longer ones")
    enhancer = _at_strength(choice, strength, device)
    stem = slug(Path(name).stem)
    target = out / f"{stem}_{slug(choice.label)}.mp4"
    try:
        report = enhance_video(enhancer, upload, target, temporal=temporal, on_frame=on_frame)
    except EganError as exc:
        kind = InputError if isinstance(exc, InputError) else EganError
        raise kind(str(exc).replace(str(upload), name)) from exc
    before = _frame_at(upload, report.frames // 2)
    after = _frame_at(target, report.frames // 2)[:before.shape[0], :before.shape[1]]  # odd sizes were padded
    half = PREVIEW_SIDE // 2
    still = write_image(out / f"{stem}_before_after.png",
                        np.hstack([preview(before, half), preview(after, half)]), "png")
    rate = f" at {float(info.rate):.3g} fps" if info.rate else ""
    audio = ", audio kept" if report.audio_streams else ""
    caption = (f"{name} ({info.width}x{info.height}, {report.frames} frames{rate}, {seconds:.1f} s): "
               f"enhanced in {report.elapsed:.1f} s ({report.fps:.1f} frames/s){audio}")
    return VideoResult(target, still, caption)


def _length(info: VideoInfo) -> float | None:
    """Seconds of video: as the file says, else its frame count over its rate."""
    if info.duration is not None:
        return info.duration
    if info.frames and info.rate:
        return info.frames / float(info.rate)
    return None


def _frame_at(path: Path, index: int) -> np.ndarray:
    """Frame ``index`` of a video (its last if shorter), turned upright as a player shows it."""
    frame = None
    with VideoReader(path) as reader:
        for seen, item in enumerate(i for i in reader.items() if isinstance(i, Frame)):
            frame = item
            if seen == index:
                break
    if frame is None:
        raise InputError(f"'{path}': no frames could be decoded")
    return np.ascontiguousarray(np.rot90(frame.image, round(frame.rotation / 90) % 4))


def prune(folder: str | Path, max_age_s: float) -> None:
    """Remove the sub-folders of ``folder`` older than ``max_age_s`` (old results)."""
    now = time.time()
    for child in Path(folder).iterdir() if Path(folder).is_dir() else ():
        if child.is_dir() and now - child.stat().st_mtime > max_age_s:
            shutil.rmtree(child, ignore_errors=True)


def write_samples(folder: str | Path, size: tuple[int, int] = (640, 427)) -> list[Path]:
    """Write two :func:`dark_scene` samples as JPEG into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_image(folder / f"night_street_{seed}.jpg", dark_scene(*size, seed=seed), "jpg")
            for seed in (1, 2)]


def write_sample_clip(folder: str | Path, size: tuple[int, int] = (320, 240), seconds: float = 3.0,
                      fps: int = 25) -> Path:
    """Write a short night-street clip with a sine audio track into ``folder``: a camera
    panning across a :func:`dark_scene` under fresh sensor noise per frame, the noise that
    enhancing frames one by one turns into flicker."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width, height, count, speed, zoom = *size, round(seconds * fps), 1.5, 1.4
    street = dark_scene(round(zoom * width + speed * count), round(zoom * height), seed=3)
    images = synthetic.pan(street, count, height, width, speed=speed)
    path = folder / "night_street.mp4"
    synthetic.write_clip(path, images, fps=fps, audio=True)
    return path

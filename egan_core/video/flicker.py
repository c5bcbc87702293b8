"""Temporal flicker of a video: the warping error of Lai et al. 2018.

"Learning blind video temporal consistency" (ECCV 2018) measures how much an enhanced video
changes from frame to frame beyond what the scene's motion explains: the previous output
frame is warped onto the current one along the optical flow of the *input* video, and the
mean absolute difference over pixels the flow can see in both frames (not occluded) is the
error. Enhancing frames one by one amplifies sensor noise and brightness changes into
flicker, which no single-image metric (NIQE, brightness) can see.

Flow is OpenCV's DIS (medium preset) on contrast-normalised grey frames: night frames are
too dark for DIS's patch matching as they are. The error is in 8-bit units (0..255); dividing
it by the input's own error with the same flow gives how much an enhancer added.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from egan_core.errors import InputError, UsageError
from egan_core.video.io import Frame, VideoReader

#: Grey level the current frame of a pair is brought to before the flow (both frames of the
#: pair by the same gain, so that their difference keeps its meaning).
FLOW_MEAN = 110.0
#: Frames are shrunk for the flow until their long side is at most this many pixels: DIS
#: follows motion as well there and its time stays bounded on 4K input.
FLOW_SIDE = 640
#: Where the warped previous input frame differs from the current one by more than this
#: (grey levels after contrast normalisation and a light blur that ignores sensor noise),
#: the flow is wrong there (an occlusion it missed, a scene cut): such pixels are left out.
SOURCE_TOLERANCE = 30.0
#: A pair of frames where less than this share of the pixels can be followed is a scene cut
#: (or motion the flow lost): it says nothing about flicker and is left out of the mean.
MIN_TRUSTED = 0.1
_BLUR_SIGMA = 1.5
#: OpenCV's DIS needs frames with at least one side this long.
DIS_MIN_SIDE = 12


def _grey(image: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB uint8 frame, float32."""
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _normalised(previous: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both greys scaled by the gain that brings ``current``'s mean to :data:`FLOW_MEAN`."""
    gain = FLOW_MEAN / max(float(current.mean()), 1.0)
    return (np.clip(previous * gain, 0, 255), np.clip(current * gain, 0, 255))


def _scale_for(height: int, width: int, flow_scale: float | None) -> float:
    """The resize factor of the frames the flow is computed on."""
    if flow_scale is None:
        return min(1.0, FLOW_SIDE / max(height, width))
    return flow_scale


def _flow(dis: cv2.DISOpticalFlow, source: np.ndarray, target: np.ndarray, scale: float) -> np.ndarray:
    """The flow from ``source`` to ``target`` (greys in 0..255) at full size: ``source(x) ~
    target(x + flow(x))``; computed at ``scale`` and resized back, vectors scaled with it."""
    h, w = source.shape
    scale = max(scale, DIS_MIN_SIDE / max(h, w))  # DIS's own limit
    small = (max(1, round(w * scale)), max(1, round(h * scale)))
    a, b = source.astype(np.uint8), target.astype(np.uint8)
    if small != (w, h):
        a = cv2.resize(a, small, interpolation=cv2.INTER_AREA)
        b = cv2.resize(b, small, interpolation=cv2.INTER_AREA)
    flow = dis.calc(a, b, None)
    if small != (w, h):
        flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
        flow[..., 0] *= w / small[0]
        flow[..., 1] *= h / small[1]
    return flow


class _PairWarp:
    """Warps the frame at t-1 onto the frame at t along the source's flow, and says which
    pixels of frame t that warp can be trusted on."""

    def __init__(self, previous: np.ndarray, current: np.ndarray, dis: cv2.DISOpticalFlow,
                 scale: float) -> None:
        h, w = current.shape[:2]
        raw_prev = _grey(previous)
        prev_grey, cur_grey = _normalised(raw_prev, _grey(current))
        forward = _flow(dis, cur_grey, prev_grey, scale)  # t -> t-1
        backward = _flow(dis, prev_grey, cur_grey, scale)  # t-1 -> t
        grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self.map_x = grid_x + forward[..., 0]
        self.map_y = grid_y + forward[..., 1]
        # Forward-backward consistency (Sundaram et al. 2010, the occlusion test Lai et al.
        # take from Ruder et al. 2016): going to t-1 and back must land where it started, up
        # to a tolerance growing with the motion.
        back = self.warp(backward)
        fx, fy, bx, by = forward[..., 0], forward[..., 1], back[..., 0], back[..., 1]
        loop = (fx + bx) ** 2 + (fy + by) ** 2
        consistent = loop < 0.01 * (fx * fx + fy * fy + bx * bx + by * by) + 0.5
        inside = ((self.map_x >= 0) & (self.map_x <= w - 1)
                  & (self.map_y >= 0) & (self.map_y <= h - 1))
        # The input must look alike where the flow matches it up. Each grey is brought to the
        # same mean here, so that a change of exposure (flicker itself) is no mismatch.
        blur_prev = cv2.GaussianBlur(_normalised(raw_prev, raw_prev)[0], (0, 0), _BLUR_SIGMA)
        blur_cur = cv2.GaussianBlur(cur_grey, (0, 0), _BLUR_SIGMA)
        agrees = np.abs(self.warp(blur_prev) - blur_cur) <= SOURCE_TOLERANCE
        self.mask = consistent & inside & agrees

    def warp(self, image: np.ndarray) -> np.ndarray:
        """``image`` (of frame t-1, float32) sampled where frame t's pixels come from."""
        return cv2.remap(image, self.map_x, self.map_y, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)

    def error(self, previous: np.ndarray, current: np.ndarray) -> float | None:
        """Mean |current - warped previous| over trusted pixels and channels (None: too few
        trusted pixels, see :data:`MIN_TRUSTED`)."""
        if self.mask.mean() < MIN_TRUSTED:
            return None
        warped = self.warp(previous.astype(np.float32))
        diff = np.abs(current.astype(np.float32) - warped)
        return float(diff[self.mask].mean())


def _size(image: np.ndarray) -> str:
    return f"{image.shape[1]}x{image.shape[0]}"


def _frames(count: int) -> str:
    return f"{count} frame{'' if count == 1 else 's'}"


def _checked(image: object, label: str, index: int) -> np.ndarray:
    """``image`` as an HxWx3 uint8 array, or an InputError naming it."""
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise InputError(f"{label}: frame {index} is not an HxWx3 uint8 RGB image "
                         f"(shape {array.shape}, {array.dtype})")
    return array


def _paired(frames: Iterable[np.ndarray], sources: Iterable[np.ndarray] | None,
            labels: tuple[str, str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(frame, source frame)`` pairs, checking that both have the same count and size."""
    if sources is None:
        for i, image in enumerate(frames):
            array = _checked(image, labels[0], i)
            yield array, array
        return
    out_iter, src_iter = iter(frames), iter(sources)
    count = 0
    while True:
        out = next(out_iter, None)
        src = next(src_iter, None)
        if out is None or src is None:
            if out is None and src is None:
                return
            # Count the rest of the longer one, so that the message can name both counts.
            rest = 1 + sum(1 for _ in (src_iter if out is None else out_iter))
            n_out, n_src = (count, count + rest) if out is None else (count + rest, count)
            raise InputError(f"{labels[0]} has {_frames(n_out)} but {labels[1]} has {n_src}: "
                             "the flicker needs the same frames in both")
        out, src = _checked(out, labels[0], count), _checked(src, labels[1], count)
        if out.shape != src.shape:
            raise InputError(f"{labels[0]} is {_size(out)} but {labels[1]} is {_size(src)} "
                             f"(frame {count}): the flicker needs frames of the same size")
        count += 1
        yield out, src


def _errors(pairs: Iterable[tuple[tuple[np.ndarray, ...], np.ndarray]], flow_scale: float | None,
            label: str) -> list[float]:
    """The warping error of each output stream: ``pairs`` yields (outputs, source) per frame.

    Only the previous frame of each stream is kept: a long video streams through.
    """
    if flow_scale is not None and not 0 < flow_scale <= 1:
        raise UsageError(f"flow_scale must be in (0, 1], got {flow_scale}")
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    previous: tuple[tuple[np.ndarray, ...], np.ndarray] | None = None
    per_pair: list[list[float]] = []
    count = 0
    for outputs, source in pairs:
        count += 1
        if previous is not None:
            prev_outputs, prev_source = previous
            if source.shape != prev_source.shape:
                raise InputError(f"{label}: frame {count - 1} is {_size(source)}, the one before "
                                 f"{_size(prev_source)}: the frame size must not change")
            scale = _scale_for(*source.shape[:2], flow_scale)
            pair = _PairWarp(prev_source, source, dis, scale)
            for i, (before, now) in enumerate(zip(prev_outputs, outputs, strict=True)):
                value = pair.error(before, now)
                if value is not None:
                    per_pair[i].append(value)
        else:
            if max(source.shape[:2]) < DIS_MIN_SIDE:
                raise InputError(f"{label} has frames of {_size(source)}: too small for the "
                                 f"optical flow (it needs a side of {DIS_MIN_SIDE} pixels)")
            per_pair = [[] for _ in outputs]
        previous = (outputs, source)
    if count < 2:
        raise InputError(f"{label} has {_frames(count)}: the warping error needs at least 2")
    return [math.fsum(values) / len(values) if values else math.nan for values in per_pair]


def warping_error(frames: Iterable[np.ndarray], source_frames: Iterable[np.ndarray] | None = None,
                  *, flow_scale: float | None = None) -> float:
    """The temporal warping error of ``frames`` (Lai et al. 2018), in 8-bit units.

    For each pair of consecutive frames, the previous frame is warped onto the current one
    along the optical flow of ``source_frames`` (the input the frames were made from; by
    default ``frames`` themselves) and the absolute difference is averaged over pixels that
    are visible in both frames; the result is the mean over pairs. 0 is perfectly stable;
    sensor noise and brightness changes between frames raise it. A pair where less than
    :data:`MIN_TRUSTED` of the pixels can be followed (a scene cut) is left out; NaN when
    every pair is.

    Args:
        frames: HxWx3 uint8 RGB frames, any iterable (streamed: only one frame is kept).
        source_frames: the input video's frames, same count and size; the flow comes from them.
        flow_scale: the resize factor, in (0, 1], of the frames the flow is computed on; by
            default the long side is brought to at most 640 pixels.

    Raises:
        InputError: fewer than 2 frames, or ``frames`` and ``source_frames`` differ in count
            or size.
    """
    labels = ("the video", "its source")
    pairs = (((out,), src) for out, src in _paired(frames, source_frames, labels))
    return _errors(pairs, flow_scale, labels[0])[0]


def _images(path: Path) -> Iterator[np.ndarray]:
    """The RGB frames of the video at ``path``, decoded one at a time."""
    with VideoReader(path) as reader:
        for item in reader.items():
            if isinstance(item, Frame):
                yield item.image


def flicker(video: str | Path, source: str | Path | None = None) -> dict[str, float]:
    """The flicker of the video file ``video``: ``{"flicker": its warping error}``.

    With ``source`` (the video ``video`` was made from), the flow comes from the source, as
    the metric intends: the motion is the input's, while the noise and flicker an enhancer
    adds would mislead a flow computed on its output. Then
    ``flicker_source`` (the source's own warping error, same flow and pixels) and
    ``flicker_relative`` (flicker / flicker_source: above 1, the enhancement added flicker)
    are returned too.

    Raises:
        InputError: a file is not a readable video, has fewer than 2 frames, or the two
            differ in frame count or size.
    """
    video = Path(video)
    if source is None:
        label = f"'{video}'"
        alone = (((out,), out) for out, _ in _paired(_images(video), None, (label, label)))
        return {"flicker": _errors(alone, None, label)[0]}
    source = Path(source)
    labels = (f"'{video}'", f"its source '{source}'")
    pairs = (((out, src), src) for out, src in _paired(_images(video), _images(source), labels))
    value, own = _errors(pairs, None, labels[0])
    if own > 0:
        relative = value / own
    else:
        relative = math.inf if value > 0 else math.nan
    return {"flicker": value, "flicker_source": own, "flicker_relative": relative}

"""Temporal stability for video: enhancement that does not flicker from frame to frame.

Two passes, both reset at scene cuts (:class:`CutDetector`):

- :class:`TransformSmoother`: stages that predict a low-resolution transform of their input
  (``fast``'s coefficient grid, Zero-DCE++'s curves; the
  :class:`~egan_core.contracts.PredictsTransform` contract) get that transform averaged
  over time (an exponential moving average), so the global tone stops pumping.
- :class:`FlowBlender`: for any enhancer, the blind temporal-consistency pass of the
  literature (Bonneel et al. 2015, Lai et al. 2018), done as a motion-compensated
  recursive filter: the previous *output* is warped onto the current frame along the
  optical flow of the *inputs* (OpenCV's DIS on small contrast-normalised grays), and
  blended into the current output where the two agree to within the frame's temporal
  noise; where they differ more (occlusions, flow errors, new content) the current frame
  is kept as it is, so its detail is never replaced by a wrong warp. The blend works on
  the encoder's YUV 4:2:0 planes (half the samples of RGB).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch

#: Default strength of both passes: the weight of the past in the transform's moving
#: average, and the largest weight of the warped previous output (0 = every frame alone).
DEFAULT_TEMPORAL = 0.8
#: ``FlowBlender``'s ``keep_detail`` for chains with a stage that draws its own detail
#: (``gan``): on clips panning across real night photos, 0.25 halves the flicker and
#: lowers NIQE, where blending every frequency (0) smooths the texture and raises it
#: (benchmarks/bench_video_quality.py).
GENERATED_DETAIL = 0.25
#: Video predicts a stage's transform every this many frames (:class:`TransformSmoother`).
PREDICT_EVERY = 3
#: Long side of the grays the flow and the cut detection are computed on.
FLOW_SIDE = 480
_LEVELS = np.arange(256, dtype=np.float32)


def small_gray(image: np.ndarray, side: int = FLOW_SIDE) -> np.ndarray:
    """``image``'s luma (uint8) downscaled by an integer factor so its long side is at most
    ``side``. ``image``: ``(H, W, 3)`` RGB, or a ``(H, W)`` luma plane as it is (the
    decoder's Y plane saves the conversion)."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    factor = max(1, -(-max(gray.shape) // side))
    if factor == 1:
        return np.ascontiguousarray(gray)
    h, w = gray.shape
    return cv2.resize(gray, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)


class CutDetector:
    """Says whether a frame starts a new scene, from its small gray and the previous one's.

    A cut is a frame whose brightness-normalised 8x8 thumbnail differs from the previous one
    by more than ``threshold`` on average *and* whose 16-bin histogram differs by more than
    a third of it (half the L1 distance): a pan changes the first a little and the second
    hardly at all, a light switched on changes the histogram but not the layout. (Two
    night scenes share most of their histogram, dark, so its bar is lower.)
    """

    def __init__(self, threshold: float = 0.3) -> None:
        self.threshold = threshold
        self.previous: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, gray: np.ndarray) -> bool:
        """Whether ``gray`` (a :func:`small_gray`) starts a new scene; the first frame does."""
        thumb = cv2.resize(gray, (8, 8), interpolation=cv2.INTER_AREA).astype(np.float32)
        thumb /= thumb.mean() + 2.0
        hist = np.bincount((gray >> 4).ravel(), minlength=16).astype(np.float32)
        hist /= hist.sum()
        previous, self.previous = self.previous, (thumb, hist)
        if previous is None:
            return True
        layout = float(np.abs(thumb - previous[0]).mean())
        spread = 0.5 * float(np.abs(hist - previous[1]).sum())
        return layout > self.threshold and spread > self.threshold / 3

    def reset(self) -> None:
        """Forget the previous frame (the next one counts as a cut)."""
        self.previous = None


class TransformSmoother:
    """Exponential moving average of each stage's predicted transform: ``keep`` of the past
    per frame.

    The transform is predicted every ``every`` frames (and at once after a cut) and held in
    between: a moving average that keeps most of the past changes little from one frame to
    the next, and ``fast``'s prediction is a third of its per-frame cost. ``keep`` is
    raised to the ``every``-th power per prediction, so the average forgets at the same
    rate per frame whatever ``every`` is.
    """

    def __init__(self, keep: float = DEFAULT_TEMPORAL, every: int = PREDICT_EVERY) -> None:
        if not 0.0 <= keep < 1.0:
            raise ValueError(f"keep must be in [0, 1), got {keep}")
        if every < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        self.keep = keep
        self.every = every
        self.state: dict[int, torch.Tensor] = {}
        self.age: dict[int, int] = {}

    def __call__(self, stage: int, predict: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The smoothed transform of ``stage`` for this frame; ``predict()`` gives this
        frame's own when a prediction is due."""
        past = self.state.get(stage)
        if past is not None and self.age[stage] + 1 < self.every:
            self.age[stage] += 1
            return past
        transform = predict()
        if past is None or past.shape != transform.shape or self.keep == 0.0:
            smoothed = transform
        else:
            smoothed = torch.lerp(transform, past, self.keep ** self.every)
        self.state[stage], self.age[stage] = smoothed, 0
        return smoothed

    def reset(self) -> None:
        """Start again (a scene cut)."""
        self.state.clear()
        self.age.clear()


class FlowBlender:
    """The motion-compensated recursive blend of YUV 4:2:0 planes (see the module docstring).

    Args:
        strength: the largest weight of the warped previous output, in [0, 1).
        keep_detail: how much of the current frame's fine luma detail (what a 2-pixel
            Gaussian removes) is kept out of the blend, in [0, 1]. 0 blends every
            frequency, which also averages sensor noise away: right for models that
            transform their input's pixels (``fast``). A generative model (``gan``)
            draws texture of its own in each frame; blending it would smooth the texture
            away, so its detail is kept (1) and only the tone and colour are steadied.
        nearest_chroma: warp the chroma planes to the nearest pixel instead of bilinearly:
            a third of the cost of their warp (chroma is half size and smooth; for
            ``fast`` the flicker stays within a tenth), chosen where speed is the point.
    """

    def __init__(self, strength: float = DEFAULT_TEMPORAL, keep_detail: float = 0.0,
                 nearest_chroma: bool = False) -> None:
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"strength must be in [0, 1), got {strength}")
        if not 0.0 <= keep_detail <= 1.0:
            raise ValueError(f"keep_detail must be in [0, 1], got {keep_detail}")
        self.strength = strength
        self.keep_detail = keep_detail
        self.chroma_interpolation = cv2.INTER_NEAREST if nearest_chroma else cv2.INTER_LINEAR
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.previous: list[np.ndarray] | None = None
        self.previous_gray: np.ndarray | None = None
        self._grids: dict[tuple[int, int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._buffers: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
        """A work array kept from frame to frame: fresh full-size arrays every frame cost
        more in page faults than the arithmetic on them (a third of the blend at 1080p)."""
        key = (name, shape)
        if key not in self._buffers:
            self._buffers[key] = np.empty(shape, dtype)
        return self._buffers[key]

    def reset(self) -> None:
        """Forget the previous frame (a scene cut)."""
        self.previous = None
        self.previous_gray = None

    def _maps(self, flow: np.ndarray, h: int, w: int, name: str = "map") -> tuple[np.ndarray, np.ndarray]:
        """Sampling maps of an ``h x w`` plane along the small ``flow``.

        The maps are made at the flow's size (each small pixel's centre, in the plane's
        coordinates, plus its scaled flow) and resized: bilinear resizing reproduces the
        plane's own pixel coordinates exactly, so this equals resizing the flow and adding
        the full-size grid, at a fraction of the cost.
        """
        fh, fw = flow.shape[:2]
        sx, sy = w / fw, h / fh
        key = (fh, fw, h, w)
        if key not in self._grids:
            self._grids[key] = ((np.arange(fw, dtype=np.float32) + 0.5) * sx - 0.5,
                                ((np.arange(fh, dtype=np.float32) + 0.5) * sy - 0.5)[:, None])
        gx, gy = self._grids[key]
        small_x = flow[..., 0] * np.float32(sx) + gx
        small_y = flow[..., 1] * np.float32(sy) + gy
        return tuple(cv2.resize(small, (w, h), dst=self._buffer(f"{name}_{axis}", (h, w)),
                                interpolation=cv2.INTER_LINEAR)
                     for small, axis in ((small_x, "x"), (small_y, "y")))  # type: ignore[return-value]

    def __call__(self, planes: Sequence[np.ndarray], gray: np.ndarray, cut: bool) -> None:
        """Blend the warped previous output into ``planes`` (Y, U, V; changed in place).

        ``gray`` is the *input* frame's :func:`small_gray`; ``cut`` restarts the filter.
        """
        if cut or self.strength == 0.0:
            self.reset()
        if self.previous is not None and self.previous_gray is not None:
            self._blend(planes, gray)
        self.previous = list(planes)  # the caller hands over new planes every frame
        self.previous_gray = gray

    def _blend(self, planes: Sequence[np.ndarray], gray: np.ndarray) -> None:
        assert self.previous is not None and self.previous_gray is not None
        gain = 110.0 / (float(gray.mean()) + 1.0)  # dark frames: the flow needs contrast
        now = cv2.convertScaleAbs(gray, alpha=gain)
        before = cv2.convertScaleAbs(self.previous_gray, alpha=gain)
        flow = self.flow.calc(now, before, None)  # now(x) ~ before(x + flow(x))
        y = planes[0]
        h, w = y.shape
        map_x, map_y = self._maps(flow, h, w)
        warped = cv2.remap(self.previous[0], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
                           dst=self._buffer("warped", (h, w), np.uint8))
        diff = cv2.absdiff(warped, y, dst=self._buffer("diff", (h, w), np.uint8))
        # the temporal noise of the output: the typical difference where the warp is right
        sigma = min(12.0, max(1.0, 1.4826 * float(np.median(diff[::8, ::8]))))
        # full weight up to 2 sigma of difference, none from 4 sigma on (after a 3x3 mean,
        # so that one noisy pixel neither opens nor closes the blend alone)
        ramp = np.clip((4.0 * sigma - _LEVELS) / (2.0 * sigma), 0.0, 1.0) * self.strength
        blurred = cv2.blur(diff, (3, 3), dst=self._buffer("blurred", (h, w), np.uint8))
        # in 256ths, so the blend runs on integers (strength < 1: at most 255); int16 like
        # the change it multiplies (OpenCV's mixed-type multiply is half as fast)
        weight = cv2.LUT(blurred, np.rint(ramp * 256).astype(np.int16),
                         dst=self._buffer("weight", (h, w), np.int16))
        if self.keep_detail == 0.0:
            self._mix(warped, planes[0], weight)
        else:  # y + weight * (the change, less keep_detail of its fine part)
            current = y.astype(np.float32)
            change = cv2.subtract(warped.astype(np.float32), current)
            coarse = cv2.GaussianBlur(change, (0, 0), 2.0)
            change = cv2.addWeighted(change, 1.0 - self.keep_detail, coarse, self.keep_detail, 0.0)
            planes[0][...] = cv2.add(current, cv2.multiply(change, weight, scale=1 / 256, dtype=cv2.CV_32F),
                                     dtype=cv2.CV_8U)
        ch, cw = planes[1].shape
        if (ch, cw) != (h, w):
            map_x, map_y = self._maps(flow, ch, cw, "chroma_map")
            weight = cv2.resize(weight, (cw, ch), dst=self._buffer("chroma_weight", (ch, cw), np.int16),
                                interpolation=cv2.INTER_AREA)
        for k in (1, 2):
            warped = cv2.remap(self.previous[k], map_x, map_y, self.chroma_interpolation,
                               borderMode=cv2.BORDER_REPLICATE,
                               dst=self._buffer("chroma_warped", planes[k].shape, np.uint8))
            self._mix(warped, planes[k], weight)

    def _mix(self, warped: np.ndarray, plane: np.ndarray, weight: np.ndarray) -> None:
        """``plane += weight / 256 * (warped - plane)``, rounded, in place (uint8 planes, int16 weight)."""
        change = cv2.subtract(warped, plane, dst=self._buffer("change", plane.shape, np.int16),
                              dtype=cv2.CV_16S)
        cv2.multiply(change, weight, dst=change, scale=1 / 256, dtype=cv2.CV_16S)
        cv2.add(plane, change, dst=plane, dtype=cv2.CV_8U)

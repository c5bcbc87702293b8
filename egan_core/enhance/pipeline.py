"""The :class:`Enhancer`: a chain of enhancer stages with strength, tiling and clipping.

Each stage is a callable ``(N, 3, H, W) float in [0, 1] -> same shape`` (the enhancer
contract). For every stage in order the pipeline computes ``y = stage(x)``, then
``x = clip(x + strength * (y - x), 0, 1)``: strength scales each stage's residual, so
0 returns the input unchanged and 1 each stage's own output. A stage that has a ``tile``
attribute (an int, or None for automatic) is run in overlapping tiles
(:mod:`egan_core.enhance.tiling`): where it also has ``tile_context`` (its receptive field
in pixels) and ``tile_multiple`` (its padding grid), tiles equal one whole-frame pass;
other stages (CLAHE, denoising) see the whole frame. A stage after the first that offers
``clean_input(x)`` (``denoise``) works on the chain's input, before the first stage. A
stage that offers ``finish_whole_frame(x, y)`` (``gan``) corrects its own output after its
tiles, seeing the whole frame.
8-bit results are rounded (the original EnlightenGAN truncated).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from egan_core.contracts import (
    CleansChainInput,
    EnhancesUint8,
    EnhancesYcc,
    FinishesWholeFrame,
    PredictsTransform,
)
from egan_core.enhance.io import read_pil, to_uint8
from egan_core.enhance.tiling import resolve_tile, run_tiled
from egan_core.errors import EganError, UsageError
from egan_core.threads import serial_if_small
from egan_core.video.io import upsample_chroma

Stage = Callable[[torch.Tensor], torch.Tensor]
#: ``smooth(stage_index, predict) -> transform``: how video smooths a stage's predicted
#: transform over time (:class:`~egan_core.video.temporal.TransformSmoother`); it calls
#: ``predict()`` for this frame's own transform when it needs one.
Smooth = Callable[[int, Callable[[], torch.Tensor]], torch.Tensor]
#: Largest strength accepted (2 doubles every residual).
MAX_STRENGTH = 2.0


def _all_finite(y: torch.Tensor) -> bool:
    """Whether ``y`` has no NaN or inf: one reduction (min and max propagate NaN)."""
    if y.numel() == 0:
        return True
    if not y.is_floating_point():
        return True
    lo, hi = torch.aminmax(y)
    return bool(torch.isfinite(lo) & torch.isfinite(hi))


def _non_finite(name: str) -> str:
    return (f"enhancer '{name}' produced non-finite values (NaN or inf); check its checkpoint, "
            "or try --precision fp32")


def _keeps_levels(from_rgb: np.ndarray) -> bool:
    """Whether ``from_rgb`` takes every RGB in [0, 1] to levels in [0, 255] (after the + 0.5
    of rounding): true of every limited-range conversion, so the clip after it can go."""
    coefficients, offset = from_rgb[:, :3] * 255, from_rgb[:, 3] + 0.5
    low = offset + np.minimum(coefficients, 0).sum(axis=1)
    high = offset + np.maximum(coefficients, 0).sum(axis=1)
    return bool((low >= 0).all() and (high < 256).all())


class Enhancer:
    """A callable enhancer: PIL image, HxWx3 uint8 array or Nx3xHxW tensor in, same out.

    Args:
        stages: enhancer callables, applied in order.
        names: their registry names (for messages and ``repr``).
        strength: residual scale in [0, 2] (0 = input, 1 = each stage's output).
        device: where the stages run.
    """

    def __init__(self, stages: Sequence[Stage], *, names: Sequence[str] = (),
                 strength: float = 1.0, device: torch.device | str = "cpu") -> None:
        if not stages:
            raise UsageError("an enhancer needs at least one stage")
        if not (isinstance(strength, (int, float)) and math.isfinite(strength)
                and 0.0 <= strength <= MAX_STRENGTH):
            raise UsageError(f"strength must be a number from 0 to {MAX_STRENGTH:g}, got {strength!r}")
        self.stages = list(stages)
        self.names = list(names) or [type(s).__name__ for s in stages]
        self.strength = float(strength)
        self.device = torch.device(device)
        self._frame_buffers = threading.local()  # per thread: video frames come one after another

    def _frame_buffer(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A uint8 work array for :meth:`enhance_frame_ycc`, kept for the next frame of the
        same size (fresh ones cost page faults every frame)."""
        buffers = self._frame_buffers.__dict__
        if name not in buffers or buffers[name].shape != shape:
            buffers[name] = np.empty(shape, np.uint8)
        return buffers[name]

    def __repr__(self) -> str:
        return f"Enhancer({' -> '.join(self.names)}, strength={self.strength:g}, device={self.device})"

    def __call__(self, image: Any) -> Any:
        """Enhance a ``PIL.Image``, an ``(H, W, 3)`` uint8 (or float [0, 1]) array or a tensor.

        Returns the same kind: a RGB ``PIL.Image`` of the same size, upright (its EXIF
        orientation applied, as ``egan enhance`` writes it), an array of the same shape
        and dtype, or a float tensor of the same shape on the same device.
        """
        if isinstance(image, Image.Image):
            out = self.enhance_array(read_pil(image))
            return Image.fromarray(to_uint8(out), "RGB")
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3:
                raise UsageError(f"expected an (H, W, 3) array, got shape {image.shape}")
            if image.dtype == np.uint8:
                direct = self._enhance_uint8(image)
                if direct is not None:
                    return direct
                x = torch.from_numpy(image.astype(np.float32)).div_(255.0)  # one float copy
                return to_uint8(self.process(x.permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy())
            return self.enhance_array(image.astype(np.float32)).astype(image.dtype, copy=False)
        if isinstance(image, torch.Tensor):
            single = image.dim() == 3
            batch = image[None] if single else image
            if batch.dim() != 4 or batch.shape[1] != 3:
                raise UsageError(f"expected an (N, 3, H, W) tensor, got shape {tuple(image.shape)}")
            out = self.process(batch).to(image.device)
            out = out if not image.is_floating_point() else out.to(image.dtype)
            return out[0] if single else out
        raise UsageError(f"cannot enhance a {type(image).__name__}; pass a PIL image, "
                         "an (H, W, 3) uint8 array or an (N, 3, H, W) tensor in [0, 1]")

    def enhance_array(self, image: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` float [0, 1] -> ``(H, W, 3)`` float32 [0, 1]."""
        x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)
        return self.process(x[None])[0].permute(1, 2, 0).numpy()

    def enhance_frame(self, image: np.ndarray, smooth: Smooth | None = None) -> np.ndarray:
        """Enhance one ``(H, W, 3)`` uint8 video frame; ``smooth`` (if given) replaces each
        :class:`~egan_core.contracts.PredictsTransform` stage's transform before it is applied."""
        direct = self._enhance_uint8(image, smooth)
        if direct is not None:
            return direct
        x = torch.from_numpy(np.ascontiguousarray(image).astype(np.float32)).div_(255.0)
        return to_uint8(self.process(x.permute(2, 0, 1)[None], smooth)[0].permute(1, 2, 0).numpy())

    def _enhance_uint8(self, image: np.ndarray, smooth: Smooth | None = None) -> np.ndarray | None:
        """``(H, W, 3)`` uint8 -> uint8 in bands of rows, or None where this does not apply.

        It applies to one stage at strength 1 on the CPU whose stage offers
        ``enhance_uint8(image, finish)`` (the ``fast`` enhancer): the stage reads the uint8
        pixels itself (as ``uint8 / 255``) and calls ``finish(n, start, stop, band)`` with
        its float32 output for rows ``start:stop`` as ``(3, rows, W)`` planes that may be
        changed in place. Each band is checked, clipped and rounded as :meth:`process` and
        :func:`to_uint8` do, while it is still in the CPU caches: no full-size float copy
        of the result is made.
        """
        stage = self._direct_stage(EnhancesUint8)
        if stage is None:
            return None
        transform = None
        if smooth is not None and isinstance(stage, PredictsTransform):
            predict = getattr(stage, "predict_transform_uint8", None)
            if predict is None:
                return None
            transform = smooth(0, lambda: predict(image))
        image = np.ascontiguousarray(image)
        out = np.empty_like(image)

        def finish(_: int, start: int, stop: int, band: torch.Tensor) -> None:
            if not _all_finite(band):
                raise EganError(_non_finite(self.names[0]))
            band.clamp_(0.0, 1.0).mul_(255.0).add_(0.5)  # the cast below floors, as to_uint8
            cv2.merge([plane.numpy().astype(np.uint8) for plane in band], dst=out[start:stop])

        if transform is None:
            stage.enhance_uint8(image[None], finish)
        else:
            stage.enhance_uint8(image[None], finish, transform=transform)
        return out

    def _direct_stage(self, kind: type) -> Any:
        """The chain's one stage where it runs at strength 1 on the CPU and is a ``kind``
        (a stage that reads uint8 pixels itself) with no whole-frame finish; else None."""
        stage = self.stages[0]
        alone = len(self.stages) == 1 and self.strength == 1.0 and self.device.type == "cpu"
        direct = isinstance(stage, kind) and not isinstance(stage, FinishesWholeFrame)
        return stage if alone and direct else None

    @property
    def reads_ycc(self) -> bool:
        """Whether :meth:`enhance_frame_ycc` applies: video frames go from the decoder's
        planes to the encoder's without ever being RGB (``fast``, the real-time path)."""
        return self._direct_stage(EnhancesYcc) is not None

    def enhance_frame_ycc(self, planes: Sequence[np.ndarray], to_rgb: np.ndarray, from_rgb: np.ndarray,
                          smooth: Smooth | None = None,
                          chroma: np.ndarray | None = None) -> np.ndarray | None:
        """Enhance one 4:2:0 video frame given as its Y, Cb and Cr planes (uint8; chroma at
        half size, even sizes) -> ``(3H/2, W)`` I420 (``from_rgb``'s range), or None where
        the chain cannot (then use :meth:`enhance_frame` on the RGB frame).

        It applies where :meth:`enhance_frame` takes its uint8 path and the stage is
        :class:`~egan_core.contracts.EnhancesYcc`: the frame is never a full-size RGB array.
        Chroma is upsampled bilinearly (as :func:`egan_core.video.io.i420_to_rgb` does) and
        the output's chroma is the 2x2 mean of each band's, converted with ``from_rgb``
        (``3 x 4``, 8-bit RGB levels to Y'CbCr levels): RGB is clipped to [0, 1] and the
        levels rounded (and clipped to [0, 255] where ``from_rgb`` could leave it; no
        limited-range matrix can). ``chroma``: the chroma planes already upsampled
        (:func:`~egan_core.video.io.upsample_chroma`; the video pipeline makes them on its
        reading thread, off the enhancing thread's path).
        """
        stage = self._direct_stage(EnhancesYcc)
        if stage is None:
            return None
        y = planes[0]
        h, w = y.shape
        predict = lambda: stage.predict_transform_ycc(planes, to_rgb)  # noqa: E731
        transform = predict() if smooth is None else smooth(0, predict)
        if not _all_finite(transform):  # the bands are a transform of clipped pixels: finite with it
            raise EganError(_non_finite(self.names[0]))
        if chroma is None:
            chroma = upsample_chroma(planes, self._frame_buffer("upsampled", (2, h, w)))
        out = np.empty((h * 3 // 2, w), np.uint8)  # the caller keeps it
        chroma_out = self._frame_buffer("chroma", (2, h, w))  # full-size Cb and Cr, halved at the end
        scale = torch.from_numpy(from_rgb[:, :3].astype(np.float32) * 255)
        offset = torch.from_numpy(from_rgb[:, 3:].astype(np.float32) + 0.5)  # + 0.5: the casts floor
        clip = not _keeps_levels(from_rgb)
        ycc_buf: list[torch.Tensor] = []

        def finish(_: int, start: int, stop: int, band: torch.Tensor) -> None:
            rows = (stop - start) * w
            if not ycc_buf or ycc_buf[0].shape[1] < rows:
                ycc_buf[:] = [torch.empty(3, rows)]
            ycc = torch.addmm(offset, scale, band.clamp_(0.0, 1.0).reshape(3, rows), out=ycc_buf[0][:, :rows])
            levels = (ycc.clamp_(0.0, 255.0) if clip else ycc).numpy()
            out[start:stop] = levels[0].reshape(-1, w)  # float to uint8: floors
            chroma_out[:, start:stop] = levels[1:].reshape(2, -1, w)

        stage.enhance_ycc([y, *chroma], to_rgb, transform, finish)
        halves = out[h:].reshape(2, h // 2, w // 2)
        for k in range(2):  # the 2x2 mean, rounded (as rgb_to_i420 makes it)
            cv2.resize(chroma_out[k], (w // 2, h // 2), dst=halves[k], interpolation=cv2.INTER_AREA)
        return out

    def process(self, x: torch.Tensor, smooth: Smooth | None = None,
                progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """Run the chain on ``(N, 3, H, W)`` in [0, 1]; returns float32 [0, 1] on the CPU.

        ``smooth``: see :meth:`enhance_frame`. ``progress(done, total)``: told after each
        tile of a tiled stage (large images).

        Raises:
            EganError: a stage returned the wrong shape or non-finite values.
        """
        x = x.to(self.device, torch.float32)
        if self.strength == 0:
            return x.clamp(0.0, 1.0).cpu()
        with torch.no_grad():
            # stages after the first that clean the chain's input do so before the first runs
            cleaned = set()
            for index, (name, stage) in enumerate(zip(self.names, self.stages, strict=True)):
                if index > 0 and isinstance(stage, CleansChainInput):
                    y = stage.clean_input(x)
                    if y is not None:
                        x = self._merge(name, x, y)
                        cleaned.add(index)
            for index, (name, stage) in enumerate(zip(self.names, self.stages, strict=True)):
                if index not in cleaned:
                    x = self._merge(name, x, self._run_stage(stage, x, index, smooth, progress))
        return x.cpu()

    def _merge(self, name: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """A stage's output ``y`` checked and taken at the chain's strength: ``clip(x + strength (y - x))``.

        Raises:
            EganError: ``y`` has the wrong shape or non-finite values.
        """
        if y.shape != x.shape:
            raise EganError(f"enhancer '{name}' returned shape {tuple(y.shape)} "
                            f"for an input of shape {tuple(x.shape)}")
        with serial_if_small(y.numel()):
            if not _all_finite(y):
                raise EganError(_non_finite(name))
            y = y.to(x.device, torch.float32)
            if self.strength == 1.0:  # lerp(x, y, 1) is y exactly: skip a pass
                # clip in place (saving a copy) unless the output shares the input's
                # memory (an identity stage, a view) or is an inference tensor (those
                # cannot change outside inference mode; the caller gets a normal one)
                owned = (not y.is_inference()
                         and y.untyped_storage().data_ptr() != x.untyped_storage().data_ptr())
                return y.clamp_(0.0, 1.0) if owned else y.clamp(0.0, 1.0)
            return torch.lerp(x, y, self.strength).clamp_(0.0, 1.0)

    @staticmethod
    def _run_stage(stage: Stage, x: torch.Tensor, index: int = 0, smooth: Smooth | None = None,
                   progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
        if smooth is not None and isinstance(stage, PredictsTransform):  # whole frame: one transform
            y = stage.apply_transform(x, smooth(index, lambda: stage.predict_transform(x)))
        elif not hasattr(stage, "tile"):
            y = stage(x)
        else:
            tile = resolve_tile(stage.tile, x.shape[-2], x.shape[-1])
            y = run_tiled(stage, x, tile, context=int(getattr(stage, "tile_context", 0)),
                          multiple=int(getattr(stage, "tile_multiple", 1)), progress=progress)
        if isinstance(stage, FinishesWholeFrame) and y.shape == x.shape:  # (else _merge says why)
            y = stage.finish_whole_frame(x, y)
        return y

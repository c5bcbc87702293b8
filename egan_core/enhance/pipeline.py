"""The :class:`Enhancer`: a chain of enhancer stages with strength, tiling and clipping.

Each stage is a callable ``(N, 3, H, W) float in [0, 1] -> same shape`` (the enhancer
contract). For every stage in order the pipeline computes ``y = stage(x)``, then
``x = clip(x + strength * (y - x), 0, 1)``: strength scales each stage's residual, so
0 returns the input unchanged and 1 each stage's own output. A stage that has a ``tile``
attribute (an int, or None for automatic) is run in overlapping tiles
(:mod:`egan_core.enhance.tiling`); other stages (CLAHE, denoising) see the whole frame.
8-bit results are rounded (the original EnlightenGAN truncated).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from egan_core.enhance.io import read_pil, to_uint8
from egan_core.enhance.runtime import serial_if_small
from egan_core.enhance.tiling import resolve_tile, run_tiled
from egan_core.errors import EganError, UsageError

Stage = Callable[[torch.Tensor], torch.Tensor]
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
                return to_uint8(self.enhance_array(image.astype(np.float32) / 255.0))
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

    def process(self, x: torch.Tensor) -> torch.Tensor:
        """Run the chain on ``(N, 3, H, W)`` in [0, 1]; returns float32 [0, 1] on the CPU.

        Raises:
            EganError: a stage returned the wrong shape or non-finite values.
        """
        x = x.to(self.device, torch.float32)
        if self.strength == 0:
            return x.clamp(0.0, 1.0).cpu()
        with torch.no_grad():
            for name, stage in zip(self.names, self.stages, strict=True):
                y = self._run_stage(stage, x)
                if y.shape != x.shape:
                    raise EganError(f"enhancer '{name}' returned shape {tuple(y.shape)} "
                                    f"for an input of shape {tuple(x.shape)}")
                with serial_if_small(y.numel()):
                    if not _all_finite(y):
                        raise EganError(f"enhancer '{name}' produced non-finite values (NaN or "
                                        "inf); check its checkpoint, or try --precision fp32")
                    y = y.to(x.device, torch.float32)
                    if self.strength == 1.0:  # lerp(x, y, 1) is y exactly: skip a pass
                        x = y.clamp(0.0, 1.0)
                    else:
                        x = torch.lerp(x, y, self.strength).clamp_(0.0, 1.0)
        return x.cpu()

    @staticmethod
    def _run_stage(stage: Stage, x: torch.Tensor) -> torch.Tensor:
        if not hasattr(stage, "tile"):
            return stage(x)
        tile = resolve_tile(stage.tile, x.shape[-2], x.shape[-1])
        return run_tiled(stage, x, tile)

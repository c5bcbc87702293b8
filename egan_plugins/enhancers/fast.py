"""The ``fast`` enhancer: the distilled real-time model (``fast_grid``, see MODEL.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from egan_core.errors import UsageError
from egan_core.model_loading import load_generator
from egan_core.threads import on_serial_thread
from egan_core.weights import checkpoint_or_shipped
from egan_plugins.shipped import FAST_DETAIL_MODEL, FAST_MODEL

#: The file of the model ``fast`` uses without ``checkpoint`` (``FAST_MODEL.file``).
FAST_WEIGHTS = FAST_MODEL.file


class FastRunner:
    """Enhancer stage around a ``fast_grid`` generator: ``(N, 3, H, W)`` [0, 1] -> enhanced.

    It has no ``tile`` attribute on purpose: the model's low-resolution branch must see the
    whole frame (tiles would each get their own tone decisions and show seams), and its
    full-resolution pass already works in bands of rows, so memory stays near the size of
    the input and output even for very large photos.
    """

    def __init__(self, model: torch.nn.Module, device: torch.device) -> None:
        if not callable(getattr(model, "enhance_banded", None)):
            raise UsageError(f"enhancer 'fast' needs a fast_grid generator, got {type(model).__name__}; "
                             "use enhancer 'gan' for other generators")
        self.device = device
        self.model = model.float().eval().requires_grad_(False).to(device)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance ``(N, 3, H, W)`` in [0, 1]; returns float32 on the model's device, not clipped."""
        with torch.no_grad():  # not inference_mode: the pipeline clips the output in place
            x = x.to(self.device, torch.float32)
            if self.device.type != "cpu":  # GPUs: one whole-frame pass is fastest
                return self.model.enhance(x)
            return self.model.enhance_banded(x)

    def predict_transform(self, x: torch.Tensor) -> torch.Tensor:
        """The coefficient grid of ``(N, 3, H, W)`` in [0, 1] (what video smooths over time)."""
        with torch.no_grad():
            return self.model.grid(x.to(self.device, torch.float32))

    def apply_transform(self, x: torch.Tensor, transform: torch.Tensor) -> torch.Tensor:
        """Enhance ``x`` with the coefficient grid ``transform`` (see :meth:`predict_transform`)."""
        with torch.no_grad():
            x = x.to(self.device, torch.float32)
            if self.device.type != "cpu":
                return self.model.enhance(x, transform)
            return self.model.enhance_banded(x, transform)

    def predict_transform_uint8(self, image: np.ndarray) -> torch.Tensor:
        """The coefficient grid of one ``(H, W, 3)`` uint8 frame (CPU), computed on the thread
        :meth:`enhance_uint8` runs on (one intra-op thread, as the rest of the frame's work)."""
        out: list[torch.Tensor] = []
        on_serial_thread(lambda: out.append(self.model.grid_uint8(image)))
        return out[0]

    def predict_transform_ycc(self, planes: Sequence[np.ndarray], to_rgb: np.ndarray) -> torch.Tensor:
        """The coefficient grid of a frame given as Y'CbCr planes (see ``EnhancesYcc``)."""
        out: list[torch.Tensor] = []
        on_serial_thread(lambda: out.append(self.model.grid_ycc(planes, to_rgb)))
        return out[0]

    def enhance_ycc(self, planes: Sequence[np.ndarray], to_rgb: np.ndarray, transform: torch.Tensor,
                    finish: Callable[[int, int, int, torch.Tensor], None]) -> None:
        """Enhance a frame given as full-size Y'CbCr planes with the grid ``transform``,
        band by band (see ``EnhancesYcc``)."""
        self.model.enhance_ycc(planes, to_rgb, transform, finish)

    def enhance_uint8(self, image: np.ndarray, finish: Callable[[int, int, int, torch.Tensor], None],
                      transform: torch.Tensor | None = None) -> None:
        """Enhance an ``(N, H, W, 3)`` uint8 array (CPU) band by band, without float copies of it.

        The pipeline's path for uint8 arrays (:class:`~egan_core.enhance.pipeline.Enhancer`):
        ``finish(n, start, stop, band)`` gets rows ``start:stop`` of image ``n`` as
        ``(3, rows, W)`` float32, not clipped, in a buffer it may change; see
        ``FastGridNet.enhance_uint8``. ``transform``: the grid to apply (one per image), as
        :meth:`predict_transform` gives it; None predicts it.
        """
        self.model.enhance_uint8(image, finish, transform)

def fast_enhancer(checkpoint: str | None = None, detail: bool = False,
                  device: torch.device | None = None) -> FastRunner:
    """Enhance with the distilled real-time model (far faster than ``gan``; see docs/benchmarks.md).

    Args:
        checkpoint: ``fast_grid`` weights (egan checkpoint or ``.safetensors``); None = the
            shipped ``fast`` model.
        detail: without ``checkpoint``, the shipped ``fast`` v2 weights: the same tone and
            colour plus a full-resolution detail branch (closer to EnlightenGAN's texture,
            several times slower; MODEL.md has the trade-off).
        device: injected by the engine.

    Raises:
        EganError: no checkpoint given and the shipped weights are missing.
        UsageError: ``detail`` with a ``checkpoint`` (the checkpoint decides).
    """
    if detail and checkpoint is not None:
        raise UsageError("enhancer 'fast': detail=true picks the shipped fast v2 weights; with --checkpoint "
                         "the checkpoint decides (drop detail)")
    path = checkpoint_or_shipped(checkpoint, FAST_DETAIL_MODEL if detail else FAST_MODEL)
    return FastRunner(load_generator(path), device or torch.device("cpu"))

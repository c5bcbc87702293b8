"""Classical enhancers on OpenCV: ``clahe`` (the fork's baseline) and ``denoise``."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch

from egan_core.errors import UsageError

ImageFn = Callable[[np.ndarray], np.ndarray]


def _per_image(fn: ImageFn, x: torch.Tensor) -> torch.Tensor:
    """Apply an ``(H, W, 3)`` uint8 RGB function to each image of an ``(N, 3, H, W)`` batch."""
    batch = (x.detach().float().clamp(0, 1) * 255 + 0.5).floor().to(torch.uint8)
    batch = batch.permute(0, 2, 3, 1).cpu().numpy()
    out = np.stack([fn(np.ascontiguousarray(img)) for img in batch])
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(x.device, torch.float32) / 255.0


class Clahe:
    """Contrast-limited adaptive histogram equalisation of the LAB lightness channel.

    Args:
        clip_limit: contrast limit of each tile's histogram (OpenCV's ``clipLimit``).
        tiles: the image is split into ``tiles x tiles`` regions.
        device: injected; results come back on it.
    """

    def __init__(self, clip_limit: float = 2.0, tiles: int = 2,
                 device: torch.device | None = None) -> None:
        if clip_limit <= 0 or tiles < 1:
            raise UsageError(f"clahe needs clip_limit > 0 and tiles >= 1, got {clip_limit}, {tiles}")
        self.clip_limit, self.tiles = float(clip_limit), int(tiles)

    def _one(self, rgb: np.ndarray) -> np.ndarray:
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
        clahe = cv2.createCLAHE(clipLimit=self.clip_limit, tileGridSize=(self.tiles, self.tiles))
        lab[..., 0] = clahe.apply(np.ascontiguousarray(lab[..., 0]))
        return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [0, 1] -> equalised, same shape (computed in 8 bits)."""
        return _per_image(self._one, x)


class Denoise:
    """Non-local means colour denoising (OpenCV ``fastNlMeansDenoisingColored``).

    Args:
        h: filter strength of the lightness (higher removes more noise and detail).
        h_color: filter strength of the colour channels (None = same as ``h``).
        device: injected; results come back on it.
    """

    def __init__(self, h: float = 5.0, h_color: float | None = None,
                 device: torch.device | None = None) -> None:
        if h < 0 or (h_color is not None and h_color < 0):
            raise UsageError(f"denoise strengths must be >= 0, got h={h}, h_color={h_color}")
        self.h = float(h)
        self.h_color = float(h if h_color is None else h_color)

    def _one(self, rgb: np.ndarray) -> np.ndarray:
        return cv2.fastNlMeansDenoisingColored(rgb, None, self.h, self.h_color, 7, 21)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [0, 1] -> denoised, same shape (computed in 8 bits; h=0: as is)."""
        if self.h == 0 and self.h_color == 0:
            return x
        return _per_image(self._one, x)

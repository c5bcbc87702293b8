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


#: OpenCV's strength ``h`` per unit of estimated noise sigma (8-bit levels). Non-local means
#: removes Gaussian noise best with h close to its sigma (measured on textured scenes with
#: sigma 5 to 35, before and after CLAHE).
H_PER_SIGMA = 1.0


def estimate_noise(rgb: np.ndarray) -> float:
    """Gaussian noise sigma of an image, in its own units (8-bit levels for uint8).

    Donoho's wavelet estimate, as scikit-image's ``estimate_sigma``: the median absolute
    value of the finest diagonal (HH) Haar subband divided by 0.6745, which image edges
    hardly move; the mean over the colour channels.
    """
    x = np.asarray(rgb, dtype=np.float32)
    if x.ndim == 2:
        x = x[..., None]
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    if h == 0 or w == 0:
        return 0.0
    x = x[:h, :w]
    hh = (x[0::2, 0::2] - x[0::2, 1::2] - x[1::2, 0::2] + x[1::2, 1::2]) * 0.5
    return float(np.median(np.abs(hh).reshape(-1, x.shape[2]), axis=0).mean() / 0.6745)


#: Chained after an enhancer, ``denoise`` cleans the chain's dark input at this many times
#: its noise sigma: on the 34 teacher photos with Poisson-Gaussian noise, the best PSNR to
#: the noise-free enhancement of the strengths measured, and NIQE lower on the unmodified
#: photos (benchmarks/bench_denoise.py). The noise sigma of a dark input is measured
#: cleanly, and removing more than it costs little texture at the input's levels, which
#: the enhancer brightens afterwards.
SOURCE_H_PER_SIGMA = 1.75
#: Side of the patches non-local means compares: OpenCV's 7 alone (the image it is given
#: may be bright and textured); 3 on the chain's dark input, whose noise sits at a level or
#: two where larger patches match too few others to average the noise away (+1 dB over 7,
#: and a lower NIQE, on photos the choice was not made on; docs/benchmarks.md).
TEMPLATE, SOURCE_TEMPLATE = 7, 3


class Denoise:
    """Non-local means colour denoising (OpenCV ``fastNlMeansDenoisingColored``).

    Brightening multiplies the noise of dark regions, so a fixed strength fits no chain.
    Alone (or first in a chain) the strength follows the noise the image shows
    (:func:`estimate_noise`). After an enhancer it works on the chain's input, before the
    enhancer brightens it (:class:`~egan_core.contracts.CleansChainInput`): there the noise
    is the sensor's, even and measurable, and each region loses it before its gain
    multiplies it, so the strength in the enhanced image follows the gain of every region
    by construction (``h`` set by hand is a strength in the enhanced image's levels: then
    it works in its own place). Removing the noise from the enhanced image instead, with
    the strength set per region from the input's noise times the gain, was measured and
    gave less than half the gain in PSNR and a higher NIQE (docs/benchmarks.md,
    *Denoising*).

    Args:
        h: filter strength of the lightness (higher removes more noise and detail);
            None = estimated per image (``H_PER_SIGMA`` x its noise sigma in 8-bit levels).
        h_color: filter strength of the colour channels (None = the same as ``h``).
        device: injected; results come back on it.
    """

    def __init__(self, h: float | None = None, h_color: float | None = None,
                 device: torch.device | None = None) -> None:
        if (h is not None and h < 0) or (h_color is not None and h_color < 0):
            raise UsageError(f"denoise strengths must be >= 0, got h={h}, h_color={h_color}")
        self.h = None if h is None else float(h)
        self.h_color = None if h_color is None else float(h_color)

    def strengths(self, rgb: np.ndarray, per_sigma: float = H_PER_SIGMA) -> tuple[float, float]:
        """``(h, h_color)`` for one ``(H, W, 3)`` uint8 image (``per_sigma`` x its estimated
        noise where not set)."""
        h = per_sigma * estimate_noise(rgb) if self.h is None else self.h
        return h, h if self.h_color is None else self.h_color

    def _one(self, rgb: np.ndarray, per_sigma: float = H_PER_SIGMA, template: int = TEMPLATE) -> np.ndarray:
        h, h_color = self.strengths(rgb, per_sigma)
        if h == 0 and h_color == 0:
            return rgb
        return cv2.fastNlMeansDenoisingColored(rgb, None, h, h_color, template, 21)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [0, 1] -> denoised, same shape (computed in 8 bits; h=0: as is)."""
        if self.h == 0 and self.h_color in (0, None):
            return x
        return _per_image(self._one, x)

    def clean_input(self, x: torch.Tensor) -> torch.Tensor | None:
        """Denoise the chain's dark input ``(N, 3, H, W)`` in [0, 1] (this stage follows an
        enhancer) at :data:`SOURCE_H_PER_SIGMA` times its noise, patches of
        :data:`SOURCE_TEMPLATE` pixels; None where ``h`` is set
        by hand (a strength in the enhanced image's levels: applied there, in this stage's
        own place)."""
        if self.h is not None:
            return None
        return _per_image(lambda rgb: self._one(rgb, SOURCE_H_PER_SIGMA, SOURCE_TEMPLATE), x)

"""Image quality metrics: NIQE and mean brightness (no reference), PSNR and SSIM (full reference).

All take images as numpy arrays on the 0..255 scale (``uint8`` or float), HxW or HxWx3
RGB, and return a Python float. NIQE follows the authors' MATLAB release; PSNR and SSIM
work on RGB (default) or on the BT.601 Y channel (``channel="y"``).
"""

from __future__ import annotations

from egan_core.metrics.brightness import brightness
from egan_core.metrics.niqe import niqe
from egan_core.metrics.psnr import CHANNELS, psnr
from egan_core.metrics.ssim import ssim

#: metric name -> whether it needs a reference image.
NEEDS_REFERENCE: dict[str, bool] = {"niqe": False, "psnr": True, "ssim": True, "brightness": False}

__all__ = ["CHANNELS", "NEEDS_REFERENCE", "brightness", "niqe", "psnr", "ssim"]

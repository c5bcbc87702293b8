"""Colour in the shadows of very dark photos, corrected on the whole frame after ``gan``.

Brightening a photo whose mean brightness is a few percent multiplies its sensor and
8-bit quantisation noise twenty times or more. The generator turns that noise into colour
speckle, and in what was near black it invents a tint (purple, green) that the photo never
had. Two corrections fix this. Both change only the output's chroma (Cb, Cr), so its luma
(tones, detail, NIQE) stays as the generator made it:

- **speckle**: the chroma is guided-filtered with the output's luma as the guide, so colour
  edges that follow luma edges stay;
- **cast**: the chroma at low frequency is replaced by the input's own chroma-to-luma ratio
  carried through the gain. The input's ratio is taken over luma + :data:`FLOOR`, so where
  the input had too little light to have a colour, the output goes neutral; where it had
  some, its colour is kept (a warm wall stays warm).

Each weighs by how dark the input was around each pixel. The whole correction weighs by
how dark the whole photo is: full at a mean luma of ``GATE[0]``, none from ``GATE[1]``.
So photos brighter than that come out exactly as the generator made them (bit for bit).

The work runs in bands of :data:`BAND` rows with :data:`HALO` rows of context each side.
Every box filter reaches at most that far, so the bands equal one whole-frame pass, and
memory stays flat on a 24 MP photo.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from egan_core.generator_io import LUMA
from egan_plugins.networks.fast_grid import box_blur

#: BT.601 luma weights of red and blue (green takes the rest).
KR, _, KB = LUMA
#: Mean input luma where the correction is full, and where it has faded to nothing.
GATE = (0.03, 0.05)
#: Local input luma (blurred) where the speckle filter is full, and where it stops.
SPECKLE = (0.02, 0.06)
#: Local input luma where the colour is fully the input's own, and where the output's is kept.
CAST = (0.008, 0.024)
#: Luma added under the input's chroma ratio: about four 8-bit levels, below which a pixel's
#: colour is mostly quantisation and noise, so it shrinks towards neutral.
FLOOR = 4 / 255
#: Radius of the blur that measures how dark the input is around a pixel (applied twice).
DARK_RADIUS = 3
#: Radius and regularisation of the guided filter on chroma.
GUIDE_RADIUS, GUIDE_EPS = 4, 1e-3
#: Radius of the box that separates the chroma's low frequencies (the cast).
LOW_RADIUS = 8
#: Rows of context each band needs: the guided filter's two boxes, then the low-pass box.
HALO = 2 * GUIDE_RADIUS + LOW_RADIUS
#: Rows per band.
BAND = 256


def _box(t: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean of each channel over a (2r+1)^2 window, the image's edges repeated (as at the
    frame's border). On the CPU OpenCV's running sums do it (several times faster than
    pooling); the result is then laid out channels-last. Elsewhere ``fast``'s pooled
    :func:`~egan_plugins.networks.fast_grid.box_blur`."""
    if t.device.type != "cpu":
        return box_blur(t, radius)
    planes = np.ascontiguousarray(t[0].detach().permute(1, 2, 0).numpy())
    out = cv2.blur(planes, (2 * radius + 1,) * 2, borderType=cv2.BORDER_REPLICATE)
    return torch.from_numpy(out.reshape(*planes.shape)).permute(2, 0, 1)[None]


def _luma(t: torch.Tensor) -> torch.Tensor:
    return KR * t[:, 0:1] + (1 - KR - KB) * t[:, 1:2] + KB * t[:, 2:3]


def _ramp(value: torch.Tensor, full: float, none: float) -> torch.Tensor:
    """1 at or below ``full``, 0 at or above ``none``, linear between."""
    return ((none - value) / (none - full)).clamp_(0.0, 1.0)


def gate(x: torch.Tensor) -> float:
    """How much of the correction one ``(1, 3, H, W)`` input gets, from its mean luma."""
    return float(_ramp(_luma(x).mean(), *GATE))


def _correct(x: torch.Tensor, y: torch.Tensor, weight: float) -> torch.Tensor:
    """The corrected output for a band: ``x`` the input, ``y`` the generator's output
    (``(1, 3, h, w)``); the boxes of several planes run as one call."""
    lum_in = _luma(x)
    chroma_in = torch.cat([x[:, 2:3] - lum_in, x[:, 0:1] - lum_in], 1)
    dark = _box(_box(lum_in, DARK_RADIUS), DARK_RADIUS)
    y = y.clamp(0.0, 1.0)
    lum = _luma(y)
    chroma = torch.cat([y[:, 2:3] - lum, y[:, 0:1] - lum], 1)
    # guided filter of the chroma, the luma as guide
    means = _box(torch.cat([lum, lum * lum, chroma, lum * chroma], 1), GUIDE_RADIUS)
    mean_l, mean_c = means[:, 0:1], means[:, 2:4]
    a = (means[:, 4:6] - mean_l * mean_c) / (means[:, 1:2] - mean_l * mean_l + GUIDE_EPS)
    coefficients = _box(torch.cat([a, mean_c - a * mean_l], 1), GUIDE_RADIUS)
    smooth = coefficients[:, 0:2] * lum + coefficients[:, 2:4]
    chroma = torch.lerp(chroma, smooth, _ramp(dark, *SPECKLE) * weight)
    # the low frequencies of the chroma: the input's own colour, carried through the gain
    low = _box(torch.cat([chroma_in, lum_in, lum, chroma], 1), LOW_RADIUS)
    cast = low[:, 0:2] / (low[:, 2:3] + FLOOR) * low[:, 3:4] - low[:, 4:6]
    chroma = chroma + cast * (_ramp(dark, *CAST) * weight)
    return _to_rgb(lum, chroma)


def _to_rgb(lum: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """RGB of luma in [0, 1] and chroma (B - Y, R - Y), the chroma scaled down per pixel
    as far as it takes to fit [0, 1]: clipping a channel instead would change the luma."""
    blue, red = chroma[:, 0:1], chroma[:, 1:2]
    green = -(KR * red + KB * blue) / (1 - KR - KB)
    offsets = torch.cat([red, green, blue], 1)
    room = torch.where(offsets > 0, 1.0 - lum, lum)  # how far each channel may move
    scale = (room / offsets.abs().clamp_min(1e-12)).amin(1, keepdim=True).clamp_(max=1.0)
    return torch.addcmul(lum, offsets, scale).clamp_(0.0, 1.0)


def finish_shadows(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``y`` (an enhancer's ``(N, 3, H, W)`` output for the input ``x``) with the speckle
    and the cast of very dark inputs corrected; ``y`` itself where no image is dark enough."""
    out = None
    for n in range(x.shape[0]):
        weight = gate(x[n:n + 1])
        if weight == 0.0:
            continue
        if out is None:
            out = y.clone()
        height = x.shape[-2]
        for start in range(0, height, BAND):
            stop = min(start + BAND, height)
            lo, hi = max(0, start - HALO), min(height, stop + HALO)
            band = _correct(x[n:n + 1, :, lo:hi].float(), y[n:n + 1, :, lo:hi].float(), weight)
            out[n:n + 1, :, start:stop] = band[:, :, start - lo:stop - lo]
    return y if out is None else out

"""Zero-reference losses: Zero-DCE's (Guo et al., CVPR 2020) and SCI's (Ma et al., CVPR 2022).

They need neither pairs nor a discriminator: each scores the enhanced image (or the
generator's auxiliary outputs, ``ctx.aux``) against the low-light input alone. The formulas
follow the official code, including its constants; the recipes carry the official weights.
Images arrive in [-1, 1] (:class:`~egan_core.losses.LossContext`) and are scored in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from egan_core.errors import TrainingError
from egan_core.generator_io import from_model_range
from egan_core.losses import LossContext


def _aux(ctx: LossContext, key: str, loss: str, who: str) -> torch.Tensor:
    value = ctx.aux.get(key)
    if value is None:
        raise TrainingError(f"loss '{loss}' needs the generator's '{key}' output ({who}); this "
                            f"generator gives {sorted(ctx.aux) or 'none'}: remove losses.{loss}")
    return value


class SpatialConsistencyLoss(nn.Module):
    """Zero-DCE's spatial consistency: keep the contrast between neighbouring regions.

    Both images are averaged over channels and ``region x region`` pools; the loss is the
    mean over regions of the squared differences between input and output of the four
    neighbour differences (up, down, left, right; zero beyond the border, as the official
    zero-padded convolution).

    Args:
        region: side of the pooled regions in pixels (the official: 4).
    """

    def __init__(self, region: int = 4) -> None:
        super().__init__()
        if region < 1:
            raise ValueError(f"region must be at least 1, got {region}")
        self.region = region

    def _neighbour_diffs(self, x: torch.Tensor) -> torch.Tensor:
        p = F.avg_pool2d(x.mean(dim=1, keepdim=True), self.region)
        padded = F.pad(p, [1, 1, 1, 1])
        h, w = p.shape[-2:]
        neighbours = (padded[..., 1:h + 1, 0:w], padded[..., 1:h + 1, 2:w + 2],
                      padded[..., 0:h, 1:w + 1], padded[..., 2:h + 2, 1:w + 1])
        return torch.stack([p - n for n in neighbours])

    def forward(self, ctx: LossContext) -> torch.Tensor:
        low = self._neighbour_diffs(from_model_range(ctx.input.float()))
        out = self._neighbour_diffs(from_model_range(ctx.enhanced.float()))
        return (low - out).square().sum(dim=0).mean()


class ColorConstancyLoss(nn.Module):
    """Zero-DCE's colour constancy: the channel means of each output image should agree.

    Per image ``sqrt(Drg^2 + Drb^2 + Dgb^2)`` with ``Dxy = (mean_x - mean_y)^2``, averaged over
    the batch (the official formula: squared differences, squared again under the root).
    """

    def forward(self, ctx: LossContext) -> torch.Tensor:
        means = from_model_range(ctx.enhanced.float()).mean(dim=(2, 3))
        r, g, b = means.unbind(dim=1)
        d_rg, d_rb, d_gb = (r - g).square(), (r - b).square(), (g - b).square()
        return (d_rg.square() + d_rb.square() + d_gb.square()).sqrt().mean()


class IlluminationSmoothnessLoss(nn.Module):
    """Zero-DCE's illumination smoothness: total variation of the curve maps ``aux["curves"]``.

    ``2 * (sum dy^2 / ((H - 1) W) + sum dx^2 / (H (W - 1))) / N``, the sums over every
    channel (the official ``L_TV``).
    """

    def forward(self, ctx: LossContext) -> torch.Tensor:
        a = _aux(ctx, "curves", "illumination_smoothness", "Zero-DCE, Zero-DCE++").float()
        n, _, h, w = a.shape
        dy = (a[..., 1:, :] - a[..., :-1, :]).square().sum() / max(1, (h - 1) * w)
        dx = (a[..., :, 1:] - a[..., :, :-1]).square().sum() / max(1, h * (w - 1))
        return 2 * (dy + dx) / n


def _stages(ctx: LossContext, loss: str) -> tuple[torch.Tensor, torch.Tensor, int]:
    """SCI's per-stage inputs and illuminations, stacked, and the number of stages."""
    illumination = ctx.aux.get("stage_illuminations")
    if illumination is not None:
        inputs = _aux(ctx, "stage_inputs", loss, "SCI with calibrate: true")
    else:
        illumination = _aux(ctx, "illumination", loss, "SCI")
        inputs = from_model_range(ctx.input)
    return inputs.float(), illumination.float(), illumination.shape[0] // ctx.input.shape[0]


class SCIFidelityLoss(nn.Module):
    """SCI's fidelity: mean squared difference of each stage's illumination and input,
    summed over the stages (the official weight is 1.5)."""

    def forward(self, ctx: LossContext) -> torch.Tensor:
        inputs, illumination, stages = _stages(ctx, "sci_fidelity")
        return (illumination - inputs).square().mean() * stages


#: SCI's colour matrix (columns: Y, Cb, Cr per input channel) and offset.
_YCBCR = ((0.257, -0.148, 0.439), (0.564, -0.291, -0.368), (0.098, 0.439, -0.071))
_YCBCR_BIAS = (16.0 / 255.0, 128.0 / 255.0, 128.0 / 255.0)
#: The (dy, dx) neighbour offsets SCI's smoothness compares (each counted twice, as there).
_OFFSETS = ((1, 0), (0, 1), (1, 1), (1, -1), (2, 0), (0, 2), (2, 1), (2, -1), (1, 2), (1, -2),
            (2, 2), (2, -2))


def _shifted(x: torch.Tensor, dy: int, dx: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``x[i + dy, j + dx]`` and ``x[i, j]`` over every position where both exist (dy >= 0)."""
    h, w = x.shape[-2:]
    left, right = max(0, -dx), w - max(0, dx)
    return x[..., dy:, left + dx:right + dx], x[..., :h - dy, left:right]


class SCISmoothnessLoss(nn.Module):
    """SCI's smoothness: L1 differences of the illumination over 24 neighbour pairs,
    weighted by ``exp(-|dYCbCr(input)|^2 / (2 sigma^2))``, summed over the stages.

    Args:
        sigma: colour bandwidth of the weights (the official: 10).
        per_pixel: convert the input to YCbCr pixel by pixel. ``false`` (default) reproduces
            the official code, which applies the colour matrix to consecutive triples of
            the NCHW memory layout (``view(-1, 3)``), the objective the released weights
            were trained with.
    """

    def __init__(self, sigma: float = 10.0, per_pixel: bool = False) -> None:
        super().__init__()
        if sigma <= 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.sigma, self.per_pixel = sigma, per_pixel

    def _ycbcr(self, x: torch.Tensor) -> torch.Tensor:
        mat = torch.tensor(_YCBCR, dtype=x.dtype, device=x.device)
        bias = torch.tensor(_YCBCR_BIAS, dtype=x.dtype, device=x.device)
        if self.per_pixel:
            return torch.einsum("nchw,cd->ndhw", x, mat) + bias[:, None, None]
        return (x.reshape(-1, 3) @ mat + bias).reshape(x.shape)

    def forward(self, ctx: LossContext) -> torch.Tensor:
        inputs, illumination, stages = _stages(ctx, "sci_smoothness")
        y = self._ycbcr(inputs)
        scale = -1.0 / (2 * self.sigma * self.sigma)
        total = illumination.new_zeros(())
        for dy, dx in _OFFSETS:
            y1, y0 = _shifted(y, dy, dx)
            o1, o0 = _shifted(illumination, dy, dx)
            weight = torch.exp((y1 - y0).square().sum(dim=1, keepdim=True) * scale)
            total = total + 2 * (weight * (o1 - o0).abs().sum(dim=1, keepdim=True)).mean()
        return total * stages

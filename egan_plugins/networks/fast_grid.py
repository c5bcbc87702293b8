"""A real-time generator (``fast_grid``): a low-res CNN predicts a grid of tone transforms.

The heavy part runs on a fixed-size downscaled copy of the image, so its cost does not grow
with the photo; at full resolution each pixel only gets its coefficients by bilinear
interpolation of a coarse grid and applies them (a few tens of operations). The idea is
that of HDRNet (Gharbi et al., SIGGRAPH 2017), with the bilateral grid's luma axis replaced
by a quadratic in luma, which needs no 3-D slicing (slow on CPUs) and keeps the
coefficient maps at 8 channels. Per pixel, with ``x`` the [0, 1] RGB and ``L`` its luma::

    out_c = a_c * x_c + b_c + (s + t * L) * L          (c = r, g, b)

``a``, ``b`` (3 each), ``s`` and ``t`` vary smoothly over the image: a per-region colour gain
and offset plus a per-region tone curve in luma.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from egan_core.errors import RecipeError
from egan_plugins.networks.init import seeded

#: Luma weights (ITU-R BT.601, as EnlightenGAN's attention map).
LUMA = (0.299, 0.587, 0.114)
#: Coefficient channels: a_r, a_g, a_b, b_r, b_g, b_b, s, t.
COEFFS = 8
#: Pixels per band of the full-resolution pass (band buffers stay in the CPU caches).
BAND_PIXELS = 1 << 16


def interpolation_matrix(n_out: int, n_in: int, device: torch.device | None = None) -> torch.Tensor:
    """``(n_out, n_in)`` weights of PyTorch's 1-D linear resize (``align_corners=False``).

    Training upsamples the grid as two small matrix products instead of
    ``F.interpolate``, whose backward pass (a scatter) is many times slower on CPUs; the
    forward values are the same.
    """
    src = ((torch.arange(n_out, dtype=torch.float64) + 0.5) * (n_in / n_out) - 0.5).clamp(min=0)
    first = src.floor().long().clamp(max=n_in - 1)
    frac = src - first
    out = torch.zeros(n_out, n_in, dtype=torch.float64)
    rows = torch.arange(n_out)
    out.index_put_((rows, first), 1 - frac, accumulate=True)
    out.index_put_((rows, (first + 1).clamp(max=n_in - 1)), frac, accumulate=True)
    return out.float().to(device)


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)


class FastGridNet(nn.Module):
    """Low-res CNN -> grid of per-region colour/tone coefficients -> full-res application.

    Args:
        size: side of the square, downscaled copy the CNN sees (any aspect is squashed to it,
            as HDRNet does), a multiple of 64; the grid is ``size / 16`` cells a side.
        width: channels of the CNN's deepest layers.
        seed: seed of the weight initialisation (injected from the recipe's ``seed``).
    """

    #: Works on [0, 1] images, needs no attention map and pads nothing (any size runs as is).
    value_range = "unit"
    needs_attention = False
    pad_multiple = 1

    def __init__(self, size: int = 256, width: int = 64, seed: int = 0) -> None:
        super().__init__()
        if size < 64 or size % 64:
            raise RecipeError(f"model.generator.size must be a multiple of 64; got {size}")
        if width < 8:
            raise RecipeError(f"model.generator.width must be at least 8, got {width}")
        self.size, self.width = size, width
        w4, w2 = width // 4, width // 2
        self.splat = nn.ModuleList([_conv(3, w4, 2), _conv(w4, w2, 2), _conv(w2, width, 2),
                                    _conv(width, width, 2)])
        self.local = nn.ModuleList([_conv(width, width), _conv(width, width)])
        self.glob = nn.ModuleList([_conv(width, width, 2), _conv(width, width, 2)])
        cells = (size // 64) ** 2  # of the global branch's last feature map
        self.fc = nn.Sequential(nn.Linear(width * cells, 2 * width), nn.ReLU(), nn.Linear(2 * width, width))
        self.head = nn.Conv2d(width, COEFFS, 1)
        self.register_buffer("luma", torch.tensor(LUMA).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("identity", torch.tensor([1.0, 1, 1, 0, 0, 0, 0, 0]).view(1, COEFFS, 1, 1),
                             persistent=False)
        gen = seeded(seed)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=gen)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.head.weight, std=1e-3, generator=gen)  # start near the identity

    def low_res(self, x: torch.Tensor) -> torch.Tensor:
        """The fixed-size copy the CNN sees: ``(N, 3, size, size)``.

        Bilinear sampling at twice the size then 2x2 averaging: a cheap anti-aliased
        downscale (a fixed number of samples whatever the photo's size) that exports to ONNX.
        """
        twice = F.interpolate(x, size=(2 * self.size, 2 * self.size), mode="bilinear",
                              align_corners=False)
        return F.avg_pool2d(twice, 2)

    def grid(self, x: torch.Tensor) -> torch.Tensor:
        """Coefficient grid ``(N, 8, size/16, size/16)`` of a [0, 1] image (any size)."""
        feats = self.low_res(x) * 2 - 1
        for conv in self.splat:
            feats = F.relu(conv(feats))
        local = self.local[1](F.relu(self.local[0](feats)))
        g = feats
        for conv in self.glob:
            g = F.relu(conv(g))
        g = g.flatten(1)  # (size / 64)^2 cells of global features
        fused = F.relu(local + self.fc(g)[:, :, None, None])
        return self.head(fused) + self.identity

    @staticmethod
    def _transform(x: torch.Tensor, coef: torch.Tensor, luma: torch.Tensor) -> torch.Tensor:
        """``a * x + b + (s + t L) L`` with full-size (or broadcastable) coefficients."""
        lum = (x * luma).sum(1, keepdim=True)
        tone = torch.addcmul(coef[:, 6:7], coef[:, 7:8], lum) * lum
        return torch.addcmul(coef[:, 3:6], coef[:, 0:3], x) + tone

    def enhance(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance ``(N, 3, H, W)`` in [0, 1] -> [0, 1] (not clipped), differentiable."""
        grid = self.grid(x)
        if torch.is_grad_enabled() and not torch.jit.is_tracing():
            rows = interpolation_matrix(x.shape[-2], grid.shape[-2], x.device)
            cols = interpolation_matrix(x.shape[-1], grid.shape[-1], x.device)
            coef = rows @ (grid @ cols.T)
        else:
            coef = F.interpolate(grid, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self._transform(x, coef, self.luma)

    @torch.no_grad()
    def enhance_banded(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`enhance` for inference, in bands of rows on one intra-op thread.

        Each band's operations are small and memory-bound: splitting them across threads
        gains little when the cores are free, and on a busy machine every operation waits
        for a descheduled worker (12 MP: 0.28 s on one thread, 4.7 s on two with the
        machine's other jobs running). The thread count is restored afterwards.
        """
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._banded(x)
        finally:
            torch.set_num_threads(threads)

    def _banded(self, x: torch.Tensor) -> torch.Tensor:
        """The banded pass: the same function as :meth:`enhance`.

        The coefficient maps are interpolated along x once (``grid rows x W``, small), and
        each band of rows interpolates them along y and applies them at once, so no
        full-size 8-channel map is ever allocated: memory stays near input plus output and
        the band's buffers stay in the CPU caches.
        """
        if torch.jit.is_tracing() or x.shape[-1] * x.shape[-2] <= BAND_PIXELS:
            return self.enhance(x)
        h, w = x.shape[-2:]
        grid = self.grid(x)
        rows = F.interpolate(grid, size=(grid.shape[-2], w), mode="bilinear", align_corners=False)
        gh = grid.shape[-2]
        # PyTorch's bilinear source row for output row i: max(0, (i + 0.5) * gh / h - 0.5)
        src = ((torch.arange(h, dtype=torch.float64) + 0.5) * (gh / h) - 0.5).clamp(min=0)
        first_t = src.floor().long().clamp(max=gh - 1)
        frac = (src - first_t).float().to(x.device)
        first = first_t.tolist()
        # Images from HxWx3 arrays arrive as channels-last views: work in that layout
        # (no transposes, every band contiguous); otherwise in NCHW.
        last = x.permute(0, 2, 3, 1).is_contiguous()
        pixels = x.permute(0, 2, 3, 1) if last else x
        coefs = rows.permute(0, 2, 3, 1).contiguous() if last else rows
        out = torch.empty_like(pixels)
        step = max(1, BAND_PIXELS // w)
        start = 0
        while start < h:
            i0 = first[start]
            stop = start
            while stop < h and stop - start < step and first[stop] == i0:
                stop += 1
            i1 = min(i0 + 1, gh - 1)
            if last:
                weight = frac[start:stop].view(1, -1, 1, 1)
                coef = torch.lerp(coefs[:, i0:i0 + 1], coefs[:, i1:i1 + 1], weight)
                self._transform_last(pixels[:, start:stop], coef, out[:, start:stop])
            else:
                weight = frac[start:stop].view(1, 1, -1, 1)
                coef = torch.lerp(coefs[:, :, i0:i0 + 1], coefs[:, :, i1:i1 + 1], weight)
                out[:, :, start:stop] = self._transform(pixels[:, :, start:stop], coef, self.luma)
            start = stop
        return out.permute(0, 3, 1, 2) if last else out

    def _transform_last(self, x: torch.Tensor, coef: torch.Tensor, out: torch.Tensor) -> None:
        """:meth:`_transform` in channels-last layout (``(N, h, W, 3)``), written into ``out``."""
        lum = (x * self.luma.view(3)).sum(-1, keepdim=True)
        tone = torch.addcmul(coef[..., 6:7], coef[..., 7:8], lum).mul_(lum)
        torch.addcmul(coef[..., 3:6], coef[..., 0:3], x, out=out)
        out.add_(tone)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The generator contract (``value_range = "unit"``, no attention map).

        Args:
            image: ``(N, 3, H, W)`` in [0, 1], any H and W.

        Returns:
            ``(enhanced, {})``: the enhanced image in [0, 1], not clipped; no auxiliary outputs.
        """
        return self.enhance(image), {}


def _elementwise(per_element: int) -> Callable[..., int]:
    """A FlopCounterMode formula: ``per_element`` operations per output element."""

    def count(*args: Any, out_shape: Any = None, **kwargs: Any) -> int:
        return per_element * math.prod(out_shape)

    return count


def _reduction(*args: Any, **kwargs: Any) -> int:
    """A FlopCounterMode formula for sums: one addition per input element."""
    return math.prod(args[0])


def count_flops(model: FastGridNet, height: int, width: int) -> dict[str, int]:
    """Floating-point operations of one inference pass (``enhance_banded``) at ``H x W``.

    ``FlopCounterMode`` counts convolutions and matrix products only; formulas for the
    element-wise operations and resizes are added here (a multiply-add is 2, a bilinear
    sample 7 per output element), so that the full-resolution part is counted too.

    Returns:
        ``{"low_res": ..., "full_res": ..., "total": ...}``: the low-res branch (the
        fixed-size copy and the CNN: independent of the image size) and the rest.
    """
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    formulas: dict[Any, Callable[..., int]] = {
        aten.upsample_bilinear2d: _elementwise(7), aten.avg_pool2d: _elementwise(4),
        aten.mul: _elementwise(1), aten.add: _elementwise(1), aten.sub: _elementwise(1),
        aten.div: _elementwise(1), aten.relu: _elementwise(1), aten.addcmul: _elementwise(2),
        aten.lerp: _elementwise(3), aten.sum: _reduction,
    }
    image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        with FlopCounterMode(display=False, custom_mapping=formulas) as low:
            model.grid(image)
        with FlopCounterMode(display=False, custom_mapping=formulas) as whole:
            model.enhance_banded(image)
    low_res, total = low.get_total_flops(), whole.get_total_flops()
    return {"low_res": low_res, "full_res": total - low_res, "total": total}

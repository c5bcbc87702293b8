"""The building blocks of :class:`~egan_plugins.networks.unet_fused.FusedAttentionUNet`:
oneDNN convolutions with packed weights and a fused activation, BatchNorms as per-channel
affine maps (folded into the next convolution where exact), and the border corrections
folding needs. Kept apart from the network's wiring, which reads as the U-Net does."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from egan_core import winograd

if TYPE_CHECKING:
    from egan_plugins.networks.unet import AttentionUNet

CHANNELS_LAST = torch.channels_last
_SLOPE = 0.2
#: Fold a BatchNorm into the next convolution only when ``|t / s|`` stays below this
#: (the margin value ``-t / s`` is stored in the compute dtype).
_MAX_MARGIN = 1e4
#: Input shapes whose packed weights each convolution keeps (tiles, a few photo sizes).
_PACKED_SHAPES = 4


def mkldnn_ok(device: torch.device) -> bool:
    """oneDNN's fused convolution with packed weights is available for ``device``."""
    ops = torch.ops.mkldnn
    return (device.type == "cpu" and torch.backends.mkldnn.is_available()
            and hasattr(ops, "_convolution_pointwise") and hasattr(ops, "_reorder_convolution_weight"))


class Affine:
    """An eval-mode BatchNorm as ``y = z * s + t`` per channel (float64 parameters).

    ``apply`` runs it as one pass (PyTorch's batch-norm kernel computes in float32 even
    on bf16 tensors; rounding ``s`` and ``t`` to bf16 would shift whole channels).
    """

    def __init__(self, norm: nn.BatchNorm2d, device: torch.device) -> None:
        assert norm.running_mean is not None and norm.running_var is not None
        scale = torch.rsqrt(norm.running_var.detach().double() + norm.eps)
        shift = -norm.running_mean.detach().double() * scale
        if norm.affine:
            scale = scale * norm.weight.detach().double()
            shift = shift * norm.weight.detach().double() + norm.bias.detach().double()
        self.s, self.t = scale.cpu(), shift.cpu()
        self._scale = scale.to(device, torch.float32)
        self._shift = shift.to(device, torch.float32)
        self._zeros = torch.zeros_like(self._scale)
        self._ones = torch.ones_like(self._scale)

    @property
    def foldable(self) -> bool:
        """Whether it can move into the next convolution (``s != 0``, ``t / s`` moderate)."""
        if not bool((self.s != 0).all()) or not bool(torch.isfinite(self.s).all()):
            return False
        return bool(((self.t / self.s).abs() < _MAX_MARGIN).all())

    def apply(self, z: torch.Tensor) -> torch.Tensor:
        return torch.batch_norm(z, self._scale, self._shift, self._zeros, self._ones, False,
                                0.0, 0.0, False)


class FusedConv:
    """A convolution, optionally followed by LeakyReLU(0.2), with prepared weights.

    Args:
        conv: the source convolution (stride 1, square kernel).
        dtype: compute dtype of data and weights (biases stay float32).
        device: where it runs.
        mkldnn: use oneDNN's fused convolution with packed weights.
        act: apply LeakyReLU(0.2) (fused into the convolution under oneDNN).
        padding: zero padding per side (default: the source's).
        fold: an affine map of the input to fold in (``conv(s * z + t)`` from ``z``);
            the border handling is the caller's (see the module docstring).
        weight, bias: override the source's weight and bias (float).
        nnpack: run 3x3 fp32 convolutions by Winograd's algorithm
            (:mod:`egan_core.winograd`) on NCHW tensors instead of oneDNN; other
            kernels then take ``F.conv2d`` (NCHW too).
    """

    def __init__(self, conv: nn.Conv2d, dtype: torch.dtype, device: torch.device,
                 mkldnn: bool, act: bool, padding: int | None = None,
                 fold: Affine | None = None, weight: torch.Tensor | None = None,
                 bias: torch.Tensor | None = None, nnpack: bool = False) -> None:
        w = (conv.weight if weight is None else weight).detach().double().cpu()
        b = conv.bias if bias is None else bias
        b = (torch.zeros(w.shape[0]) if b is None else b).detach().double().cpu()
        #: ``sum_i W[o, i, ky, kx] * t_i``: the shift's contribution per kernel tap.
        self.shift_taps: torch.Tensor | None = None
        if fold is not None:
            self.shift_taps = (w * fold.t.view(1, -1, 1, 1)).sum(1)
            b = b + self.shift_taps.sum((1, 2))
            w = w * fold.s.view(1, -1, 1, 1)
        pad = conv.padding[0] if padding is None else padding
        assert isinstance(pad, int)
        self.padding = [pad, pad]
        self.act = act
        self.nnpack = (nnpack and tuple(w.shape[-2:]) == (3, 3) and dtype == torch.float32
                       and pad <= winograd.MAX_PADDING)
        self.mkldnn = mkldnn and not nnpack
        self.bias = b.to(device, torch.float32)
        layout = torch.contiguous_format if nnpack else CHANNELS_LAST
        self.weight = w.to(device, dtype).contiguous(memory_format=layout)
        #: oneDNN-packed weights per input shape (see :meth:`packed`).
        self._packed: dict[tuple[int, ...], torch.Tensor] = {}

    def packed(self, shape: tuple[int, ...]) -> torch.Tensor:
        """The weights in the blocked layout oneDNN picks for inputs of ``shape``.

        The layout depends on the input's size and on the CPU's instruction set (an AVX2
        kernel blocks by 8 or 24 output channels, an AVX-512 one by 16 or 32): weights
        packed for another shape are reordered again on every call, which cost an AVX2
        CPU a sixth of the whole forward. Packed once per shape, the last few kept.
        """
        found = self._packed.get(shape)
        if found is None:
            if len(self._packed) >= _PACKED_SHAPES:
                self._packed.pop(next(iter(self._packed)))
            found = self._packed[shape] = torch.ops.mkldnn._reorder_convolution_weight(
                self.weight, self.padding, [1, 1], [1, 1], 1, list(shape))
        return found

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.nnpack and winograd.large_enough(x):
            y = winograd.conv2d(x, self.weight, self.bias, self.padding[0])
            return F.leaky_relu_(y, _SLOPE) if self.act else y
        if self.mkldnn:
            return torch.ops.mkldnn._convolution_pointwise(
                x, self.packed(tuple(x.shape)), self.bias, self.padding, [1, 1], [1, 1], 1,
                "leaky_relu" if self.act else "none", [_SLOPE] if self.act else [], "")
        y = F.conv2d(x, self.weight, self.bias.to(x.dtype), padding=self.padding)
        return F.leaky_relu(y, _SLOPE) if self.act else y


def fill_margin(m: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Set the one-pixel border of ``m`` to the per-channel ``value`` (``(1, C, 1)``)."""
    n, c, h, w = m.shape
    m[:, :, 0, :] = value.expand(n, c, w)
    m[:, :, h - 1, :] = value.expand(n, c, w)
    m[:, :, :, 0] = value.expand(n, c, h)
    m[:, :, :, w - 1] = value.expand(n, c, h)
    return m


class BorderFix:
    """Exact border of ``conv_W(up(s * z + t))`` computed as ``conv_{W s}(up(z)) + bias'``.

    The interior gets ``sum W t`` through the bias; outside the image the zero padding
    contributes nothing, so the taps that fall outside are subtracted again: rows 0 and
    -1, columns 0 and -1, and the corners (counted twice) added back once.
    """

    def __init__(self, taps: torch.Tensor, device: torch.device) -> None:
        def vec(v: torch.Tensor) -> torch.Tensor:
            return v.to(device, torch.float32).view(1, -1, 1)

        self.top, self.bottom = vec(taps[:, 0, :].sum(1)), vec(taps[:, 2, :].sum(1))
        self.left, self.right = vec(taps[:, :, 0].sum(1)), vec(taps[:, :, 2].sum(1))
        self.corners = [vec(taps[:, ky, kx]).view(1, -1) for ky in (0, 2) for kx in (0, 2)]

    def __call__(self, d: torch.Tensor) -> torch.Tensor:
        h, w = d.shape[-2:]
        d[:, :, 0, :] -= self.top
        d[:, :, h - 1, :] -= self.bottom
        d[:, :, :, 0] -= self.left
        d[:, :, :, w - 1] -= self.right
        for (y, x), tap in zip(((0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1)), self.corners,
                               strict=True):
            d[:, :, y, x] += tap
        return d


class ConvPair:
    """``norm_2(conv_2(norm_1(conv_1(x))))`` with ``norm_1`` folded into ``conv_2``.

    ``conv_1`` writes a one-pixel margin holding ``-t / s`` of ``norm_1``, so ``conv_2``
    (unpadded) sees exactly zero padding. ``norm_1`` is applied as a pass when it cannot
    be folded. ``norm_2`` is not applied here (see :attr:`norm2`).
    """

    def __init__(self, model: AttentionUNet, first: str, second: str, dtype: torch.dtype,
                 device: torch.device, mkldnn: bool, nnpack: bool = False) -> None:
        conv1, conv2 = model.get_submodule(f"conv{first}"), model.get_submodule(f"conv{second}")
        norm1 = model.get_submodule(f"bn{first}")
        assert isinstance(conv1, nn.Conv2d) and isinstance(conv2, nn.Conv2d)
        assert isinstance(norm1, nn.BatchNorm2d)
        self.norm1 = Affine(norm1, device)
        self.folded = self.norm1.foldable
        norm2 = getattr(model, f"bn{second}", None)
        self.norm2 = Affine(norm2, device) if isinstance(norm2, nn.BatchNorm2d) else None
        if self.folded:
            self.conv1 = FusedConv(conv1, dtype, device, mkldnn, act=True, padding=2, nnpack=nnpack)
            self.margin = (-self.norm1.t / self.norm1.s).to(device, dtype).view(1, -1, 1)
            self.conv2 = FusedConv(conv2, dtype, device, mkldnn, act=True, padding=0,
                                   fold=self.norm1, nnpack=nnpack)
        else:
            self.conv1 = FusedConv(conv1, dtype, device, mkldnn, act=True, nnpack=nnpack)
            self.conv2 = FusedConv(conv2, dtype, device, mkldnn, act=True, nnpack=nnpack)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.folded:
            return self.conv2(fill_margin(self.conv1(x), self.margin))
        return self.conv2(self.norm1.apply(self.conv1(x)))

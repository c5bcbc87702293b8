"""Inference-only form of ``attention_unet``: the same math in fewer, cheaper passes.

:class:`FusedAttentionUNet` is built from an :class:`~egan_plugins.networks.unet.AttentionUNet`
in eval mode and maps a ``(N, 3, H, W)`` image in [0, 1] straight to the enhanced image in
[0, 1] (``x + latent / 2``, not clipped). The arithmetic is the generator's; only the
order of evaluation and the number of passes over memory change:

- each ``conv -> LeakyReLU`` is one oneDNN convolution with the activation as a post-op,
  its weights packed once into oneDNN's blocked layout (no reorder per call);
- an eval-mode BatchNorm ``y = s * z + t`` (per channel) that feeds a convolution is folded
  into that convolution: ``conv_W(y) = conv_{W s}(z) + conv_W(t)``. ``conv_W(t)`` is a
  per-channel constant in the interior (added to the bias); at the border, where the
  convolution's zero padding would meet ``t``, it is made exact in one of two ways:
  the producing convolution writes a one-pixel margin holding ``-t / s`` (so the folded
  input is exactly 0 there, and the consumer runs without padding), or, behind the
  bilinear upsampling (which commutes with the affine map), the missing border taps are
  subtracted from the consumer's (activation-free) output rows and columns;
- the BatchNorms whose output is also a skip connection or is max-pooled stay one
  per-channel pass each (PyTorch's kernel, float32 scale and shift);
- the ``[-1, 1]`` image and its attention map come out of one 1x1 convolution of the
  [0, 1] input (``2x - 1`` and ``1 - luma(x)``), already concatenated for ``conv1_1``;
- a decoder step writes the deconvolution's output and ``skip * attention`` straight into
  the concatenated tensor (no separate product tensor);
- the output is ``x + latent / 2`` in one fused multiply-add on the float32 input, so the
  image keeps full precision and only the residual is computed in the low precision;
- operations on small tensors (the 1-4 channel images, the deepest levels) run on one
  thread (:func:`~egan_core.enhance.runtime.serial_if_small`).

Biases, BatchNorm parameters and border corrections stay float32 (oneDNN accepts float32
biases with bf16 data). Everything runs in channels_last. Without oneDNN (or off the CPU)
``F.conv2d``/``F.leaky_relu`` do the same math.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from egan_core.enhance.runtime import serial_if_small
from egan_plugins.networks.unet import AttentionUNet, _crop, _pad, _pads

_CL = torch.channels_last
_SLOPE = 0.2
#: Rec. 601 luma weights of the attention map (they sum to 1).
_LUMA = (0.299, 0.587, 0.114)
#: Fold a BatchNorm into the next convolution only when ``|t / s|`` stays below this
#: (the margin value ``-t / s`` is stored in the compute dtype).
_MAX_MARGIN = 1e4
#: Input shapes whose packed weights each convolution keeps (tiles, a few photo sizes).
_PACKED_SHAPES = 4


def _mkldnn_ok(device: torch.device) -> bool:
    """oneDNN's fused convolution with packed weights is available for ``device``."""
    ops = torch.ops.mkldnn
    return (device.type == "cpu" and torch.backends.mkldnn.is_available()
            and hasattr(ops, "_convolution_pointwise") and hasattr(ops, "_reorder_convolution_weight"))


class _Affine:
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


class _Conv:
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
    """

    def __init__(self, conv: nn.Conv2d, dtype: torch.dtype, device: torch.device,
                 mkldnn: bool, act: bool, padding: int | None = None,
                 fold: _Affine | None = None, weight: torch.Tensor | None = None,
                 bias: torch.Tensor | None = None) -> None:
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
        self.mkldnn = mkldnn
        self.bias = b.to(device, torch.float32)
        self.weight = w.to(device, dtype).contiguous(memory_format=_CL)
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
        if self.mkldnn:
            return torch.ops.mkldnn._convolution_pointwise(
                x, self.packed(tuple(x.shape)), self.bias, self.padding, [1, 1], [1, 1], 1,
                "leaky_relu" if self.act else "none", [_SLOPE] if self.act else [], "")
        y = F.conv2d(x, self.weight, self.bias.to(x.dtype), padding=self.padding)
        return F.leaky_relu(y, _SLOPE) if self.act else y


def _fill_margin(m: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Set the one-pixel border of ``m`` to the per-channel ``value`` (``(1, C, 1)``)."""
    n, c, h, w = m.shape
    m[:, :, 0, :] = value.expand(n, c, w)
    m[:, :, h - 1, :] = value.expand(n, c, w)
    m[:, :, :, 0] = value.expand(n, c, h)
    m[:, :, :, w - 1] = value.expand(n, c, h)
    return m


class _BorderFix:
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


class _Pair:
    """``norm_2(conv_2(norm_1(conv_1(x))))`` with ``norm_1`` folded into ``conv_2``.

    ``conv_1`` writes a one-pixel margin holding ``-t / s`` of ``norm_1``, so ``conv_2``
    (unpadded) sees exactly zero padding. ``norm_1`` is applied as a pass when it cannot
    be folded. ``norm_2`` is not applied here (see :attr:`norm2`).
    """

    def __init__(self, model: AttentionUNet, first: str, second: str, dtype: torch.dtype,
                 device: torch.device, mkldnn: bool) -> None:
        conv1, conv2 = model.get_submodule(f"conv{first}"), model.get_submodule(f"conv{second}")
        norm1 = model.get_submodule(f"bn{first}")
        assert isinstance(conv1, nn.Conv2d) and isinstance(conv2, nn.Conv2d)
        assert isinstance(norm1, nn.BatchNorm2d)
        self.norm1 = _Affine(norm1, device)
        self.folded = self.norm1.foldable
        norm2 = getattr(model, f"bn{second}", None)
        self.norm2 = _Affine(norm2, device) if isinstance(norm2, nn.BatchNorm2d) else None
        if self.folded:
            self.conv1 = _Conv(conv1, dtype, device, mkldnn, act=True, padding=2)
            self.margin = (-self.norm1.t / self.norm1.s).to(device, dtype).view(1, -1, 1)
            self.conv2 = _Conv(conv2, dtype, device, mkldnn, act=True, padding=0,
                               fold=self.norm1)
        else:
            self.conv1 = _Conv(conv1, dtype, device, mkldnn, act=True)
            self.conv2 = _Conv(conv2, dtype, device, mkldnn, act=True)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.folded:
            return self.conv2(_fill_margin(self.conv1(x), self.margin))
        return self.conv2(self.norm1.apply(self.conv1(x)))


class FusedAttentionUNet:
    """``attention_unet`` for inference: ``(N, 3, H, W)`` [0, 1] -> enhanced [0, 1].

    A plain callable, not an ``nn.Module``: it holds prepared tensors, not parameters.

    Args:
        model: the generator, in eval mode (its weights are copied: later changes to it
            are not seen).
        dtype: ``torch.float32`` or ``torch.bfloat16`` (the precision of the residual).
        device: where it runs.
    """

    def __init__(self, model: AttentionUNet, dtype: torch.dtype = torch.bfloat16,
                 device: torch.device | str = "cpu") -> None:
        if any(m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            raise ValueError("FusedAttentionUNet needs the generator in eval mode")
        self.dtype = dtype
        self.device = dev = torch.device(device)
        self.align_corners = model.align_corners
        mk = _mkldnn_ok(dev)

        # [0, 1] RGB -> (2x - 1, 1 - luma(x)): the generator's image and attention map.
        stem_w = torch.zeros(4, 3, 1, 1)
        stem_w[:3, :, 0, 0] = 2 * torch.eye(3)
        stem_w[3, :, 0, 0] = -torch.tensor(_LUMA)
        stem_b = torch.tensor([-1.0, -1.0, -1.0, 1.0])
        stem = nn.Conv2d(3, 4, 1, device="meta")  # shape only (no draw from the global RNG)
        self.stem = _Conv(stem, torch.float32, dev, mk, act=False, weight=stem_w, bias=stem_b)
        self.levels = [_Pair(model, f"{k}_1", f"{k}_2", dtype, dev, mk) for k in range(1, 5)]
        self.skip_norms = [level.norm2 for level in self.levels]
        conv5_1 = model.get_submodule("conv5_1")
        assert isinstance(conv5_1, nn.Conv2d)
        self.conv5_1 = _Conv(conv5_1, dtype, dev, mk, act=True)
        self.norm5_1 = _Affine(model.get_submodule("bn5_1"), dev)  # type: ignore[arg-type]
        conv5_2 = model.get_submodule("conv5_2")
        assert isinstance(conv5_2, nn.Conv2d)
        self.conv5_2 = _Conv(conv5_2, dtype, dev, mk, act=True)
        self.norm5_2 = _Affine(model.get_submodule("bn5_2"), dev)  # type: ignore[arg-type]
        pending = self.norm5_2
        self.steps: list[tuple[_Affine, _Conv, _BorderFix | None, _Pair]] = []
        for step in range(5, 9):
            deconv = model.get_submodule(f"deconv{step}")
            assert isinstance(deconv, nn.Conv2d)
            fold = pending if pending.foldable else None
            conv = _Conv(deconv, dtype, dev, mk, act=False, fold=fold)
            fix = _BorderFix(conv.shift_taps, dev) if conv.shift_taps is not None else None
            pair = _Pair(model, f"{step + 1}_1", f"{step + 1}_2", dtype, dev, mk)
            self.steps.append((pending, conv, fix, pair))
            if pair.norm2 is not None:
                pending = pair.norm2
        conv10 = model.get_submodule("conv10")
        assert isinstance(conv10, nn.Conv2d)
        self.conv10 = _Conv(conv10, dtype, dev, mk, act=False)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance ``(N, 3, H, W)`` in [0, 1] (any H, W); returns float32, not clipped."""
        x = x.to(self.device, torch.float32)
        n, _, h, w = x.shape
        pads = _pads(h, w)
        with serial_if_small(4 * n * (h + pads[2] + pads[3]) * (w + pads[0] + pads[1])):
            inp = self.stem(x.contiguous(memory_format=_CL))
            if self.dtype != torch.float32:
                inp = inp.to(self.dtype)
            if any(pads):
                inp = _pad(inp, pads)
            att = inp[:, 3:4].contiguous()
            atts = [att]
            for _ in range(4):
                atts.append(F.max_pool2d(atts[-1], 2))

        skips = []
        y = inp
        for level, norm in zip(self.levels, self.skip_norms, strict=True):
            assert norm is not None
            y = level(y)
            with serial_if_small(y.numel()):
                y = norm.apply(y)
                skips.append(y)
                y = F.max_pool2d(y, 2)
        y = self.conv5_1(y)
        with serial_if_small(y.numel()):
            y = self.norm5_1.apply(y) * atts[4]
        y = self.conv5_2(y)

        for k, (pending, deconv, fix, pair) in enumerate(self.steps):
            with serial_if_small(4 * y.numel()):
                if fix is None:  # not folded into the deconvolution
                    y = pending.apply(y)
                up = F.interpolate(y, scale_factor=2, mode="bilinear",
                                   align_corners=self.align_corners)
            d = deconv(up)
            if fix is not None:
                d = fix(d)
            with serial_if_small(2 * d.numel()):  # cat(d, skip * att), written in place
                n, c = d.shape[:2]
                cat = torch.empty((n, 2 * c, *d.shape[2:]), dtype=d.dtype, device=d.device,
                                  memory_format=_CL)
                cat[:, :c] = d
                torch.mul(skips[3 - k], atts[3 - k], out=cat[:, c:])
            y = pair(cat)

        y = self.conv10(y)
        with serial_if_small(y.numel()):
            latent = _crop(y, pads, h, w)
            return torch.addcmul(x, latent, _crop(att, pads, h, w), value=0.5)

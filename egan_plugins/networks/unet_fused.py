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
  thread (:func:`~egan_core.threads.serial_if_small`).

Biases, BatchNorm parameters and border corrections stay float32 (oneDNN accepts float32
biases with bf16 data). Everything runs in channels_last. Without oneDNN (or off the CPU)
``F.conv2d``/``F.leaky_relu`` do the same math.

``winograd=True`` (fp32 only) computes the 3x3 convolutions by Winograd's algorithm
instead (NNPACK, :mod:`egan_core.winograd`), in NCHW: fewer multiplications, which is what
counts on CPUs where oneDNN's direct convolutions already run near peak (AVX2 only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from egan_core.generator_io import LUMA
from egan_core.threads import serial_if_small
from egan_core.winograd import available as winograd_available
from egan_plugins.networks.fused_ops import CHANNELS_LAST, Affine, BorderFix, ConvPair, FusedConv, mkldnn_ok
from egan_plugins.networks.padding import DIVISOR, crop, pad, pads_for

if TYPE_CHECKING:
    from egan_plugins.networks.unet import AttentionUNet

#: Rec. 601 luma weights of the attention map (they sum to 1).


class FusedAttentionUNet:
    """``attention_unet`` for inference: ``(N, 3, H, W)`` [0, 1] -> enhanced [0, 1].

    A plain callable, not an ``nn.Module``: it holds prepared tensors, not parameters.

    Args:
        model: the generator, in eval mode (its weights are copied: later changes to it
            are not seen).
        dtype: ``torch.float32`` or ``torch.bfloat16`` (the precision of the residual).
        device: where it runs.
        winograd: 3x3 convolutions by NNPACK's Winograd kernels (fp32 on a CPU with NNPACK;
            ignored elsewhere).
    """

    pad_multiple = DIVISOR

    def __init__(self, model: AttentionUNet, dtype: torch.dtype = torch.bfloat16,
                 device: torch.device | str = "cpu", winograd: bool = False) -> None:
        if any(m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            raise ValueError("FusedAttentionUNet needs the generator in eval mode")
        self.dtype = dtype
        self.device = dev = torch.device(device)
        self.align_corners = model.align_corners
        mk = mkldnn_ok(dev)
        nn_ = self.winograd = winograd and dtype == torch.float32 and winograd_available(dev)
        self.layout = torch.contiguous_format if nn_ else CHANNELS_LAST

        # [0, 1] RGB -> (2x - 1, 1 - luma(x)): the generator's image and attention map.
        stem_w = torch.zeros(4, 3, 1, 1)
        stem_w[:3, :, 0, 0] = 2 * torch.eye(3)
        stem_w[3, :, 0, 0] = -torch.tensor(LUMA)
        stem_b = torch.tensor([-1.0, -1.0, -1.0, 1.0])
        stem = nn.Conv2d(3, 4, 1, device="meta")  # shape only (no draw from the global RNG)
        self.stem = FusedConv(stem, torch.float32, dev, mk, act=False, weight=stem_w, bias=stem_b,
                              nnpack=nn_)
        self.levels = [ConvPair(model, f"{k}_1", f"{k}_2", dtype, dev, mk, nn_) for k in range(1, 5)]
        self.skip_norms = [level.norm2 for level in self.levels]
        conv5_1 = model.get_submodule("conv5_1")
        assert isinstance(conv5_1, nn.Conv2d)
        self.conv5_1 = FusedConv(conv5_1, dtype, dev, mk, act=True, nnpack=nn_)
        self.norm5_1 = Affine(model.get_submodule("bn5_1"), dev)  # type: ignore[arg-type]
        conv5_2 = model.get_submodule("conv5_2")
        assert isinstance(conv5_2, nn.Conv2d)
        self.conv5_2 = FusedConv(conv5_2, dtype, dev, mk, act=True, nnpack=nn_)
        self.norm5_2 = Affine(model.get_submodule("bn5_2"), dev)  # type: ignore[arg-type]
        pending = self.norm5_2
        self.steps: list[tuple[Affine, FusedConv, BorderFix | None, ConvPair]] = []
        for step in range(5, 9):
            deconv = model.get_submodule(f"deconv{step}")
            assert isinstance(deconv, nn.Conv2d)
            fold = pending if pending.foldable else None
            conv = FusedConv(deconv, dtype, dev, mk, act=False, fold=fold, nnpack=nn_)
            fix = BorderFix(conv.shift_taps, dev) if conv.shift_taps is not None else None
            pair = ConvPair(model, f"{step + 1}_1", f"{step + 1}_2", dtype, dev, mk, nn_)
            self.steps.append((pending, conv, fix, pair))
            if pair.norm2 is not None:
                pending = pair.norm2
        conv10 = model.get_submodule("conv10")
        assert isinstance(conv10, nn.Conv2d)
        self.conv10 = FusedConv(conv10, dtype, dev, mk, act=False, nnpack=nn_)

    def _pool(self, y: torch.Tensor) -> torch.Tensor:
        """2x2 max pooling; in NCHW as the maximum of four strided views, which is faster
        than PyTorch's NCHW max-pool kernel on photo-sized feature maps (docs/benchmarks.md)
        and gives the same result."""
        if self.layout is CHANNELS_LAST:
            return F.max_pool2d(y, 2)
        h, w = y.shape[-2] // 2 * 2, y.shape[-1] // 2 * 2
        return torch.maximum(torch.maximum(y[..., 0:h:2, 0:w:2], y[..., 0:h:2, 1:w:2]),
                             torch.maximum(y[..., 1:h:2, 0:w:2], y[..., 1:h:2, 1:w:2]))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance ``(N, 3, H, W)`` in [0, 1] (any H, W); returns float32, not clipped."""
        x = x.to(self.device, torch.float32)
        n, _, h, w = x.shape
        pads = pads_for(h, w, self.pad_multiple)
        with serial_if_small(4 * n * (h + pads[2] + pads[3]) * (w + pads[0] + pads[1])):
            inp = self.stem(x.contiguous(memory_format=self.layout))
            if self.dtype != torch.float32:
                inp = inp.to(self.dtype)
            if any(pads):
                inp = pad(inp, pads)
            att = inp[:, 3:4].contiguous()
            atts = [att]
            for _ in range(4):
                atts.append(self._pool(atts[-1]))

        skips = []
        y = inp
        for level, norm in zip(self.levels, self.skip_norms, strict=True):
            assert norm is not None
            y = level(y)
            with serial_if_small(y.numel()):
                y = norm.apply(y)
                skips.append(y)
                y = self._pool(y)
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
                                  memory_format=self.layout)
                cat[:, :c] = d
                torch.mul(skips[3 - k], atts[3 - k], out=cat[:, c:])
            y = pair(cat)

        y = self.conv10(y)
        with serial_if_small(y.numel()):
            latent = crop(y, pads, h, w)
            return torch.addcmul(x, latent, crop(att, pads, h, w), value=0.5)

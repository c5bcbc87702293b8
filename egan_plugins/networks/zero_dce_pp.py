"""Zero-DCE++ (Li et al., TPAMI 2021): the fast, tiny Zero-DCE (``zero_dce_pp``).

Depthwise-separable convolutions, one curve map reused for all 8 iterations, and the
curve map estimated on a ``scale_factor``-times downsampled image then upsampled
bilinearly. Works on [0, 1] images, takes no attention map.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from egan_plugins.networks.zero_dce import apply_curves, check_state_dict, load_exact


class SeparableConv(nn.Module):
    """3x3 depthwise convolution then 1x1 pointwise (the official ``CSDN_Tem``)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.depth_conv = nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in)
        self.point_conv = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point_conv(self.depth_conv(x))


class ZeroDCEPlusPlus(nn.Module):
    """Zero-DCE++: 10,561 parameters at ``channels=32``.

    Submodules carry the official names (``e_conv1.depth_conv`` ...), so the released
    ``Epoch99.pth`` loads key for key. The official test script crops images to multiples
    of ``scale_factor``; egan pads them instead (edge replication at the bottom and right,
    cropped off afterwards), so every pixel of the input comes out.

    Args:
        scale_factor: downsampling of the curve estimation (the official test: 12; the
            official training: 1).
        channels: width of the hidden layers (the paper: 32).
        seed: seed of the weight initialisation (PyTorch's default, drawn from it).
    """

    value_range = "unit"
    needs_attention = False
    pad_multiple = 1  # pads itself to scale_factor, with shape arithmetic a trace keeps

    def __init__(self, scale_factor: int = 12, channels: int = 32, seed: int = 0) -> None:
        super().__init__()
        if scale_factor < 1:
            raise ValueError(f"scale_factor must be >= 1, got {scale_factor}")
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        self.scale_factor = scale_factor
        c = channels
        self.e_conv1 = SeparableConv(3, c)
        self.e_conv2 = SeparableConv(c, c)
        self.e_conv3 = SeparableConv(c, c)
        self.e_conv4 = SeparableConv(c, c)
        self.e_conv5 = SeparableConv(2 * c, c)
        self.e_conv6 = SeparableConv(2 * c, c)
        self.e_conv7 = SeparableConv(2 * c, 3)
        if not any(p.is_meta for p in self.parameters()):
            # the official training keeps PyTorch's default init; drawn from the seed here
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                for m in self.modules():
                    if isinstance(m, nn.Conv2d):
                        m.reset_parameters()

    def _curves(self, x: torch.Tensor) -> torch.Tensor:
        x1 = F.relu(self.e_conv1(x))
        x2 = F.relu(self.e_conv2(x1))
        x3 = F.relu(self.e_conv3(x2))
        x4 = F.relu(self.e_conv4(x3))
        x5 = F.relu(self.e_conv5(torch.cat((x3, x4), 1)))
        x6 = F.relu(self.e_conv6(torch.cat((x2, x5), 1)))
        return torch.tanh(self.e_conv7(torch.cat((x1, x6), 1)))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(N, 3, H, W)`` in [0, 1] -> (enhanced, not clipped; ``{"curves": (N, 3, H, W)}``)."""
        curves = self._full_size(self.predict_transform(image), image)
        return apply_curves(image, curves), {"curves": curves}

    def predict_transform(self, image: torch.Tensor) -> torch.Tensor:
        """The curve maps at the estimation's resolution (``scale_factor`` times smaller):
        what video smooths over time."""
        s = self.scale_factor
        if s == 1:
            return self._curves(image)
        height, width = image.shape[-2], image.shape[-1]
        dh, dw = (s - height % s) % s, (s - width % s) % s
        x = F.pad(image, [0, dw, 0, dh], mode="replicate")
        return self._curves(F.interpolate(x, scale_factor=1 / s, mode="bilinear", align_corners=False))

    def apply_transform(self, image: torch.Tensor, curves: torch.Tensor) -> torch.Tensor:
        """Enhance ``image`` with curve maps from :meth:`predict_transform` (not clipped)."""
        return apply_curves(image, self._full_size(curves, image))

    def _full_size(self, curves: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        if self.scale_factor == 1:
            return curves
        height, width = image.shape[-2], image.shape[-1]
        up = F.interpolate(curves, scale_factor=self.scale_factor, mode="bilinear", align_corners=True)
        return up[:, :, :height, :width]

    @classmethod
    def from_foreign_state_dict(cls, state_dict: Mapping[str, torch.Tensor]) -> ZeroDCEPlusPlus:
        """Build from the official Zero-DCE++ ``Epoch99.pth`` (``scale_factor`` 12, as tested).

        Raises:
            CheckpointError: the dict is not a Zero-DCE++ state dict.
        """
        sd = check_state_dict(state_dict, "Zero-DCE++")
        first = sd.get("e_conv1.point_conv.weight")
        channels = first.shape[0] if first is not None and first.dim() == 4 else 32
        return load_exact(lambda: cls(channels=channels), sd, "Zero-DCE++ network")

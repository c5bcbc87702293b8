"""SCI (Ma et al., CVPR 2022): self-calibrated illumination learning (``sci``).

At inference SCI is a 3-layer illumination network (258 parameters): the illumination is
``clamp(x + illumination_net(x), 1e-4, 1)`` and the output is the reflectance
``clamp(x / illumination, 0, 1)`` (Retinex). The self-calibrated module, which feeds each
training stage a corrected input, exists only while training: ``calibrate: true`` (the
shipped recipe) builds it; it is never run in eval mode.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from egan_plugins.networks.zero_dce import check_state_dict, load_exact

#: Lower clamp of the illumination (keeps ``x / illumination`` finite).
MIN_ILLUMINATION = 1e-4


def _conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out))


class IlluminationNet(nn.Module):
    """The inference network: conv-ReLU, one residual conv-BN-ReLU block, conv-sigmoid."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.in_conv = nn.Conv2d(3, channels, 3, padding=1)
        self.block = _conv_bn(channels, channels)
        self.out_conv = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = F.relu(self.in_conv(x))
        fea = fea + F.relu(self.block(fea))
        return (torch.sigmoid(self.out_conv(fea)) + x).clamp(MIN_ILLUMINATION, 1.0)


class CalibrateNet(nn.Module):
    """The training-only self-calibrated module: ``x -> x - sigmoid(net(x))``.

    As in the official code, the residual block is one module applied ``layers`` times
    (its weights are shared).
    """

    def __init__(self, channels: int = 16, layers: int = 3) -> None:
        super().__init__()
        self.layers = layers
        self.in_conv = _conv_bn(3, channels)
        self.block = nn.Sequential(_conv_bn(channels, channels), nn.ReLU(), _conv_bn(channels, channels))
        self.out_conv = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = F.relu(self.in_conv(x))
        for _ in range(self.layers):
            fea = fea + F.relu(self.block(fea))
        return x - torch.sigmoid(self.out_conv(fea))


#: Official key prefix -> egan key prefix (the official ``blocks.0`` repeats ``conv``).
_ENHANCE_KEYS = {"enhance.in_conv.0.": "illumination.in_conv.", "enhance.conv.": "illumination.block.",
                 "enhance.out_conv.0.": "illumination.out_conv."}
_CALIBRATE_KEYS = {"calibrate.in_conv.": "calibrate.in_conv.",
                   "calibrate.convs.0.": "calibrate.block.0.0.", "calibrate.convs.1.": "calibrate.block.0.1.",
                   "calibrate.convs.3.": "calibrate.block.2.0.", "calibrate.convs.4.": "calibrate.block.2.1.",
                   "calibrate.out_conv.0.": "calibrate.out_conv."}


class SCI(nn.Module):
    """SCI's illumination network, plus the self-calibrated module while training.

    Args:
        stages: training stages (the official: 3); each stage's input is the original
            image plus the calibration of the previous stage's reflectance.
        calibrate: build the self-calibrated module (training). Without it, training uses
            one stage on the plain input, and the network holds only the 258 inference
            parameters.
        seed: seed of the weight initialisation (injected from the recipe's ``seed``).
    """

    value_range = "unit"
    needs_attention = False
    pad_multiple = 1

    def __init__(self, stages: int = 3, calibrate: bool = False, seed: int = 0) -> None:
        super().__init__()
        if stages < 1:
            raise ValueError(f"stages must be >= 1, got {stages}")
        self.stages = stages
        self.illumination = IlluminationNet()
        self.calibrate = CalibrateNet() if calibrate else None
        self._init(seed)

    @torch.no_grad()
    def _init(self, seed: int) -> None:
        """The official init: conv weights N(0, 0.02) and biases 0, BatchNorm weights N(1, 0.02)."""
        if any(p.is_meta for p in self.parameters()):
            return
        gen = torch.Generator().manual_seed(seed)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.normal_(0.0, 0.02, generator=gen)
                m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.normal_(1.0, 0.02, generator=gen)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(N, 3, H, W)`` in [0, 1] -> (reflectance in [0, 1], aux).

        ``aux["illumination"]`` is the first stage's illumination; while training with the
        self-calibrated module ``stage_inputs`` and ``stage_illuminations`` stack every
        stage along the batch (``(stages * N, 3, H, W)``) for the SCI losses.
        """
        illumination = self.illumination(image)
        out = (image / illumination).clamp(0.0, 1.0)
        aux = {"illumination": illumination}
        if self.training and self.calibrate is not None:
            inputs, illuminations = [image], [illumination]
            reflectance = out
            for _ in range(1, self.stages):
                inputs.append(image + self.calibrate(reflectance))
                illuminations.append(self.illumination(inputs[-1]))
                reflectance = (image / illuminations[-1]).clamp(0.0, 1.0)
            aux["stage_inputs"] = torch.cat(inputs)
            aux["stage_illuminations"] = torch.cat(illuminations)
        return out, aux

    @classmethod
    def from_foreign_state_dict(cls, state_dict: Mapping[str, torch.Tensor]) -> SCI:
        """Build from an official SCI ``weights/*.pt`` (``Network`` or ``Finetunemodel``).

        The illumination network's keys are required; the self-calibrated module's, when
        present, are loaded too (the model is then ready to fine-tune); BatchNorm
        ``num_batches_tracked`` keys are optional.

        Raises:
            CheckpointError: the dict is not an SCI state dict.
        """
        sd = check_state_dict(state_dict, "SCI")
        has_calibrate = any(k.startswith("calibrate.") for k in sd)
        mapped: dict[str, torch.Tensor] = {}
        for key, value in sd.items():
            if key.startswith(("enhance.blocks.", "calibrate.blocks.")):
                continue  # the official repeated blocks alias conv / convs
            for old, new in {**_ENHANCE_KEYS, **_CALIBRATE_KEYS}.items():
                if key.startswith(old):
                    key = new + key[len(old):]
                    break
            mapped[key] = value

        def build() -> SCI:
            model = cls(calibrate=has_calibrate)
            for name, buf in model.named_buffers():
                if name.endswith("num_batches_tracked"):
                    mapped.setdefault(name, torch.zeros_like(buf, device="cpu"))
            return model

        return load_exact(build, mapped, "SCI network")

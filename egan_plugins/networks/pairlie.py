"""PairLIE (Fu et al., CVPR 2023): a simple enhancer learned from paired low-light shots (``pairlie``).

Low-light training data rarely comes with a trustworthy bright target. PairLIE instead
trains on two low-light photographs of one scene (different exposures): the scene's
reflectance must be the same in both, which alone drives a Retinex decomposition, with no
pretrained network and no reference image. Three plain 5-layer CNNs (3x3 convolutions on
reflection-padded inputs, ReLU between, sigmoid at the end; 341,767 parameters at width
64) run in turn: ``X = N(x)`` removes what does not fit the Retinex model (noise),
``L = L(X)`` is the one-channel illumination and ``R = R(X)`` the reflectance. The
enhanced image is ``L ** gamma * R``: gamma 0.2 is the official default, 0.14 the value
the official evaluation uses on LOL.

The released ``PairLIE.pth`` (the official ``net`` state dict) loads as it comes with
``--checkpoint``: :meth:`PairLIE.from_foreign_state_dict` recognises its keys.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from egan_core.checkpoint import describe_mismatch
from egan_core.errors import CheckpointError
from egan_core.padding import pad
from egan_plugins.networks.zero_dce import check_state_dict

#: Convolutions per sub-network.
DEPTH = 5
#: One pixel of reflection on every side: each 3x3 convolution keeps the size.
_ONE_PIXEL = (1, 1, 1, 1)
#: Official sub-network name -> egan submodule.
_SUBNETS = {"N_net": "denoise", "L_net": "illumination", "R_net": "reflectance"}


class ConvStack(nn.Module):
    """``DEPTH`` reflection-padded 3x3 convolutions, ReLU between, sigmoid at the end: one
    of PairLIE's three sub-networks (output in (0, 1), same size as the input)."""

    def __init__(self, c_out: int, channels: int) -> None:
        super().__init__()
        widths = [3] + [channels] * (DEPTH - 1) + [c_out]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3) for a, b in zip(widths[:-1], widths[1:], strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` -> ``(N, c_out, H, W)`` in (0, 1)."""
        last = len(self.convs) - 1
        for i, conv in enumerate(self.convs):
            # egan's reflection padding: the official ReflectionPad2d(1), and a 1-pixel
            # side (which cannot reflect) replicated instead of failing
            x = conv(pad(x, _ONE_PIXEL))
            if i < last:
                x = torch.relu(x)
        return torch.sigmoid(x)


def _official_keys() -> dict[str, str]:
    """Official state-dict key -> egan key (the official ``nn.Sequential`` puts the
    convolutions at indices 1, 4, 7, 10, 13, after each ``ReflectionPad2d``)."""
    keys = {}
    for official, name in _SUBNETS.items():
        for k in range(DEPTH):
            for what in ("weight", "bias"):
                keys[f"{official}.{official}.{3 * k + 1}.{what}"] = f"{name}.convs.{k}.{what}"
    return keys


class PairLIE(nn.Module):
    """PairLIE's network: denoising, illumination and reflectance CNNs (341,767
    parameters at ``channels=64``).

    Args:
        channels: width of the hidden layers (the paper: 64).
        gamma: exponent of the illumination in the output ``L ** gamma * R`` (the official
            default 0.2; its evaluation uses 0.14 on LOL). Smaller is brighter.
        seed: seed of the weight initialisation (PyTorch's default, as the official
            training; injected from the recipe's ``seed``).
    """

    value_range = "unit"
    needs_attention = False
    pad_multiple = 1  # no pooling; every convolution reflection-pads its own input

    def __init__(self, channels: int = 64, gamma: float = 0.2, seed: int = 0) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        if not gamma > 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        self.gamma = float(gamma)
        self.denoise = ConvStack(3, channels)
        self.illumination = ConvStack(1, channels)
        self.reflectance = ConvStack(3, channels)
        if not any(p.is_meta for p in self.parameters()):
            with torch.random.fork_rng(devices=[]):  # the caller's random stream is left alone
                torch.manual_seed(seed)
                for conv in self.modules():
                    if isinstance(conv, nn.Conv2d):
                        conv.reset_parameters()

    def decompose(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(N, 3, H, W)`` in [0, 1] -> ``(L, R, X)``: illumination ``(N, 1, H, W)``,
        reflectance and denoised image ``(N, 3, H, W)``, all in (0, 1). What PairLIE's
        training losses take (the official ``net.forward``)."""
        denoised = self.denoise(x)
        return self.illumination(denoised), self.reflectance(denoised), denoised

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(N, 3, H, W)`` in [0, 1] -> (``L ** gamma * R`` in (0, 1),
        ``{"illumination": L, "reflectance": R, "denoised": X}``)."""
        light, reflectance, denoised = self.decompose(x)
        out = light.pow(self.gamma) * reflectance
        return out, {"illumination": light, "reflectance": reflectance, "denoised": denoised}

    @classmethod
    def from_foreign_state_dict(cls, state_dict: Mapping[str, torch.Tensor]) -> PairLIE:
        """Build from the released ``PairLIE.pth`` (the official ``net`` state dict, keys
        ``N_net.N_net.1.weight`` ... ``R_net.R_net.13.bias``, a ``module.`` prefix allowed);
        the width is read from the weights, gamma is the default 0.2.

        Raises:
            CheckpointError: the dict is not a PairLIE state dict (keys or shapes).
        """
        sd = check_state_dict(state_dict, "PairLIE")
        first = sd.get("N_net.N_net.1.weight")
        if first is None:
            raise CheckpointError("not a PairLIE state dict (no key N_net.N_net.1.weight)")
        channels = first.shape[0] if first.dim() == 4 and first.shape[0] >= 1 else 64
        keys = _official_keys()
        with torch.device("meta"):
            ours = cls(channels=channels).state_dict()
        problems = describe_mismatch({official: ours[mine] for official, mine in keys.items()}, sd)
        if problems:
            raise CheckpointError(f"state dict is not a PairLIE network: {problems}")
        model = cls(channels=channels)
        model.load_state_dict({mine: sd[official] for official, mine in keys.items()})
        return model

"""Zero-DCE (Guo et al., CVPR 2020): per-pixel light-enhancement curves (``zero_dce``).

A 7-layer plain CNN predicts 8 curve-parameter maps ``A_n`` (3 channels each) and the
image is brightened by iterating ``x <- x + A_n * (x^2 - x)``. It works on [0, 1] images,
takes no attention map and handles any size (no pooling).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from egan_core.checkpoint import describe_mismatch
from egan_core.errors import CheckpointError
from egan_plugins.networks.init import init_weights, seeded

#: Curve iterations of Zero-DCE (and Zero-DCE++).
ITERATIONS = 8


def apply_curves(x: torch.Tensor, curves: torch.Tensor) -> torch.Tensor:
    """Iterate the quadratic light-enhancement curve ``x + a (x^2 - x)``.

    ``curves`` has 3 channels (one map reused at every iteration, Zero-DCE++) or
    ``3 * ITERATIONS`` (one map per iteration, Zero-DCE).
    """
    maps = curves.split(3, dim=1) if curves.shape[1] > 3 else (curves,) * ITERATIONS
    for a in maps:
        x = x + a * (x * x - x)
    return x


def check_state_dict(state_dict: object, what: str) -> dict[str, torch.Tensor]:
    """A foreign state dict as a plain dict without ``module.`` prefixes, or CheckpointError."""
    if not isinstance(state_dict, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()
    ):
        raise CheckpointError(f"not a {what} state dict (expected a mapping of parameter names "
                              "to tensors)")
    return {k.removeprefix("module."): v for k, v in state_dict.items()}


def load_exact(build: Callable[[], nn.Module], state_dict: Mapping[str, torch.Tensor],
               what: str) -> nn.Module:
    """``build()`` with ``state_dict`` loaded, when its keys and shapes match exactly.

    Checked on the meta device first, so an untrusted file describing a huge network fails
    before anything is allocated.
    """
    with torch.device("meta"):
        expected = build().state_dict()
    problems = describe_mismatch(expected, dict(state_dict))
    if problems:
        raise CheckpointError(f"state dict is not a {what}: {problems}")
    model = build()
    model.load_state_dict(state_dict)
    return model


class ZeroDCE(nn.Module):
    """Zero-DCE's DCE-Net: 79,416 parameters at ``channels=32``.

    Submodules carry the official names (``e_conv1`` ... ``e_conv7``), so the released
    ``Epoch99.pth`` loads key for key.

    Args:
        channels: width of the hidden layers (the paper: 32).
        seed: seed of the weight initialisation (injected from the recipe's ``seed``).
    """

    value_range = "unit"
    needs_attention = False
    pad_multiple = 1

    def __init__(self, channels: int = 32, seed: int = 0) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        c = channels
        self.e_conv1 = nn.Conv2d(3, c, 3, padding=1)
        self.e_conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.e_conv3 = nn.Conv2d(c, c, 3, padding=1)
        self.e_conv4 = nn.Conv2d(c, c, 3, padding=1)
        self.e_conv5 = nn.Conv2d(2 * c, c, 3, padding=1)
        self.e_conv6 = nn.Conv2d(2 * c, c, 3, padding=1)
        self.e_conv7 = nn.Conv2d(2 * c, 3 * ITERATIONS, 3, padding=1)
        init_weights(self, seeded(seed))  # the official training's N(0, 0.02)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(N, 3, H, W)`` in [0, 1] -> (enhanced, not clipped; ``{"curves": (N, 24, H, W)}``)."""
        x1 = F.relu(self.e_conv1(image))
        x2 = F.relu(self.e_conv2(x1))
        x3 = F.relu(self.e_conv3(x2))
        x4 = F.relu(self.e_conv4(x3))
        x5 = F.relu(self.e_conv5(torch.cat((x3, x4), 1)))
        x6 = F.relu(self.e_conv6(torch.cat((x2, x5), 1)))
        curves = torch.tanh(self.e_conv7(torch.cat((x1, x6), 1)))
        return apply_curves(image, curves), {"curves": curves}

    @classmethod
    def from_foreign_state_dict(cls, state_dict: Mapping[str, torch.Tensor]) -> ZeroDCE:
        """Build from the official ``Epoch99.pth`` (``enhance_net_nopool`` state dict).

        Raises:
            CheckpointError: the dict is not a Zero-DCE state dict.
        """
        sd = check_state_dict(state_dict, "Zero-DCE")
        first = sd.get("e_conv1.weight")
        channels = first.shape[0] if first is not None and first.dim() == 4 else 32
        return load_exact(lambda: cls(channels=channels), sd, "Zero-DCE DCE-Net")

"""EnlightenGAN's weight initialisation, reproducible from an explicit generator."""

from __future__ import annotations

import math

import torch
from torch import nn


@torch.no_grad()
def init_weights(module: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Initialise every conv and BatchNorm below ``module`` as the original code does.

    Conv weights ~ N(0, 0.02); conv biases keep PyTorch's default distribution
    (U(-1/sqrt(fan_in), 1/sqrt(fan_in))) but are drawn from ``generator`` too; BatchNorm
    weights ~ N(1, 0.02), biases 0.

    Args:
        module: the network to initialise in place.
        generator: the source of randomness; ``None`` uses torch's global RNG.

    Returns:
        ``module``, for chaining.
    """
    if any(p.is_meta for p in module.parameters()):
        return module  # shape-only probe (checkpoint checks): no values to draw
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            m.weight.normal_(0.0, 0.02, generator=generator)
            if m.bias is not None:
                fan_in = m.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                m.bias.uniform_(-bound, bound, generator=generator)
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.normal_(1.0, 0.02, generator=generator)
            m.bias.zero_()
    return module


def seeded(seed: int) -> torch.Generator:
    """A CPU :class:`torch.Generator` seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)

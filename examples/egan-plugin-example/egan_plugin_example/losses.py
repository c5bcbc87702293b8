"""A total-variation loss, as a third-party plugin would add one."""

from __future__ import annotations

import torch
from torch import nn


class TVLoss(nn.Module):
    """Total variation of the enhanced image: smooths the noise brightening amplifies.

    Args:
        power: exponent of the absolute neighbour differences (1 = anisotropic TV).
    """

    def __init__(self, power: float = 1.0) -> None:
        super().__init__()
        if power <= 0:
            raise ValueError(f"power must be > 0, got {power}")
        self.power = float(power)

    def forward(self, ctx) -> torch.Tensor:  # type: ignore[no-untyped-def]
        """``ctx`` is egan's ``LossContext``; only ``ctx.enhanced`` is used."""
        x = ctx.enhanced
        dh = (x[..., 1:, :] - x[..., :-1, :]).abs() ** self.power
        dw = (x[..., :, 1:] - x[..., :, :-1]).abs() ** self.power
        return dh.mean() + dw.mean()

"""Least-squares adversarial losses: relativistic average (``ralsgan``) and plain (``lsgan``).

Both take discriminator outputs (any shape, e.g. ``(N, 1, h, w)`` prediction maps, or
``(P * N, 1, h, w)`` for patch-major crops) and return a scalar. Every squared error is a
mean over all elements, so on a batch of equally sized patches it is the mean of the
per-patch losses.
"""

from __future__ import annotations

import torch

from egan_core.losses import AdversarialLoss


def _mse_to(x: torch.Tensor, target: float) -> torch.Tensor:
    """Mean squared error of ``x`` against a constant target (1 = real, 0 = fake)."""
    return torch.mean((x - target) ** 2)


class RelativisticAverageLSGAN(AdversarialLoss):
    """RaLSGAN, EnlightenGAN's global loss; ``mean`` is one scalar over batch and positions.

    D: ½[(D(r) − mean D(f) − 1)² + (D(f) − mean D(r))²];
    G: ½[(D(r) − mean D(f))² + (D(f) − mean D(r) − 1)²].
    """

    uses_real_in_g = True

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Discriminator objective from ``D(real)`` and ``D(fake)``."""
        return 0.5 * (_mse_to(real - fake.mean(), 1.0) + _mse_to(fake - real.mean(), 0.0))

    def g_loss(self, real: torch.Tensor | None, fake: torch.Tensor) -> torch.Tensor:
        """Generator objective from ``D(real)`` and ``D(fake)``."""
        if real is None:
            raise ValueError("ralsgan's generator loss needs D(real)")
        return 0.5 * (_mse_to(real - fake.mean(), 0.0) + _mse_to(fake - real.mean(), 1.0))


class LSGAN(AdversarialLoss):
    """Plain LSGAN, EnlightenGAN's local (patch) loss.

    D: ½[(D(r) − 1)² + D(f)²]; G: (D(f) − 1)².
    """

    uses_real_in_g = False

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Discriminator objective from ``D(real)`` and ``D(fake)``."""
        return 0.5 * (_mse_to(real, 1.0) + _mse_to(fake, 0.0))

    def g_loss(self, real: torch.Tensor | None, fake: torch.Tensor) -> torch.Tensor:
        """Generator objective from ``D(fake)`` (``real`` is ignored and may be ``None``)."""
        return _mse_to(fake, 1.0)

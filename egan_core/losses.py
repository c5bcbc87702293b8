"""What losses see (:class:`LossContext`) and the adversarial-loss contract."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class LossContext:
    """Everything a generator-side loss may use; images in [-1, 1], NCHW.

    Patch tensors hold every patch of every image, patch-major: ``(P * N, 3, s, s)`` where
    ``P`` is the number of patches (1 + extra random crops) at the same coordinates in
    ``enhanced``, ``normal`` and ``low``. They are ``None`` when the discriminator takes
    no patches.

    ``aux`` holds the generator's auxiliary outputs by name, for losses that need more
    than the image (empty for ``attention_unet``): Zero-DCE's ``curves`` (the curve
    parameter maps, ``(N, 3 * iterations, H, W)`` or ``(N, 3, H, W)``), SCI's
    ``illumination`` and, while training with its self-calibrated module,
    ``stage_inputs`` / ``stage_illuminations`` (every stage stacked along the batch). For
    generators with ``value_range: unit``, ``enhanced`` and ``latent`` are still given in
    [-1, 1] here (``latent = enhanced - input``) and ``attention`` is the input's map.
    """

    low: torch.Tensor
    input: torch.Tensor
    enhanced: torch.Tensor
    normal: torch.Tensor
    attention: torch.Tensor
    latent: torch.Tensor
    enhanced_patches: torch.Tensor | None = None
    normal_patches: torch.Tensor | None = None
    low_patches: torch.Tensor | None = None
    num_patches: int = 0
    aux: Mapping[str, torch.Tensor] = field(default_factory=dict)


class AdversarialLoss(nn.Module):
    """Base of adversarial losses (registered in ``losses``, named in ``adversarial:``).

    Subclasses implement both objectives from discriminator outputs on real and fake.
    ``uses_real_in_g`` says whether :meth:`g_loss` needs ``D(real)`` (relativistic losses
    do), so the trainer skips that forward pass when not.
    """

    uses_real_in_g: bool = True

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Discriminator objective (fake already detached by the caller)."""
        raise NotImplementedError

    def g_loss(self, real: torch.Tensor | None, fake: torch.Tensor) -> torch.Tensor:
        """Generator objective."""
        raise NotImplementedError

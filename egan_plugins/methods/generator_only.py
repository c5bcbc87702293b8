"""``zero_reference`` and ``supervised``: the generator alone on the recipe's losses.

Both run the same step (one forward, the weighted sum of the losses, one optimizer step);
they differ in what a recipe gets when it leaves sections out. ``zero_reference`` is
Zero-DCE's, Zero-DCE++'s and SCI's training (losses that need no target), ``supervised``
is training against paired targets (distillation from a teacher's outputs). A recipe
without ``method:`` that sets ``model.discriminator: null`` trains with ``supervised`` when
its dataset is ``paired``, else with ``zero_reference``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from egan_core.training.method import DiscriminatorUse, Method, StepContext
from egan_core.training.step import Parts, generator_step
from egan_plugins.methods.enlightengan import discriminator_unset


def _dataset_name(raw: Mapping[str, Any]) -> Any:
    data = raw.get("data")
    return data.get("dataset", "unpaired") if isinstance(data, Mapping) else None


class GeneratorOnly(Method):
    """The generator trained alone on the recipe's losses (no discriminator)."""

    discriminator: ClassVar[DiscriminatorUse] = "none"

    def step(self, parts: Parts, batch: dict[str, torch.Tensor], ctx: StepContext
             ) -> dict[str, torch.Tensor]:
        """One forward, the weighted losses, one optimizer step."""
        return generator_step(parts, batch, ctx)


class ZeroReference(GeneratorOnly):
    """Zero-reference training: losses computed from the input and the output alone
    (Zero-DCE's four by default), so any folder of low-light photos is training data."""

    defaults: ClassVar[Mapping[str, Any]] = {
        "model": {"generator": {"name": "zero_dce"}, "discriminator": None},
        "losses": {
            "illumination_smoothness": {"weight": 200.0},
            "spatial_consistency": {"weight": 1.0},
            "color_constancy": {"weight": 5.0},
            "exposure": {"weight": 10.0},
        },
    }

    @classmethod
    def infer(cls, raw: Mapping[str, Any]) -> bool:
        """``model.discriminator: null`` with a dataset other than ``paired``."""
        return discriminator_unset(raw) and _dataset_name(raw) != "paired"


class Supervised(GeneratorOnly):
    """Training against paired targets (a teacher's outputs, or ground truth): L1 by default."""

    defaults: ClassVar[Mapping[str, Any]] = {
        "model": {"generator": {"name": "attention_unet"}, "discriminator": None},
        "losses": {"l1": {"weight": 1.0}},
    }

    @classmethod
    def infer(cls, raw: Mapping[str, Any]) -> bool:
        """``model.discriminator: null`` with the ``paired`` dataset."""
        return discriminator_unset(raw) and _dataset_name(raw) == "paired"

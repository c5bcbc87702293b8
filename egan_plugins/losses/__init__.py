"""Built-in losses: EnlightenGAN's adversarial and self feature preserving losses."""

from __future__ import annotations

from egan_core.registry import Registries
from egan_plugins.losses.adversarial import LSGAN, RelativisticAverageLSGAN
from egan_plugins.losses.feature import (
    Relu51Loss,
    Relu53Loss,
    SelfFeatureLoss,
    StyleFeatureLoss,
)
from egan_plugins.losses.pixel import ExposureLoss, GradientLoss, L1Loss, MSELoss

__all__ = [
    "LSGAN", "ExposureLoss", "GradientLoss", "L1Loss", "MSELoss", "RelativisticAverageLSGAN",
    "Relu51Loss", "Relu53Loss", "SelfFeatureLoss", "StyleFeatureLoss", "register",
]


def register(registries: Registries) -> None:
    """Register the adversarial, feature, reconstruction and exposure losses."""
    registries.losses.register("ralsgan", RelativisticAverageLSGAN)
    registries.losses.register("lsgan", LSGAN)
    registries.losses.register("relu5_1", Relu51Loss)
    registries.losses.register("relu5_3", Relu53Loss)
    registries.losses.register("stylefeat", StyleFeatureLoss)
    registries.losses.register("l1", L1Loss)
    registries.losses.register("mse", MSELoss)
    registries.losses.register("gradient", GradientLoss)
    registries.losses.register("exposure", ExposureLoss)

"""Built-in losses: EnlightenGAN's adversarial and self feature preserving losses, pixel
losses, and the zero-reference losses of Zero-DCE and SCI."""

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
from egan_plugins.losses.zero_reference import (
    ColorConstancyLoss,
    IlluminationSmoothnessLoss,
    SCIFidelityLoss,
    SCISmoothnessLoss,
    SpatialConsistencyLoss,
)

__all__ = [
    "LSGAN", "ColorConstancyLoss", "ExposureLoss", "IlluminationSmoothnessLoss", "SCIFidelityLoss",
    "SCISmoothnessLoss", "SpatialConsistencyLoss", "GradientLoss", "L1Loss", "MSELoss",
    "RelativisticAverageLSGAN",
    "Relu51Loss", "Relu53Loss", "SelfFeatureLoss", "StyleFeatureLoss", "register",
]


def register(registries: Registries) -> None:
    """Register the adversarial, feature, reconstruction, exposure and zero-reference losses."""
    registries.losses.register("ralsgan", RelativisticAverageLSGAN)
    registries.losses.register("lsgan", LSGAN)
    registries.losses.register("relu5_1", Relu51Loss)
    registries.losses.register("relu5_3", Relu53Loss)
    registries.losses.register("stylefeat", StyleFeatureLoss)
    registries.losses.register("l1", L1Loss)
    registries.losses.register("mse", MSELoss)
    registries.losses.register("gradient", GradientLoss)
    registries.losses.register("exposure", ExposureLoss)
    registries.losses.register("spatial_consistency", SpatialConsistencyLoss)
    registries.losses.register("color_constancy", ColorConstancyLoss)
    registries.losses.register("illumination_smoothness", IlluminationSmoothnessLoss)
    registries.losses.register("sci_fidelity", SCIFidelityLoss)
    registries.losses.register("sci_smoothness", SCISmoothnessLoss)

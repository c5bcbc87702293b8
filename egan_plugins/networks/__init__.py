"""Built-in networks: EnlightenGAN's attention U-Net and global/local PatchGANs."""

from __future__ import annotations

from egan_core.registry import Registries
from egan_plugins.networks.init import init_weights
from egan_plugins.networks.patchgan import GlobalLocalDiscriminator, NoNormPatchGAN
from egan_plugins.networks.unet import AttentionUNet

__all__ = ["AttentionUNet", "GlobalLocalDiscriminator", "NoNormPatchGAN", "init_weights",
           "register"]


def register(registries: Registries) -> None:
    """Register the built-in networks (``attention_unet``, ``global_local``)."""
    registries.generators.register("attention_unet", AttentionUNet)
    registries.discriminators.register("global_local", GlobalLocalDiscriminator)

"""Built-in networks: EnlightenGAN's attention U-Net and global/local PatchGANs, and the
zero-reference family (Zero-DCE, Zero-DCE++, SCI), and PairLIE."""

from __future__ import annotations

from egan_core.registry import Registries
from egan_plugins.networks.fast_grid import FastGridNet
from egan_plugins.networks.init import init_weights
from egan_plugins.networks.pairlie import PairLIE
from egan_plugins.networks.patchgan import GlobalLocalDiscriminator, NoNormPatchGAN
from egan_plugins.networks.sci import SCI
from egan_plugins.networks.unet import AttentionUNet
from egan_plugins.networks.zero_dce import ZeroDCE
from egan_plugins.networks.zero_dce_pp import ZeroDCEPlusPlus

__all__ = ["SCI", "AttentionUNet", "FastGridNet", "GlobalLocalDiscriminator", "NoNormPatchGAN", "PairLIE",
           "ZeroDCE", "ZeroDCEPlusPlus", "init_weights", "register"]


def register(registries: Registries) -> None:
    """Register the built-in networks (``attention_unet``, ``zero_dce``, ``zero_dce_pp``,
    ``sci``, ``fast_grid``, ``pairlie``, ``global_local``)."""
    registries.generators.register("attention_unet", AttentionUNet)
    registries.generators.register("zero_dce", ZeroDCE)
    registries.generators.register("zero_dce_pp", ZeroDCEPlusPlus)
    registries.generators.register("sci", SCI)
    registries.generators.register("fast_grid", FastGridNet)
    registries.generators.register("pairlie", PairLIE)
    registries.discriminators.register("global_local", GlobalLocalDiscriminator)

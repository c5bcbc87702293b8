"""Built-in enhancers: ``gan`` (a generator), ``fast`` (the real-time model), ``zero_dce_pp``
and ``pairlie`` (egan-trained Zero-DCE++ and PairLIE, research use), ``clahe`` and ``denoise``
(OpenCV)."""

from __future__ import annotations

from egan_core.registry import Registries
from egan_plugins.enhancers.classic import Clahe, Denoise
from egan_plugins.enhancers.fast import fast_enhancer
from egan_plugins.enhancers.gan import gan_enhancer
from egan_plugins.enhancers.zoo import pairlie_enhancer, zero_dce_pp_enhancer

__all__ = ["Clahe", "Denoise", "fast_enhancer", "gan_enhancer", "pairlie_enhancer", "register",
           "zero_dce_pp_enhancer"]


def register(registries: Registries) -> None:
    """Register the built-in enhancers."""
    registries.enhancers.register("gan", gan_enhancer)
    registries.enhancers.register("fast", fast_enhancer)
    registries.enhancers.register("zero_dce_pp", zero_dce_pp_enhancer)
    registries.enhancers.register("pairlie", pairlie_enhancer)
    registries.enhancers.register("clahe", Clahe)
    registries.enhancers.register("denoise", Denoise)

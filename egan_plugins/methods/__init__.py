"""Built-in training methods: ``enlightengan`` (the default), ``zero_reference``,
``supervised`` and ``pairlie``.

Each is a :class:`~egan_core.training.method.Method` registered under the ``methods`` kind,
the way a plugin package registers its own.
"""

from __future__ import annotations

from egan_core.registry import Registries
from egan_plugins.methods.enlightengan import EnlightenGAN
from egan_plugins.methods.generator_only import Supervised, ZeroReference
from egan_plugins.methods.pairlie import PairLIEMethod

__all__ = ["EnlightenGAN", "PairLIEMethod", "Supervised", "ZeroReference", "register"]


def register(registries: Registries) -> None:
    """Register the built-in methods."""
    registries.methods.register("enlightengan", EnlightenGAN)
    registries.methods.register("zero_reference", ZeroReference)
    registries.methods.register("supervised", Supervised)
    registries.methods.register("pairlie", PairLIEMethod)

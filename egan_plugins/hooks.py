"""The built-ins' plugin module: the same hook any third-party package implements."""

from __future__ import annotations

from egan_core import hookimpl
from egan_core.registry import Registries


@hookimpl
def egan_register(registries: Registries) -> None:
    """Register the EnlightenGAN networks, losses, datasets, enhancers, training methods,
    ExDark objects and the records of the shipped models."""
    from egan_plugins import data, enhancers, losses, methods, networks, objects, shipped

    for module in (objects, networks, losses, data, enhancers, methods, shipped):
        module.register(registries)

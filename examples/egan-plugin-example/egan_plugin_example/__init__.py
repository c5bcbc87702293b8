"""An example egan plugin: the ``tv`` loss and the ``scooter`` object.

It uses only egan's public plugin API (``hookimpl``, ``ObjectSpec`` and the registries
handed to ``egan_register``), exactly as any third-party package would.
"""

from __future__ import annotations

from egan_core import ObjectSpec, hookimpl
from egan_plugin_example.losses import TVLoss

__all__ = ["TVLoss", "egan_register"]


@hookimpl
def egan_register(registries) -> None:  # type: ignore[no-untyped-def]
    """Add the ``tv`` loss and the ``scooter`` object (alias ``moped``)."""
    registries.losses.register("tv", TVLoss)
    registries.objects.register("scooter", ObjectSpec("scooter", aliases=("moped",)))

"""The one hook egan plugins implement."""

from __future__ import annotations

import pluggy

PROJECT = "egan"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def egan_register(registries) -> None:  # type: ignore[no-untyped-def]
    """Register components: ``registries.losses.register("tv", TVLoss)`` and the like."""

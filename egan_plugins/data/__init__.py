"""Built-in data."""

from __future__ import annotations

from egan_core.registry import Registries


def register(registries: Registries) -> None:
    """Register the built-in data."""

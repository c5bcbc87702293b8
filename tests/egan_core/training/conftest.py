"""Tiny real recipes for trainer tests (synthetic data, narrow generator, random VGG)."""

from __future__ import annotations

from typing import Any

import pytest

from egan_core.testing import make_tiny_recipe


@pytest.fixture
def tiny_recipe() -> dict[str, Any]:
    """A fresh tiny recipe (4 steps per epoch), writing a sample grid every 2 steps."""
    return make_tiny_recipe(sample_every=2)

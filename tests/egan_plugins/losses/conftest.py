"""Loss tests share one random-weights VGG16, built once and quietly."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _quiet_random_vgg() -> None:
    """Build the shared ``vgg.weights: none`` VGG once, without its tests-only warning."""
    import warnings

    from egan_plugins.losses.vgg import shared_vgg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shared_vgg("none")

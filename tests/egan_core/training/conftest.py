"""Tiny real recipes for trainer tests (synthetic data, narrow generator, random VGG)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 3,
    "data": {"dataset": "synthetic", "size": 48, "length": 8, "batch_size": 2, "workers": 0},
    "model": {
        "generator": {"name": "attention_unet", "base_channels": 4},
        "discriminator": {"name": "global_local", "patches": 2, "patch_size": 16, "ndf": 8},
    },
    "losses": {"relu5_1": {"weight": 1.0}},
    "vgg": {"weights": "none"},
    "train": {"epochs": 1, "decay_epochs": 1, "log_every": 1, "sample_every": 2},
}


@pytest.fixture
def tiny_recipe() -> dict[str, Any]:
    """A fresh copy of the tiny recipe dict (4 steps per epoch)."""
    return copy.deepcopy(TINY)

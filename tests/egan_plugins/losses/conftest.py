"""Tiny CPU tensors: one intra-op thread is faster than two on a shared, busy machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True, scope="session")
def _quiet_random_vgg() -> None:
    """Build the shared ``vgg.weights: none`` VGG once, without its tests-only warning."""
    import warnings

    from egan_plugins.losses.vgg import shared_vgg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shared_vgg("none")

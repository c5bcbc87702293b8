"""Shared test setup: egan's own pytest plugin (the fixtures plugin authors get too).

pytest runs with ``--import-mode=importlib`` (pyproject.toml), since the test folders mirror
the package names (tests/egan_core, tests/egan_plugins) and must not shadow them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

pytest_plugins = ["egan_core.testing"]


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tests use tiny tensors: one intra-op thread beats two on a shared, busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

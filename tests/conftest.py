"""Shared test setup: egan's own pytest plugin (the fixtures plugin authors get too).

pytest runs with ``--import-mode=importlib`` (pyproject.toml), since the test folders mirror
the package names (tests/egan_core, tests/egan_plugins) and must not shadow them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
import torch

pytest_plugins = ["egan_core.testing"]

# Speed decisions (egan_core.autotune) go to a cache of this test session's own, for the
# tests and the CLI subprocesses they start: never the user's ~/.cache, never stale.
os.environ["EGAN_CACHE_DIR"] = _CACHE = tempfile.mkdtemp(prefix="egan-test-cache-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tests use tiny tensors: one intra-op thread beats two on a shared, busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

"""Fixtures for the dataset tests: small images written into tmp_path with PIL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import egan_core
import egan_core.plugins
from egan_core.registry import Registries
from egan_plugins import objects as builtin_objects


def write_image(path: Path, width: int = 48, height: int = 40, seed: int = 0,
                mode: str = "RGB", fmt: str | None = None, **save: object) -> Path:
    """A random-noise image of ``width x height`` saved at ``path`` (folders created)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    array = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    im = Image.fromarray(array)
    if mode != "RGB":
        im = im.convert(mode)
    im.save(path, format=fmt, **save)
    return path


def make_tree(root: Path, a: str = "train_A", b: str = "train_B", n_a: int = 5, n_b: int = 3,
              width: int = 48, height: int = 40) -> Path:
    """``root/a`` with ``n_a`` images and ``root/b`` with ``n_b`` (PNG, distinct noise)."""
    for i in range(n_a):
        write_image(root / a / f"low_{i}.png", width, height, seed=i)
    for i in range(n_b):
        write_image(root / b / f"normal_{i}.jpg", width + 8, height + 4, seed=100 + i)
    return root


@pytest.fixture(name="write_image")
def write_image_fixture() -> Callable[..., Path]:
    """:func:`write_image` as a fixture."""
    return write_image


@pytest.fixture(name="make_tree")
def make_tree_fixture() -> Callable[..., Path]:
    """:func:`make_tree` as a fixture."""
    return make_tree


@pytest.fixture
def object_registries(monkeypatch: pytest.MonkeyPatch) -> Registries:
    """Registries holding only the built-in objects, used by ``object_paired``."""
    registries = Registries()
    builtin_objects.register(registries)
    monkeypatch.setattr(egan_core, "get_registries", lambda: registries)
    monkeypatch.setattr(egan_core.plugins, "get_registries", lambda: registries)
    return registries

"""Fixtures for the enhancement tests: real image files and a small seeded generator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from egan_core.checkpoint import save_checkpoint
from egan_core.generator_io import attention_map
from egan_core.scenes import dark_scene
from egan_plugins.networks.unet import AttentionUNet

SMALL_KWARGS = {"base_channels": 8}


def dark_image(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A dark, textured ``(H, W, 3)`` uint8 test image (egan's one synthetic night scene)."""
    return dark_scene(width, height, seed)


def small_generator(seed: int = 3) -> AttentionUNet:
    """attention_unet at width 8, BatchNorm calibrated on test images, visible residual."""
    model = AttentionUNet(seed=seed, **SMALL_KWARGS)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # cumulative statistics of the calibration batch
    batch = torch.stack([torch.from_numpy(dark_image(64, 64, s)) for s in range(4)])
    x = batch.permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        model.train()(x, attention_map(x))
        model.conv10.weight.mul_(5.0)
    return model.eval()


@pytest.fixture
def dark() -> Callable[..., np.ndarray]:
    """:func:`dark_image`: ``dark(height=48, width=64, seed=0)``."""
    return dark_image


@pytest.fixture
def small_model() -> Callable[..., AttentionUNet]:
    """:func:`small_generator`: ``small_model(seed=3)``."""
    return small_generator


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An egan checkpoint of :func:`small_generator`."""
    path = tmp_path_factory.mktemp("ckpt") / "small.pt"
    generator = {"name": "attention_unet", "kwargs": SMALL_KWARGS,
                 "state_dict": small_generator().state_dict()}
    save_checkpoint(path, {"generator": generator})
    return path


@pytest.fixture
def write_image(tmp_path: Path) -> Callable[..., Path]:
    """``write_image("in/a.png", array=None, **save_options)``: a real image file."""

    def write(name: str, array: np.ndarray | None = None, **options: object) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(dark_image() if array is None else array).save(path, **options)
        return path

    return write

"""The shipped default model (distilled from the official EnlightenGAN; see MODEL.md)."""

from __future__ import annotations

import numpy as np

import egan_core
from egan_core.model_loading import load_generator
from egan_plugins.enhancers.gan import DEFAULT_WEIGHTS


def _dark_scene(height: int = 240, width: int = 320) -> np.ndarray:
    """A generated night scene: gradients, a few shapes, sensor-like noise, mean ~0.1."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    img = np.stack([0.3 + 0.4 * x, 0.25 + 0.5 * y, 0.5 - 0.3 * x * y], axis=-1)
    img[60:140, 40:160] = (0.8, 0.3, 0.2)
    img[((y - 0.5) ** 2 + (x - 0.7) ** 2) < 0.01] = (0.2, 0.7, 0.9)
    dark = img * 0.12 + rng.normal(0, 0.005, img.shape)
    return (np.clip(dark, 0, 1) * 255).round().astype(np.uint8)


def test_shipped_weights_are_fp16_and_load() -> None:
    from safetensors import safe_open

    with safe_open(str(DEFAULT_WEIGHTS), framework="pt") as fh:
        assert fh.metadata()["name"] == "attention_unet"
        assert fh.get_tensor("conv1_1.weight").dtype.is_floating_point
        assert str(fh.get_tensor("conv1_1.weight").dtype) == "torch.float16"
    model = load_generator(DEFAULT_WEIGHTS)
    assert sum(p.numel() for p in model.parameters()) == 8_636_675  # the paper's width


def test_default_gan_brightens_a_dark_image() -> None:
    dark = _dark_scene()
    enhance = egan_core.load_enhancer("gan", device="cpu", precision="fp32")
    out = enhance(dark)
    assert out.shape == dark.shape and out.dtype == np.uint8
    assert out.mean() > dark.mean() + 40  # out of 255: clearly brighter
    # the scene is still there: brightened pixels follow the input's structure
    corr = np.corrcoef(dark.astype(float).ravel(), out.astype(float).ravel())[0, 1]
    assert corr > 0.6

"""The shipped default model (distilled from the official EnlightenGAN; see MODEL.md)."""

from __future__ import annotations

import numpy as np
import torch

import egan_core
from egan_core.model_loading import load_generator
from egan_core.scenes import dark_scene
from egan_plugins.enhancers.gan import DEFAULT_WEIGHTS


def _dark_scene(height: int = 240, width: int = 320) -> np.ndarray:
    return dark_scene(width, height)


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


def test_strength_scales_the_default_model_on_a_real_sized_image() -> None:
    """`--strength` with the shipped model (no checkpoint) on a 320x240 night scene: 0 is
    the input itself, 1 the model's own output, and brightness grows with the strength."""
    dark = _dark_scene()
    x = torch.from_numpy(dark).permute(2, 0, 1)[None].float() / 255
    means = []
    for strength in (0.0, 0.5, 1.0, 1.5):
        enhance = egan_core.load_enhancer(device="cpu", precision="fp32", strength=strength)
        out = enhance(x)
        assert out.shape == x.shape
        means.append(float(out.mean()) * 255)
        if strength == 0.0:
            assert torch.equal(out, x)
            assert np.array_equal(enhance(dark), dark)
        if strength == 1.0:
            (model,) = enhance.stages  # the default gan, as load_enhancer built it
            with torch.no_grad():  # the model's pass, then its whole-frame finish
                assert torch.equal(out, model.finish_whole_frame(x, model(x)).clamp(0, 1))
    assert means[0] < means[1] < means[2] < means[3], means
    assert means[2] > means[0] + 40  # the model really brightens; the steps are not noise

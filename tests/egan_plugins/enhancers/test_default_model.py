"""The shipped default model (distilled from the official EnlightenGAN; see MODEL.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

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
            with torch.no_grad():
                assert torch.equal(out, model(x).clamp(0, 1))
    assert means[0] < means[1] < means[2] < means[3], means
    assert means[2] > means[0] + 40  # the model really brightens; the steps are not noise


def test_quickstart_fine_tune_still_brightens(tmp_path: Path) -> None:
    """The README's first command: `egan run recipes/quickstart.yaml` fine-tunes the default
    model on synthetic scenes; its checkpoint must still brighten dark photos. It keeps the
    default model's BatchNorm statistics (`freeze_norm`): re-estimated on the synthetic scenes
    they turned real photos darker (a 512x341 MEF photo went from mean 56 to 42 of 255)."""
    run = subprocess.run(
        [sys.executable, "-m", "egan_core", "run", "recipes/quickstart.yaml", "--out",
         str(tmp_path), "--set", "train.max_steps=24", "--set", "train.sample_every=0"],
        capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    checkpoint = tmp_path / "quickstart" / "checkpoints" / "latest.pt"
    dark = _dark_scene()
    out = egan_core.load_enhancer("gan", checkpoint=str(checkpoint), device="cpu",
                                  precision="fp32")(dark)
    assert out.mean() > dark.mean() + 40
    tuned = load_generator(checkpoint).state_dict()
    shipped = load_generator(DEFAULT_WEIGHTS).state_dict()
    stats = [k for k in shipped if k.endswith(("running_mean", "running_var"))]
    assert len(stats) == 34  # 17 BatchNorm layers
    for key in stats:
        assert torch.equal(tuned[key].float(), shipped[key].float()), key

"""``egan_core.load_enhancer``: names, chains, options, checkpoints, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import egan_core
from egan_core.enhance.api import resolve_device
from egan_core.enhance.pipeline import Enhancer
from egan_core.errors import EganError, UnknownNameError, UsageError
from egan_core.generator_io import attention_map, from_model_range, to_model_range


def test_gan_from_checkpoint_on_every_input_kind(small_checkpoint: Path, small_model, dark) -> None:
    enhancer = egan_core.load_enhancer(checkpoint=small_checkpoint, device="cpu", precision="fp32",
                                       shadow_chroma=False)  # the generator's output as it is
    assert isinstance(enhancer, Enhancer) and enhancer.names == ["gan"]
    array = dark(40, 52)
    x = torch.from_numpy(array).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        img = to_model_range(x)
        expected = from_model_range(small_model()(img, attention_map(img))[0]).clamp(0, 1)
    y = enhancer(x)
    assert torch.allclose(y, expected, atol=1e-5)
    out = enhancer(array)
    assert out.dtype == np.uint8 and out.shape == array.shape
    assert np.abs(out.astype(float) - expected[0].permute(1, 2, 0).numpy() * 255).max() <= 0.51
    pil = enhancer(Image.fromarray(array))
    assert pil.size == (52, 40) and np.array_equal(np.asarray(pil), out)


def test_chain_and_options(small_checkpoint: Path) -> None:
    chain = egan_core.load_enhancer(["gan", "clahe", "denoise"], checkpoint=small_checkpoint,
                                    precision="fp32", clip_limit=3.0, h=3)
    assert chain.names == ["gan", "clahe", "denoise"]
    assert chain.stages[1].clip_limit == 3.0 and chain.stages[2].h == 3.0
    assert chain(torch.rand(1, 3, 24, 24)).shape == (1, 3, 24, 24)


def test_argument_errors(small_checkpoint: Path) -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'clahe'"):
        egan_core.load_enhancer("clahr")
    with pytest.raises(UsageError, match="checkpoint not accepted"):
        egan_core.load_enhancer("clahe", checkpoint=small_checkpoint)
    with pytest.raises(UsageError, match="clip_limt not accepted"):
        egan_core.load_enhancer("clahe", clip_limt=3.0)
    with pytest.raises(UsageError, match="clip_limit must be"):
        egan_core.load_enhancer("clahe", clip_limit="high")
    with pytest.raises(UsageError, match="not both"):
        egan_core.load_enhancer(checkpoint=small_checkpoint, recipe="x.yaml")
    with pytest.raises(UsageError, match="strength"):
        egan_core.load_enhancer("clahe", strength=-1)


def test_no_default_model_yet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from egan_plugins.enhancers import gan

    monkeypatch.setattr(gan, "DEFAULT_WEIGHTS", tmp_path / "none.safetensors")
    with pytest.raises(EganError, match="no default model is shipped yet; pass --checkpoint"):
        egan_core.load_enhancer()


def test_recipe_uses_the_latest_checkpoint(tmp_path: Path, small_checkpoint: Path) -> None:
    (tmp_path / "r.yaml").write_text("name: night\n")
    latest = tmp_path / "runs" / "night" / "checkpoints" / "latest.pt"
    latest.parent.mkdir(parents=True)
    latest.write_bytes(small_checkpoint.read_bytes())
    enhancer = egan_core.load_enhancer(recipe=str(tmp_path / "r.yaml"), runs=tmp_path / "runs",
                                       precision="fp32")
    assert enhancer.stages[0].precision == "fp32"


def test_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(UsageError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(UsageError, match="unknown device"):
        resolve_device("tpu9")

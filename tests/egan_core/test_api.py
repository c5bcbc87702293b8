"""The public Python API (DESIGN "Python API"): ``load_enhancer``, ``train``, ``load_recipe``.

Also runs every ``python`` block of ``docs/api.md``, so the documented examples stay true.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import egan_core
from egan_core.testing import make_tiny_recipe, save_tiny_checkpoint

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
#: The checkpoint path docs/api.md uses; the docs test replaces it with a test checkpoint.
DOCS_CHECKPOINT = "runs/quickstart/checkpoints/latest.pt"

TINY_RECIPE: dict[str, Any] = {**make_tiny_recipe(max_steps=1), "name": "api"}


def dark_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A dark, textured ``(H, W, 3)`` uint8 image."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / width, yy / height, (xx + yy) / (width + height)], axis=2) * 80
    return np.clip(base + rng.normal(0, 10, (height, width, 3)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An egan checkpoint of a seeded attention_unet with base_channels 4."""
    return save_tiny_checkpoint(tmp_path_factory.mktemp("api") / "tiny.pt", seed=5)


@pytest.fixture(scope="module")
def enhancer(checkpoint: Path) -> Any:
    return egan_core.load_enhancer(checkpoint=checkpoint, device="cpu", precision="fp32")


def test_three_input_kinds_agree_at_an_odd_size(enhancer: Any) -> None:
    pixels = dark_photo(333, 500)

    photo = enhancer(Image.fromarray(pixels))
    assert isinstance(photo, Image.Image)
    assert photo.size == (500, 333) and photo.mode == "RGB"

    array = enhancer(pixels)
    assert isinstance(array, np.ndarray)
    assert array.shape == (333, 500, 3) and array.dtype == np.uint8

    batch = torch.from_numpy(np.stack([pixels, pixels[::-1]])).permute(0, 3, 1, 2).float() / 255
    tensor = enhancer(batch)
    assert isinstance(tensor, torch.Tensor)
    assert tensor.shape == (2, 3, 333, 500) and tensor.dtype == torch.float32
    assert float(tensor.min()) >= 0.0 and float(tensor.max()) <= 1.0

    # the same image gives the same result through every kind (8-bit rounding aside)
    assert np.array_equal(np.asarray(photo), array)
    from_tensor = tensor[0].permute(1, 2, 0).numpy() * 255
    assert np.abs(from_tensor - array.astype(np.float32)).max() <= 1.0
    assert not np.array_equal(array, pixels)  # the model did change the image
    # the second image of the batch is enhanced on its own, as if it came alone
    flipped = enhancer(np.ascontiguousarray(pixels[::-1]))
    assert np.abs(tensor[1].permute(1, 2, 0).numpy() * 255 - flipped.astype(np.float32)).max() <= 1.0


def test_other_modes_dtypes_and_devices(enhancer: Any) -> None:
    pixels = dark_photo(37, 45, seed=1)
    gray = enhancer(Image.fromarray(pixels[..., 0], "L"))
    assert gray.size == (45, 37) and gray.mode == "RGB"
    rgba = enhancer(Image.fromarray(np.dstack([pixels, np.full((37, 45), 255, np.uint8)]), "RGBA"))
    assert rgba.size == (45, 37) and rgba.mode == "RGB"

    x = torch.from_numpy(pixels).permute(2, 0, 1)[None].double() / 255
    y = enhancer(x)
    assert y.dtype == torch.float64 and y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_tensor_stays_on_the_gpu(checkpoint: Path) -> None:
    gpu = egan_core.load_enhancer(checkpoint=checkpoint, device="cuda", precision="fp32")
    x = torch.rand(1, 3, 35, 41, device="cuda")
    y = gpu(x)
    assert y.device == x.device and y.shape == x.shape and y.dtype == x.dtype
    cpu = egan_core.load_enhancer(checkpoint=checkpoint, device="cpu", precision="fp32")
    assert torch.allclose(y.cpu(), cpu(x.cpu()), atol=2e-3)


def test_strength_zero_returns_the_input(checkpoint: Path) -> None:
    same = egan_core.load_enhancer(checkpoint=checkpoint, device="cpu", strength=0)
    pixels = dark_photo(33, 50, seed=2)
    assert np.array_equal(same(pixels), pixels)
    assert np.array_equal(np.asarray(same(Image.fromarray(pixels))), pixels)
    x = torch.rand(2, 3, 33, 50)
    assert torch.equal(same(x), x)


def test_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(egan_core.CheckpointError, match="does not exist") as missing:
        egan_core.load_enhancer(checkpoint=tmp_path / "nope.pt", device="cpu")
    assert isinstance(missing.value, egan_core.EganError)
    assert str(tmp_path / "nope.pt") in str(missing.value)

    with pytest.raises(egan_core.UnknownNameError, match="did you mean 'clahe'") as unknown:
        egan_core.load_enhancer("clahr")
    assert isinstance(unknown.value, egan_core.EganError)
    assert unknown.value.suggestion == ["clahe"] and "gan" in unknown.value.known

    with pytest.raises(egan_core.UsageError, match="cannot enhance a str"):
        egan_core.load_enhancer("clahe")("photo.jpg")


def test_train_returns_the_run_folder_and_metrics(tmp_path: Path) -> None:
    run_dir, metrics = egan_core.train(TINY_RECIPE, overrides=["train.lr=1e-4"],
                                       out=tmp_path / "runs", device="cpu")
    assert Path(run_dir) == tmp_path / "runs" / "api"
    assert metrics["step"] == 1 and metrics["lr"] == pytest.approx(1e-4)
    assert all(np.isfinite(metrics[k]) for k in ("g_total", "d_global", "d_local"))
    saved = egan_core.load_recipe(Path(run_dir) / "recipe.yaml")
    assert saved.train.lr == pytest.approx(1e-4) and saved.train.max_steps == 1
    # what train wrote, load_enhancer takes
    trained = egan_core.load_enhancer(checkpoint=Path(run_dir) / "checkpoints" / "latest.pt",
                                      device="cpu", precision="fp32")
    assert trained(dark_photo(20, 30)).shape == (20, 30, 3)


def docs_blocks() -> list[str]:
    """The ``python`` code blocks of docs/api.md, in order."""
    return re.findall(r"^```python\n(.*?)^```$", DOCS.read_text(encoding="utf-8"), re.S | re.M)


def test_docs_examples_run(tmp_path: Path, checkpoint: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    blocks = docs_blocks()
    assert len(blocks) >= 4 and any(DOCS_CHECKPOINT in block for block in blocks)
    monkeypatch.chdir(tmp_path)
    Image.fromarray(dark_photo(60, 84, seed=3)).save(tmp_path / "dark.jpg")
    namespace: dict[str, Any] = {"__name__": "docs_api"}
    for number, block in enumerate(blocks, 1):
        code = block.replace(DOCS_CHECKPOINT, str(checkpoint))
        exec(compile(code, f"docs/api.md block {number}", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "did you mean 'clahe'" in printed and "did you mean 'train.max_steps'" in printed
    assert "UsageError" in printed
    assert (tmp_path / "bright.jpg").is_file()
    assert (tmp_path / "runs" / "api-demo" / "checkpoints" / "latest.pt").is_file()

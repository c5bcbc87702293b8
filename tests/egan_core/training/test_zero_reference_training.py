"""Zero-reference training (low-light images alone, no discriminator) with the shipped
Zero-DCE, Zero-DCE++ and SCI recipes on generated images: runs, resumes exactly, and uses
the recipe's weight decay and gradient clipping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from egan_core.checkpoint import load_checkpoint
from egan_core.errors import RecipeError
from egan_core.plugins import get_registries
from egan_core.recipe import load_recipe, resolve_recipe_path
from egan_core.training.build import build_parts
from egan_core.training.trainer import train


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six dark 40x52 images in one folder (no pairs)."""
    root = tmp_path_factory.mktemp("lowlight")
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray((rng.random((40, 52, 3)) * 70).astype(np.uint8)).save(root / f"{i}.png")
    return root


def _recipe(name: str, photos: Path, **extra: Any) -> dict[str, Any]:
    raw = yaml.safe_load(resolve_recipe_path(f"recipes/{name}.yaml").read_text(encoding="utf-8"))
    raw["data"].update(root=str(photos), size=32, batch_size=2, workers=0)
    raw["train"].update(log_every=1, sample_every=1, **extra)
    return raw


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run / "checkpoints" / "latest.pt")["generator"]["state_dict"]


@pytest.mark.parametrize("name", ["zero_dce", "zero_dce_pp", "sci"])
def test_two_steps_and_exact_resume(name: str, photos: Path, tmp_path: Path) -> None:
    straight, metrics = train(_recipe(name, photos, max_steps=2), out=tmp_path / "a", device="cpu",
                              quiet=True)
    assert metrics["step"] == 2
    assert (straight / "samples" / "step_0000002.png").is_file()
    train(_recipe(name, photos, max_steps=1), out=tmp_path / "b", device="cpu", quiet=True)
    resumed, _ = train(_recipe(name, photos, max_steps=1), overrides=["train.max_steps=2"],
                       out=tmp_path / "b", resume=True, device="cpu", quiet=True)
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    first = _recipe(name, photos)
    start = get_registries().generators.get(name)(**{k: v for k, v in first["model"]["generator"].items()
                                                      if k != "name"}).state_dict()
    assert any(not torch.equal(a[k], start[k]) for k in a if a[k].is_floating_point())


def test_recipe_settings_reach_the_optimizer(photos: Path) -> None:
    recipe = load_recipe(resolve_recipe_path("recipes/zero_dce.yaml"),
                         [f"data.root={photos}"])
    assert recipe.train.weight_decay == pytest.approx(1e-4)
    assert recipe.train.grad_clip == pytest.approx(0.1)
    parts = build_parts(recipe, get_registries(), torch.device("cpu"))
    group = parts.optimizers["generator"].param_groups[0]
    assert group["weight_decay"] == pytest.approx(1e-4) and group["betas"] == (0.9, 0.999)
    assert parts.discriminator is None


def test_grad_clip_clips_before_each_step(photos: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real = torch.nn.utils.clip_grad_norm_
    seen: list[tuple[float, float]] = []

    def spy(params: Any, max_norm: float, *args: Any, **kwargs: Any) -> torch.Tensor:
        params = list(params)
        total = real(params, max_norm, *args, **kwargs)
        after = torch.cat([p.grad.flatten() for p in params if p.grad is not None]).norm()
        seen.append((max_norm, float(after)))
        return total

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    train(_recipe("zero_dce_pp", photos, max_steps=2, grad_clip=1e-3), out=tmp_path, device="cpu",
          quiet=True)
    assert [m for m, _ in seen] == [1e-3, 1e-3]
    assert all(norm <= 1e-3 * 1.001 for _, norm in seen)


@pytest.mark.parametrize("key,value,match", [("train.grad_clip", "-1", "grad_clip"),
                                             ("train.grad_clip", "0", "grad_clip"),
                                             ("train.weight_decay", "-0.1", "weight_decay")])
def test_bad_settings_are_one_line_errors(key: str, value: str, match: str) -> None:
    with pytest.raises(RecipeError, match=match) as info:
        load_recipe(resolve_recipe_path("recipes/zero_dce.yaml"), [f"{key}={value}"])
    assert "\n" not in str(info.value)


def test_lowlight_dataset(photos: Path) -> None:
    ds = get_registries().datasets.get("lowlight")(root=str(photos), size=24, seed=0)
    item = ds[0]
    assert item["low"].shape == (3, 24, 24)
    assert torch.equal(item["low"], item["input"]) and torch.equal(item["low"], item["normal"])
    whole = get_registries().datasets.get("lowlight")(root=str(photos), size=None)
    assert whole[1]["input"].shape == (3, 40, 52)
    crops = get_registries().datasets.get("lowlight")(root=str(photos), size=24, resize=False, seed=0)
    crops.set_epoch(0)
    a = crops[2]["input"]
    crops.set_epoch(0)
    assert torch.equal(a, crops[2]["input"]) and a.shape == (3, 24, 24)
    with pytest.raises(Exception, match="set data.root"):
        get_registries().datasets.get("lowlight")(root=str(photos / "missing"))

"""The ``pairlie`` method: its objective against the paper's formulas written out here,
a real training run on pairs of shots, its schedule and its recipe errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from egan_core.errors import RecipeError
from egan_core.model_loading import load_generator
from egan_core.recipe import load_recipe
from egan_core.training.trainer import train
from egan_plugins.methods.pairlie import PairLIEMethod, pairlie_losses
from egan_plugins.networks.pairlie import PairLIE


def _scenes(root: Path, scenes: int = 3, size: int = 40) -> Path:
    """Sub-folders of one textured scene each, at three dark exposures."""
    for s in range(scenes):
        rng = np.random.default_rng(s)
        base = rng.random((size, size, 3)) * 0.5 + 0.5
        for i, gain in enumerate((0.1, 0.18, 0.3)):
            path = root / f"{s + 1}" / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray((base * gain * 255).astype(np.uint8)).save(path)
    return root


def _recipe(root: Path, **method: object) -> dict:
    return {"name": "pl", "seed": 1, "method": {"name": "pairlie", **method},
            "data": {"dataset": "scene_pairs", "root": str(root), "size": 32, "batch_size": 1,
                     "workers": 0},
            "model": {"generator": {"name": "pairlie", "channels": 8}},
            "train": {"epochs": 3, "decay_epochs": 0, "lr": 1e-3, "beta1": 0.9, "precision": "fp32",
                      "channels_last": False, "winograd": False, "log_every": 1, "sample_every": 0}}


def test_objective_is_the_papers() -> None:
    gen = torch.Generator().manual_seed(0)
    shot1 = torch.rand(2, 3, 12, 10, generator=gen)
    parts1 = {"illumination": torch.rand(2, 1, 12, 10, generator=gen) * 0.9 + 0.05,
              "reflectance": torch.rand(2, 3, 12, 10, generator=gen),
              "denoised": torch.rand(2, 3, 12, 10, generator=gen)}
    parts2 = {"reflectance": torch.rand(2, 3, 12, 10, generator=gen)}
    got = pairlie_losses(shot1, parts1, parts2)
    L, R, X = parts1["illumination"], parts1["reflectance"], parts1["denoised"]

    def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ((a - b) ** 2).mean()

    h, w = L.shape[-2:]
    tv = ((L[:, :, 2:, :] - L[:, :, :h - 2, :]).abs().mean()
          + (L[:, :, :, 2:] - L[:, :, :, :w - 2]).abs().mean())
    brightest = shot1.max(dim=1, keepdim=True).values
    assert torch.allclose(got["consistency"], mse(R, parts2["reflectance"]))
    assert torch.allclose(got["retinex"], mse(L * R, X) + mse(R, X / L) + mse(L, brightest) + tv)
    assert torch.allclose(got["projection"], mse(shot1, X))


def test_the_retinex_term_holds_the_illumination_fixed_in_x_over_l() -> None:
    light = torch.full((1, 1, 6, 6), 0.5, requires_grad=True)
    refl = torch.full((1, 3, 6, 6), 0.4, requires_grad=True)
    clean = torch.full((1, 3, 6, 6), 0.3)
    shot = clean.clone()
    terms = pairlie_losses(shot, {"illumination": light, "reflectance": refl, "denoised": clean},
                           {"reflectance": refl.detach()})
    terms["retinex"].backward()
    # d/dL of mse(L R, X) (mean of 108, summed over 3 channels) + mse(L, max) (mean of 36)
    # only: X / L is held fixed (its gradient, -0.48 * 3 / 108 a pixel, must not appear)
    expected = 2 * (0.5 * 0.4 - 0.3) * 0.4 * 3 / 108 + 2 * (0.5 - 0.3) / 36
    assert torch.allclose(light.grad, torch.full_like(light, expected), atol=1e-7)


def test_step_schedule() -> None:
    recipe = load_recipe(_recipe(Path(".")) | {"data": {"dataset": "synthetic"}})
    method = PairLIEMethod(lr_step_epochs=2, lr_factor=0.5)
    assert [method.learning_rate(recipe.train, e) for e in range(1, 6)] == [1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4]
    assert PairLIEMethod(lr_step_epochs=0).learning_rate(recipe.train, 9) == 1e-3


def test_trains_on_pairs_and_the_weights_serve_as_a_generator(tmp_path: Path) -> None:
    root = _scenes(tmp_path / "scenes")
    run_dir, last = train(_recipe(root, lr_step_epochs=1), out=tmp_path / "runs", quiet=True, device="cpu")
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "g_total" in r]
    assert len(steps) == 9  # 3 scenes a epoch, 3 epochs
    assert {"consistency", "retinex", "projection", "g_total"} <= set(steps[0])
    assert [r["lr"] for r in steps[::3]] == [1e-3, 5e-4, 2.5e-4]
    # the projection term (weight 500) falls fast once N learns to pass the shot through
    assert steps[-1]["projection"] < steps[0]["projection"]
    model = load_generator(run_dir / "checkpoints" / "latest.pt")
    assert isinstance(model, PairLIE) and model.gamma == 0.2
    x = torch.rand(1, 3, 20, 24)
    out, aux = model(x)
    assert torch.allclose(out, aux["illumination"] ** 0.2 * aux["reflectance"])


def test_recipe_errors_are_one_line(tmp_path: Path) -> None:
    root = _scenes(tmp_path / "scenes")
    with pytest.raises(RecipeError, match="takes no losses") as err:
        load_recipe(_recipe(root) | {"losses": {"l1": {"weight": 1.0}}})
    assert "\n" not in str(err.value)
    with pytest.raises(RecipeError, match="trains no discriminator"):
        load_recipe(_recipe(root) | {"model": {"generator": {"name": "pairlie"},
                                               "discriminator": {"name": "global_local",
                                                                 "patch_size": 16}}})
    with pytest.raises(RecipeError, match="projection must be >= 0"):
        load_recipe(_recipe(root, projection=-1.0))


def test_a_dataset_without_pairs_is_one_line_from_the_cli(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path) | {"data": {"dataset": "synthetic", "size": 32, "length": 2,
                                           "batch_size": 1, "workers": 0}}
    path = tmp_path / "r.yaml"
    path.write_text(json.dumps(recipe))
    proc = subprocess.run([sys.executable, "-m", "egan_core", "run", str(path), "--out",
                           str(tmp_path / "runs")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "data.dataset: scene_pairs" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr

"""Fine-tuning: ``model.generator.init`` starts a fresh run from trained generator weights."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from egan_core import RecipeError
from egan_core.checkpoint import load_checkpoint
from egan_core.plugins import get_registries
from egan_core.recipe import load_recipe
from egan_core.testing import make_tiny_recipe
from egan_core.training.build import build_parts
from egan_core.training.trainer import train
from egan_plugins.networks.unet import AttentionUNet


def _latest(run_dir: Path) -> dict[str, Any]:
    return load_checkpoint(run_dir / "checkpoints" / "latest.pt")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkpoint of a real one-step run of the tiny recipe (its G and D have moved)."""
    recipe = make_tiny_recipe(max_steps=1)
    recipe["name"] = "source"
    run_dir, _ = train(recipe, out=tmp_path_factory.mktemp("src"), device="cpu", quiet=True)
    return run_dir / "checkpoints" / "latest.pt"


def _finetune(tiny: dict[str, Any], init: Path) -> dict[str, Any]:
    """One iteration with accumulate=2: no optimizer step, so G's parameters stay as loaded."""
    tiny["name"] = "finetune"
    tiny["model"]["generator"]["init"] = str(init)
    tiny["train"].update(max_steps=1, accumulate=2, lr=3.0e-5, sample_every=0)
    return tiny


def _check_started_fresh(run_dir: Path, recipe: dict[str, Any], expected_g: dict[str, torch.Tensor],
                         source_d: dict[str, torch.Tensor]) -> dict[str, Any]:
    """G holds ``expected_g``'s parameters; D, optimizers, step and schedule are new."""
    state = _latest(run_dir)
    got = state["generator"]["state_dict"]
    params = dict(AttentionUNet(base_channels=4).named_parameters())
    for key in params:
        assert torch.equal(got[key], expected_g[key]), key
    fresh = build_parts(load_recipe(recipe), get_registries(), torch.device("cpu"))
    assert fresh.discriminator is not None
    fresh_d = fresh.discriminator.state_dict()
    disc = state["discriminator"]["state_dict"]
    assert disc.keys() == fresh_d.keys() == source_d.keys()
    assert all(torch.equal(disc[k], fresh_d[k]) for k in disc)
    assert not all(torch.equal(disc[k], source_d[k]) for k in disc)
    assert state["step"] == 1 and state["epoch"] == 1
    assert all(not opt["state"] for opt in state["optimizers"].values())
    first = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[0])
    assert first["step"] == 1 and first["epoch"] == 1 and first["lr"] == pytest.approx(3.0e-5)
    return got


def test_init_from_egan_checkpoint(tmp_path: Path, tiny_recipe: dict[str, Any], source: Path) -> None:
    src = load_checkpoint(source)
    recipe = _finetune(tiny_recipe, source)
    run_dir, _ = train(recipe, out=tmp_path, device="cpu", quiet=True)
    got = _check_started_fresh(run_dir, recipe, src["generator"]["state_dict"],
                               src["discriminator"]["state_dict"])
    # the BatchNorm statistics came along too: one more training forward was counted
    counters = [k for k in got if k.endswith("num_batches_tracked")]
    assert counters
    for key in counters:
        assert int(got[key]) == int(src["generator"]["state_dict"][key]) + 1, key


def test_init_from_original_state_dict(tmp_path: Path, tiny_recipe: dict[str, Any],
                                       source: Path) -> None:
    src = load_checkpoint(source)
    weights = src["generator"]["state_dict"]
    original = {f"module.{k}": v for k, v in weights.items() if not k.endswith("num_batches_tracked")}
    pth = tmp_path / "200_net_G_A.pth"
    torch.save(original, pth)
    recipe = _finetune(tiny_recipe, pth)
    run_dir, _ = train(recipe, out=tmp_path / "runs", device="cpu", quiet=True)
    _check_started_fresh(run_dir, recipe, weights, src["discriminator"]["state_dict"])


def test_init_default_is_the_shipped_model(tmp_path: Path, tiny_recipe: dict[str, Any],
                                           source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import save_file

    import egan_plugins.enhancers.gan as gan

    src = load_checkpoint(source)
    weights = {k: v.contiguous() for k, v in src["generator"]["state_dict"].items()}
    shipped = tmp_path / "weights" / "default.safetensors"
    monkeypatch.setattr(gan, "DEFAULT_WEIGHTS", shipped)
    recipe = _finetune(tiny_recipe, Path("default"))
    with pytest.raises(RecipeError, match=r"^model.generator.init: 'default' .*not have yet"):
        train(copy.deepcopy(recipe), out=tmp_path / "none", device="cpu", quiet=True)
    shipped.parent.mkdir()
    save_file(weights, str(shipped), metadata={"name": "attention_unet",
                                               "kwargs": json.dumps({"base_channels": 4})})
    run_dir, _ = train(recipe, out=tmp_path / "runs", device="cpu", quiet=True)
    _check_started_fresh(run_dir, recipe, weights, src["discriminator"]["state_dict"])


def _wide_original(tmp_path: Path) -> Path:
    """An original-format file of a width-8 generator (the tiny recipe is width 4)."""
    path = tmp_path / "wide_net_G_A.pth"
    torch.save({f"module.{k}": v for k, v in AttentionUNet(base_channels=8).state_dict().items()
                if not k.endswith("num_batches_tracked")}, path)
    return path


def test_missing_and_mismatched_init_are_one_line_errors(
    tmp_path: Path, tiny_recipe: dict[str, Any], source: Path
) -> None:
    wide = copy.deepcopy(tiny_recipe)
    wide["model"]["generator"]["base_channels"] = 8
    for init, recipe, needle in (
        (tmp_path / "nope.pth", tiny_recipe, "does not exist"),
        (_wide_original(tmp_path), tiny_recipe, "do not fit"),
        (source, wide, "do not fit"),  # a width-4 egan checkpoint into a width-8 recipe
    ):
        recipe = copy.deepcopy(recipe)
        recipe["model"]["generator"]["init"] = str(init)
        recipe["train"]["max_steps"] = 1
        with pytest.raises(RecipeError) as err:
            train(recipe, out=tmp_path / "runs", device="cpu", quiet=True)
        message = str(err.value)
        assert message.startswith("model.generator.init: ") and "\n" not in message
        assert needle in message and init.name in message
        assert not (tmp_path / "runs" / "tiny").exists()  # failed before writing anything


@pytest.mark.parametrize("case", ["missing", "mismatched"])
def test_egan_run_reports_bad_init_in_one_line(tmp_path: Path, tiny_recipe: dict[str, Any],
                                               case: str) -> None:
    init = tmp_path / "nope.pth" if case == "missing" else _wide_original(tmp_path)
    tiny_recipe["model"]["generator"]["init"] = str(init)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_recipe))
    # vgg.weights: none warns on stderr (random VGG, tests only); the error must be one line
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore::UserWarning"}
    proc = subprocess.run(
        [sys.executable, "-m", "egan_core", "run", str(path), "--set", "train.max_steps=1",
         "--out", str(tmp_path / "runs"), "--device", "cpu", "-q"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    # an unreadable file is a failed input (1); weights that do not fit the recipe's
    # generator are the recipe's to fix (2)
    assert proc.returncode == (1 if case == "missing" else 2), proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "model.generator.init" in lines[0] and "Traceback" not in proc.stderr

"""End-to-end training on real (tiny) tensors: outputs, exact resume, accumulation, NaN."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from egan_core import EganError, TrainingError, hookimpl
from egan_core.checkpoint import load_checkpoint
from egan_core.plugins import PluginManager
from egan_core.training.trainer import train


def _states(run_dir: Path) -> dict[str, Any]:
    return load_checkpoint(run_dir / "checkpoints" / "latest.pt")


def _assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_run_writes_every_output(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    tiny_recipe["train"]["max_steps"] = 2
    run_dir, metrics = train(tiny_recipe, out=tmp_path, device="cpu", quiet=True)
    assert run_dir == tmp_path / "tiny"
    for rel in ("checkpoints/latest.pt", "recipe.yaml", "metrics.jsonl", "loss_curve.png",
                "samples/step_0000002.png"):
        assert (run_dir / rel).is_file(), rel
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    for key in ("g_global", "g_local", "relu5_1", "d_global", "d_local", "g_total", "lr",
                "images_per_s"):
        assert key in records[-1], key
    assert metrics["step"] == 2
    state = _states(run_dir)
    assert state["step"] == 2 and state["generator"]["name"] == "attention_unet"


def test_resume_is_exact(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    # 4 steps per epoch: stopping at 3 and resuming crosses an epoch boundary at 4.
    tiny_recipe["train"]["max_steps"] = 6
    straight, _ = train(tiny_recipe, out=tmp_path / "a", device="cpu", quiet=True)
    tiny_recipe["train"]["max_steps"] = 3
    train(tiny_recipe, out=tmp_path / "b", device="cpu", quiet=True)
    resumed, _ = train(tiny_recipe, overrides=["train.max_steps=6"], out=tmp_path / "b",
                       resume=True, device="cpu", quiet=True)
    a, b = _states(straight), _states(resumed)
    assert a["step"] == b["step"] == 6
    _assert_same_weights(a["generator"]["state_dict"], b["generator"]["state_dict"])
    _assert_same_weights(a["discriminator"]["state_dict"], b["discriminator"]["state_dict"])
    log = [json.loads(x)["step"] for x in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert log == [1, 2, 3, 4, 5, 6]


def test_accumulation_steps_the_optimizer_every_k(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    tiny_recipe["train"].update(max_steps=1, accumulate=2)
    one, _ = train(tiny_recipe, out=tmp_path / "one", device="cpu", quiet=True)
    tiny_recipe["train"].update(max_steps=1, accumulate=1)
    plain, _ = train(tiny_recipe, out=tmp_path / "plain", device="cpu", quiet=True)
    start = _states(one)
    moved = _states(plain)
    conv = "conv1_1.weight"
    # with accumulate 2, one iteration leaves the weights as initialised (grads pending)
    assert not torch.equal(start["generator"]["state_dict"][conv], moved["generator"]["state_dict"][conv])
    assert conv in start["grads"]["generator"]
    tiny_recipe["train"].update(max_steps=0 + 2, accumulate=2)
    two, _ = train(tiny_recipe, out=tmp_path / "two", device="cpu", quiet=True)
    assert not torch.equal(_states(two)["generator"]["state_dict"][conv],
                           start["generator"]["state_dict"][conv])


def test_refuses_to_overwrite_a_run(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    tiny_recipe["train"]["max_steps"] = 1
    train(tiny_recipe, out=tmp_path, device="cpu", quiet=True)
    with pytest.raises(EganError, match="--resume"):
        train(tiny_recipe, out=tmp_path, device="cpu", quiet=True)


def test_resume_without_checkpoint(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    with pytest.raises(EganError, match="no checkpoint"):
        train(tiny_recipe, out=tmp_path, resume=True, device="cpu", quiet=True)


class _NanAfter(torch.nn.Module):
    """A loss that turns NaN from a given call on (a stand-in for a diverging run)."""

    def __init__(self, after: int = 5) -> None:
        super().__init__()
        self.after, self.calls = after, 0

    def forward(self, ctx: Any) -> torch.Tensor:
        self.calls += 1
        value = (ctx.enhanced - ctx.low).abs().mean()
        return value * float("nan") if self.calls >= self.after else value


class _NanPlugin:
    @hookimpl
    def egan_register(self, registries: Any) -> None:
        registries.losses.register("nan_after", _NanAfter)


def test_nan_stops_with_step_and_keeps_last_good(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    registries = PluginManager(extra=[("nan-test", _NanPlugin())]).registries
    tiny_recipe["losses"]["nan_after"] = {"weight": 1.0, "after": 5}
    with pytest.raises(TrainingError, match="'nan_after' became nan at step 5") as err:
        train(tiny_recipe, out=tmp_path, device="cpu", quiet=True, registries=registries)
    latest = tmp_path / "tiny" / "checkpoints" / "latest.pt"
    assert f"the checkpoint '{latest}' of step 4 is kept" in str(err.value)
    assert "--resume" in str(err.value)
    state = _states(tmp_path / "tiny")
    assert state["step"] == 4  # the end-of-epoch checkpoint, before the bad step
    weights = state["generator"]["state_dict"]
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())


def test_supervised_mode_without_discriminator(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    tiny_recipe["model"]["discriminator"] = None
    tiny_recipe["losses"] = {"relu5_1": {"weight": 1.0}}
    tiny_recipe["train"]["max_steps"] = 2
    run_dir, metrics = train(tiny_recipe, out=tmp_path, device="cpu", quiet=True)
    assert "d_global" not in metrics and "relu5_1" in metrics
    assert _states(run_dir)["discriminator"] is None


def test_bf16_precision_trains(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    tiny_recipe["train"].update(max_steps=2, precision="bf16", channels_last=True)
    _, metrics = train(tiny_recipe, out=tmp_path, device="cpu", quiet=True)
    assert all(torch.isfinite(torch.tensor(v)) for k, v in metrics.items() if k.startswith(("g_", "d_")))


def _pairs(root: Path, n: int) -> None:
    from PIL import Image

    gen = torch.Generator().manual_seed(0)
    for i in range(n):
        img = (torch.rand(40, 52, 3, generator=gen) * 255).to(torch.uint8).numpy()
        for sub, scale in (("low", 0.3), ("high", 1.0)):
            (root / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray((img * scale).astype("uint8")).save(root / sub / f"p{i}.png")


def test_validation_logs_psnr_on_holdout(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    _pairs(tmp_path / "pairs", 5)
    common = {"root": str(tmp_path / "pairs"), "size": 32, "holdout": ["p3", "p4"]}
    tiny_recipe["data"] = {"dataset": "paired", "batch_size": 1, "workers": 0, **common}
    tiny_recipe["model"]["discriminator"] = None
    tiny_recipe["losses"] = {"l1": {"weight": 1.0}}
    tiny_recipe["validation"] = {"dataset": "paired", "every": 2, "split": "holdout",
                                 "flip": False, **common}
    tiny_recipe["train"]["max_steps"] = 3
    run_dir, metrics = train(tiny_recipe, out=tmp_path, device="cpu", quiet=True)
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    with_val = [r["step"] for r in records if "val_psnr" in r]
    assert with_val == [2, 3]
    assert 0 < metrics["val_psnr"] < 100


def test_nan_before_any_checkpoint_says_none_was_written(tmp_path: Path,
                                                         tiny_recipe: dict[str, Any]) -> None:
    registries = PluginManager(extra=[("nan-test", _NanPlugin())]).registries
    tiny_recipe["losses"]["nan_after"] = {"weight": 1.0, "after": 2}
    with pytest.raises(TrainingError, match="at step 2; training stopped, and no checkpoint was"
                                            " written yet"):
        train(tiny_recipe, out=tmp_path, device="cpu", quiet=True, registries=registries)
    assert not (tmp_path / "tiny" / "checkpoints" / "latest.pt").exists()


def test_a_misconfigured_loss_is_not_told_to_resume(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    """Only a diverging loss gets resume advice: a loss the generator cannot feed (Zero-DCE's
    curve smoothness on attention_unet) keeps its own message, since resuming cannot help."""
    tiny_recipe["losses"]["illumination_smoothness"] = {"weight": 1.0}
    with pytest.raises(TrainingError, match="needs the generator's 'curves'") as err:
        train(tiny_recipe, out=tmp_path, device="cpu", quiet=True)
    assert "--resume" not in str(err.value)

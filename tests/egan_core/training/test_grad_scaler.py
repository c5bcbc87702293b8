"""Loss scaling with gradient accumulation: the scaler updates once per window, after its steps.

fp16 training scales losses only on CUDA; these tests put torch's CPU ``GradScaler`` behind
the trainer's ``make_grad_scaler`` seam (fp32 compute), so the same step/update bookkeeping
runs, for real, on tiny tensors on the CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from egan_core.checkpoint import load_checkpoint
from egan_core.training import trainer
from egan_core.training.trainer import train


def use_cpu_scaler(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on every run gets a CPU GradScaler, whatever its precision."""
    monkeypatch.setattr(trainer, "make_grad_scaler", lambda precision, device: torch.amp.GradScaler("cpu"))


def _state(run_dir: Path) -> dict[str, Any]:
    return load_checkpoint(run_dir / "checkpoints" / "latest.pt")


def _weights(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {**{f"g.{k}": v for k, v in state["generator"]["state_dict"].items()},
            **{f"d.{k}": v for k, v in state["discriminator"]["state_dict"].items()}}


@pytest.mark.parametrize(("accumulate", "steps"), [(2, 4), (3, 4)])
def test_accumulation_with_a_scaler_trains(tmp_path: Path, tiny_recipe: dict[str, Any],
                                           monkeypatch: pytest.MonkeyPatch, accumulate: int,
                                           steps: int) -> None:
    tiny_recipe["train"].update(max_steps=steps, accumulate=accumulate, sample_every=0)
    plain, _ = train(tiny_recipe, out=tmp_path / "plain", device="cpu", quiet=True)
    use_cpu_scaler(monkeypatch)
    # the first window still open: the weights as built, the scaled gradients pending
    opened, _ = train(tiny_recipe, overrides=[f"train.max_steps={accumulate - 1}"],
                      out=tmp_path / "open", device="cpu", quiet=True)
    run_dir, metrics = train(tiny_recipe, out=tmp_path / "run", device="cpu", quiet=True)
    state = _state(run_dir)
    assert metrics["step"] == steps
    # one update per closed window, none skipped (finite fp32 gradients)
    assert state["scaler"]["_growth_tracker"] == steps // accumulate
    assert state["scaler"]["scale"] == 65536.0
    start, scaled, unscaled = _weights(_state(opened)), _weights(state), _weights(_state(plain))
    assert any(not torch.equal(scaled[k], v) for k, v in start.items())
    # scaling by a power of two and unscaling before the step changes nothing
    for key, value in unscaled.items():
        torch.testing.assert_close(scaled[key], value, rtol=1e-5, atol=1e-6, msg=key)


def test_resume_inside_a_window_matches_a_straight_run(tmp_path: Path, tiny_recipe: dict[str, Any],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    use_cpu_scaler(monkeypatch)
    tiny_recipe["train"].update(accumulate=3, max_steps=5, sample_every=0)
    straight, _ = train(tiny_recipe, out=tmp_path / "a", device="cpu", quiet=True)
    # stop after step 2: the window 1..3 is open, its scaled gradients pending in the checkpoint
    train(tiny_recipe, overrides=["train.max_steps=2"], out=tmp_path / "b", device="cpu", quiet=True)
    assert _state(tmp_path / "b" / "tiny")["grads"]["generator"]
    resumed, _ = train(tiny_recipe, out=tmp_path / "b", resume=True, device="cpu", quiet=True)
    a, b = _state(straight), _state(resumed)
    assert a["step"] == b["step"] == 5
    assert a["scaler"] == b["scaler"]
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key

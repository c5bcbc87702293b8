"""Generators from egan checkpoints, original state dicts and safetensors files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from egan_core.checkpoint import save_checkpoint
from egan_core.errors import CheckpointError, EganError
from egan_core.model_loading import load_generator, recipe_checkpoint


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    keys = [k for k in sa if not k.endswith("num_batches_tracked")]
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in keys)


def test_egan_checkpoint(small_checkpoint: Path, small_model) -> None:
    model = load_generator(small_checkpoint)
    assert not model.training and _same(model, small_model())


def test_original_state_dict_with_module_prefix(tmp_path: Path, small_model) -> None:
    sd = {f"module.{k}": v for k, v in small_model().state_dict().items()
          if not k.endswith("num_batches_tracked")}
    torch.save(sd, tmp_path / "200_net_G_A.pth")
    assert _same(load_generator(tmp_path / "200_net_G_A.pth"), small_model())


def test_safetensors_with_and_without_metadata(tmp_path: Path, small_model) -> None:
    sd = {k: v.contiguous() for k, v in small_model().state_dict().items()}
    save_file(sd, str(tmp_path / "meta.safetensors"),
              metadata={"name": "attention_unet", "kwargs": json.dumps({"base_channels": 8})})
    assert _same(load_generator(tmp_path / "meta.safetensors"), small_model())
    save_file(sd, str(tmp_path / "bare.safetensors"))  # width read from the weights
    assert _same(load_generator(tmp_path / "bare.safetensors"), small_model())


def test_foreign_weights_are_refused(tmp_path: Path) -> None:
    torch.save({"conv.weight": torch.zeros(3, 3, 1, 1)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="not a checkpoint of any registered generator"):
        load_generator(tmp_path / "other.pth")
    save_checkpoint(tmp_path / "nogen.pt", {"generator": None})
    with pytest.raises(CheckpointError, match="no generator"):
        load_generator(tmp_path / "nogen.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError):
        load_generator(tmp_path / "junk.pt")


def test_recipe_checkpoint(tmp_path: Path) -> None:
    recipe = tmp_path / "my.yaml"
    recipe.write_text("name: night\nseed: 1\n")
    with pytest.raises(CheckpointError, match="no checkpoint for recipe 'night'"):
        recipe_checkpoint(recipe, tmp_path / "runs")
    latest = tmp_path / "runs" / "night" / "checkpoints" / "latest.pt"
    latest.parent.mkdir(parents=True)
    latest.write_bytes(b"x")
    assert recipe_checkpoint(recipe, tmp_path / "runs") == latest
    assert recipe_checkpoint("night", tmp_path / "runs") == latest  # a run name works too
    with pytest.raises(EganError):
        recipe_checkpoint("nowhere", tmp_path / "runs")

"""One ``resolve_device`` for training and enhancement: a bad name is one line, not torch's error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import egan_core
from egan_core.devices import resolve_device
from egan_core.errors import UsageError
from egan_core.testing import make_tiny_recipe


def _one_line_naming(err: pytest.ExceptionInfo[UsageError], value: str) -> None:
    message = str(err.value)
    assert "\n" not in message
    assert f"'{value}'" in message
    for valid in ("auto", "cpu", "cuda", "cuda:N"):
        assert valid in message


def test_train_refuses_an_unknown_device(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as err:
        egan_core.train(make_tiny_recipe(max_steps=1), out=tmp_path, device="gpu", quiet=True)
    _one_line_naming(err, "gpu")
    assert not (tmp_path / "tiny").exists()


def test_load_enhancer_refuses_an_unknown_device() -> None:
    with pytest.raises(UsageError) as err:
        egan_core.load_enhancer(device="gpu")
    _one_line_naming(err, "gpu")


@pytest.mark.parametrize("bad", ["gpu", "meta", "cpu:1", "cuda:x", ""])
def test_unknown_names(bad: str) -> None:
    with pytest.raises(UsageError) as err:
        resolve_device(bad)
    _one_line_naming(err, bad)


def test_valid_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    for cuda in ("cuda", "cuda:0"):
        with pytest.raises(UsageError, match=f"device '{cuda}': CUDA is not available"):
            resolve_device(cuda)


def test_train_without_cuda_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    recipe: dict[str, Any] = make_tiny_recipe(max_steps=1)
    with pytest.raises(UsageError, match="CUDA is not available"):
        egan_core.train(recipe, out=tmp_path, device="cuda", quiet=True)


def test_a_gpu_index_past_the_last(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(UsageError, match="'cuda:3': this machine has 1 CUDA device"):
        resolve_device("cuda:3")

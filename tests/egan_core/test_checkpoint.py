"""Checkpoint I/O: atomic writes, weights-only loads, corrupt and hostile files."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
import torch

from egan_core import CheckpointError
from egan_core.checkpoint import (
    describe_mismatch,
    load_checkpoint,
    load_file,
    save_checkpoint,
    save_safetensors,
)
from egan_core.fileio import atomic_write


class RunsCode:
    """Pickles as a call to ``os.system``: what a hostile checkpoint carries."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


class PlainObject:
    def __init__(self) -> None:
        self.weights = torch.ones(2)


def _payload() -> dict[str, Any]:
    return {"generator": {"name": "g", "kwargs": {"width": 8},
                          "state_dict": {"w": torch.arange(6.0).reshape(2, 3)}},
            "epoch": 3, "step": 12, "rng": [1, 2, 3]}


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "sub" / "latest.pth", _payload())
    data = load_checkpoint(path)
    assert data["format"] == "egan" and data["version"] == 1 and data["epoch"] == 3
    assert torch.equal(data["generator"]["state_dict"]["w"], torch.arange(6.0).reshape(2, 3))
    assert [p.name for p in path.parent.iterdir()] == ["latest.pth"]  # no temp file left
    # not private to the writer like a mkstemp file (0600): readable as a plain open() would be
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_interrupted_write_keeps_the_previous_file(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "latest.pth", _payload())
    before = path.read_bytes()

    def half_then_crash(tmp: str) -> None:
        Path(tmp).write_bytes(before[: len(before) // 2])
        raise KeyboardInterrupt  # the user pressed Ctrl-C mid-save

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half_then_crash)
    assert path.read_bytes() == before
    assert load_checkpoint(path)["step"] == 12
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pth"]


def test_unpicklable_payload_keeps_the_previous_file(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "latest.pth", _payload())
    with pytest.raises(Exception):  # noqa: B017 - whatever pickle raises for a lambda
        save_checkpoint(path, {"step": 13, "fn": lambda: None})
    assert load_checkpoint(path)["step"] == 12


def test_unwritable_folder_is_a_checkpoint_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CheckpointError, match="cannot write"):
        save_checkpoint(blocker / "latest.pth", _payload())


@pytest.mark.parametrize("legacy", [False, True])
def test_pickled_code_is_refused_and_never_runs(tmp_path: Path, legacy: bool) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.ones(1)}, "x": RunsCode(marker)}, path,
               _use_new_zipfile_serialization=not legacy)
    with pytest.raises(CheckpointError) as err:
        load_file(path)
    assert not marker.exists()
    message = str(err.value)
    assert "was refused" in message and "'posix.system'" in message
    assert "\n" not in message and "weights_only=False" not in message
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()


def test_pickled_class_instance_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "object.pth"
    torch.save({"model": PlainObject()}, path)
    with pytest.raises(CheckpointError, match=r"was refused: loading it would import '.*PlainObject'"):
        load_file(path)


@pytest.mark.parametrize("cut", [0, 10, 0.5])
def test_truncated_file(tmp_path: Path, cut: float) -> None:
    path = save_checkpoint(tmp_path / "latest.pth", _payload())
    data = path.read_bytes()
    path.write_bytes(data[: int(cut * len(data)) if cut < 1 else int(cut)])
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert "truncated or corrupt" in str(err.value) and "\n" not in str(err.value)


def test_not_a_checkpoint_at_all(tmp_path: Path) -> None:
    path = tmp_path / "recipe.pth"
    path.write_text("name: not a checkpoint\n")
    with pytest.raises(CheckpointError, match="is not a weights-only PyTorch file"):
        load_file(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist; check the path"):
        load_file(tmp_path / "nope.pth")
    with pytest.raises(CheckpointError, match="is not a file"):
        load_file(tmp_path)


def test_foreign_and_future_files_are_not_egan_checkpoints(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pth"
    torch.save({"w": torch.ones(2)}, plain)
    assert torch.equal(load_file(plain)["w"], torch.ones(2))  # a weights file loads ...
    with pytest.raises(CheckpointError, match="is not an egan checkpoint"):
        load_checkpoint(plain)  # ... but is not an egan checkpoint
    future = tmp_path / "future.pth"
    torch.save({"format": "egan", "version": 99}, future)
    with pytest.raises(CheckpointError, match="format version 99.*upgrade egan"):
        load_checkpoint(future)


def test_safetensors_round_trip(tmp_path: Path) -> None:
    tensors = {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.zeros(4),
               "step": torch.tensor(7)}
    path = save_safetensors(tmp_path / "model.safetensors", tensors)
    loaded = load_file(path)
    assert set(loaded) == set(tensors)
    for key, value in tensors.items():
        assert torch.equal(loaded[key], value) and loaded[key].dtype == value.dtype


def test_corrupt_safetensors(tmp_path: Path) -> None:
    path = save_safetensors(tmp_path / "model.safetensors", {"w": torch.ones(8)})
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CheckpointError, match="is not a readable safetensors file"):
        load_file(path)


def test_describe_mismatch_names_keys_and_shapes_in_one_line() -> None:
    expected = {f"w{i}": torch.zeros(2, 3) for i in range(6)}
    assert describe_mismatch(expected, dict(expected)) == ""
    found = {k: v for k, v in expected.items() if k not in ("w0", "w1", "w2", "w3")}
    found.update({"extra": torch.zeros(1), "w4": torch.zeros(3, 2), "w5": torch.zeros(2)})
    assert describe_mismatch(expected, found) == (
        "missing keys w0, w1, w2 (+1 more); unexpected keys extra; "
        "wrong shapes w4 [3, 2] (expected [2, 3]), w5 [2] (expected [2, 3])")

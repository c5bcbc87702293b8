"""Checkpoints from strangers: never run their code, never crash on their bytes.

A checkpoint is a pickle; a pickle can name any callable (``os.system``, ``eval``) and
have it called on load. egan loads with ``torch.load(weights_only=True)`` and must turn
every refusal and every kind of garbage into one line (exit 1), through both doors a
checkpoint comes in by: ``egan enhance --checkpoint`` and ``model.generator.init``.
"""

from __future__ import annotations

import io
import os
import pickle
import random
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from egan_core.checkpoint import load_checkpoint, load_file, save_checkpoint, save_safetensors
from egan_core.cli.main import cli
from egan_core.errors import CheckpointError, EganError, UnknownNameError
from egan_core.model_loading import load_generator
from egan_core.plugins import get_registries
from egan_core.recipe import load_recipe
from egan_core.testing import mutate_bytes
from egan_core.training.build import build_parts
from egan_core.training.trainer import train
from egan_plugins.networks import AttentionUNet


class RunsCode:
    """Pickles as "call ``fn(arg)``": what a malicious checkpoint carries."""

    def __init__(self, fn: Any, arg: str) -> None:
        self.fn, self.arg = fn, arg

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (self.fn, (self.arg,))


def _touch_with_system(marker: Path) -> RunsCode:
    return RunsCode(os.system, f"touch '{marker}'")


def _touch_with_eval(marker: Path) -> RunsCode:
    return RunsCode(eval, f"open({str(marker)!r}, 'w').close()")


def _egan_checkpoint_carrying(payload: Any) -> dict[str, Any]:
    return {"format": "egan", "version": 1,
            "generator": {"name": "attention_unet", "kwargs": {"base_channels": 4},
                          "state_dict": {"conv1_1.weight": payload}}}


def _image(folder: Path) -> Path:
    path = folder / "photo.png"
    Image.new("RGB", (20, 12), (30, 20, 10)).save(path)
    return path


# ---- pickled code is refused, through the CLI -------------------------------------------


def test_enhance_refuses_a_checkpoint_carrying_code(tmp_path: Path, egan: Any) -> None:
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.pt"
    torch.save(_egan_checkpoint_carrying(_touch_with_system(marker)), evil)
    done = egan("enhance", _image(tmp_path), "--out", tmp_path / "out", "--checkpoint", evil)
    line = done.one_error()
    assert "evil.pt" in line and "refused" in line and "system" in line
    assert not marker.exists()
    assert not (tmp_path / "out" / "photo.png").exists()


def test_run_refuses_an_init_checkpoint_carrying_code(tmp_path: Path, egan: Any,
                                                       tiny_recipe: dict[str, Any]) -> None:
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil_net_G_A.pth"
    torch.save({"conv1_1.weight": _touch_with_eval(marker)}, evil)
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe))
    done = egan("run", recipe, "--set", f"model.generator.init={evil}", "--out", tmp_path / "runs",
                "--device", "cpu", "-q")
    line = done.one_error()
    assert "model.generator.init" in line and "evil_net_G_A.pth" in line and "refused" in line
    assert not marker.exists()
    assert not (tmp_path / "runs" / "tiny" / "checkpoints").exists()


# ---- pickled code is refused, every way it can be packed --------------------------------


def _packings(marker: Path) -> dict[str, bytes]:
    """The same payloads as torch.save (zip and legacy) and as bare pickles (protocol 0-5)."""
    out = {}
    for name, payload in (("system", _touch_with_system(marker)), ("eval", _touch_with_eval(marker))):
        buf = io.BytesIO()
        torch.save(_egan_checkpoint_carrying(payload), buf)
        out[f"zip-{name}"] = buf.getvalue()
        buf = io.BytesIO()
        torch.save({"w": payload}, buf, _use_new_zipfile_serialization=False)
        out[f"legacy-{name}"] = buf.getvalue()
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            out[f"pickle{protocol}-{name}"] = pickle.dumps({"w": payload}, protocol=protocol)
    return out


def test_the_payloads_are_live(tmp_path: Path) -> None:
    """Control: loaded the unsafe way, each packing really runs its code."""
    marker = tmp_path / "PWNED"
    for name, data in _packings(marker).items():
        if name.startswith("pickle"):
            pickle.loads(data)
        else:
            torch.load(io.BytesIO(data), weights_only=False)
        assert marker.exists(), name
        marker.unlink()


def test_no_packing_of_pickled_code_runs(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    for name, data in _packings(marker).items():
        path = tmp_path / f"{name}.pth"
        path.write_bytes(data)
        with pytest.raises(CheckpointError) as err:
            load_file(path)
        message = str(err.value)
        assert "\n" not in message and path.name in message, name
        with pytest.raises(CheckpointError):
            load_generator(path)
        assert not marker.exists(), name


# ---- damaged files: one line, exit 1, through the CLI ------------------------------------


def _damaged(folder: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    rng = random.Random(0)
    files = {
        "truncated.pt": data[: len(data) // 2],
        "zero_bytes.pt": b"",
        "junk.pt": b"junk",  # torch's reader let struct.error escape on these 4 bytes
        "random.pt": bytes(rng.randrange(256) for _ in range(4096)),
        "garbage.safetensors": b"this is not a safetensors file at all",
    }
    out = {}
    for name, content in files.items():
        out[name] = folder / name
        out[name].write_bytes(content)
    tensors = folder / "truncated.safetensors"
    save_safetensors(tensors, {"conv1_1.weight": torch.zeros(64, 4, 3, 3)})
    tensors.write_bytes(tensors.read_bytes()[:200])
    out["truncated.safetensors"] = tensors
    return out


def test_damaged_checkpoints_fail_with_one_line(tmp_path: Path, egan: Any,
                                                tiny_checkpoint: Path) -> None:
    image = _image(tmp_path)
    files = _damaged(tmp_path, tiny_checkpoint)
    # as users run it, for the file that once crashed egan with a traceback ...
    done = egan("enhance", image, "--out", tmp_path / "out", "--checkpoint", files["junk.pt"])
    assert "junk.pt" in done.one_error() and "corrupt" in done.one_error()
    # ... and the same CLI in process for every kind of damage (much faster)
    for name, path in files.items():
        result = CliRunner().invoke(cli, ["enhance", str(image), "--out", str(tmp_path / "out"),
                                          "--checkpoint", str(path)], prog_name="egan")
        assert result.exit_code == 1, (name, result.output)
        assert isinstance(result.exception, SystemExit), (name, result.exception)
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("error: ") and name in line, line
        assert any(word in line for word in ("corrupt", "truncated", "not a readable")), line
    assert not (tmp_path / "out" / "photo.png").exists()


@pytest.mark.parametrize("content", [b"junk", b"", b"PK\x03\x04", b"\x80\x02", b"\x80\x02}q\x00(X"])
def test_load_file_turns_any_garbage_into_checkpoint_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="bad.pt"):
        load_file(path)


@pytest.fixture(scope="module")
def good_checkpoint_bytes(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("seed_ckpts")
    zipped = folder / "zip.pt"
    save_checkpoint(zipped, {"generator": {"name": "attention_unet", "kwargs": {},
                                           "state_dict": {"w": torch.ones(4, 3), "b": torch.zeros(2)}},
                             "step": 3})
    legacy = io.BytesIO()
    torch.save({"w": torch.ones(2, 2)}, legacy, _use_new_zipfile_serialization=False)
    return [zipped.read_bytes(), legacy.getvalue()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
@example(data=None)  # the bytes b"junk" once let struct.error escape
def test_mutated_checkpoints_only_raise_checkpoint_error(
    tmp_path: Path, good_checkpoint_bytes: list[bytes], data: Any
) -> None:
    if data is None:
        blob = b"junk"
    else:
        blob = mutate_bytes(data.draw(st.sampled_from(good_checkpoint_bytes)), data, edits=4,
                      max_cut=32, max_insert=8)
    path = tmp_path / "fuzzed.pt"
    path.write_bytes(blob)
    try:
        load_file(path)
    except CheckpointError as exc:
        assert "\n" not in str(exc)


# ---- well-formed checkpoints with hostile contents ----------------------------------------


@pytest.mark.parametrize("generator", [
    {"name": "attention_unet", "kwargs": {"base_channels": 0}},  # torch: IndexError
    {"name": "attention_unet", "kwargs": {"base_channels": -1}},  # torch: RuntimeError
    {"name": "attention_unet", "kwargs": {"base_channels": 4.5}},  # torch: ValueError
    {"name": "attention_unet", "kwargs": {"base_channels": "x"}},
    {"name": "attention_unet", "kwargs": {"align_corners": "yes"}},
    {"name": "attention_unet", "kwargs": {"surprise": 1}},
    {"name": "attention_unet", "kwargs": [1, 2]},
    {"name": "attention_unet", "kwargs": {"base_channels": 4}, "state_dict": [1, 2]},
    {"name": "attention_unet", "kwargs": {"base_channels": 4}, "state_dict": {"x": "y"}},
    "attention_unet",
])
def test_hostile_generator_specs_are_checkpoint_errors(tmp_path: Path, generator: Any) -> None:
    if isinstance(generator, dict):
        generator.setdefault("state_dict", {})
    path = tmp_path / "hostile.pt"
    save_checkpoint(path, {"generator": generator})
    with pytest.raises(CheckpointError) as err:
        load_generator(path)
    assert "\n" not in str(err.value) and "hostile.pt" in str(err.value)


@pytest.mark.parametrize("width", [600, 100_000])  # 12 GB / 84 TB of parameters if built
def test_a_small_file_asking_for_a_huge_generator_is_refused_before_building(
        tmp_path: Path, width: int) -> None:
    weights = AttentionUNet(base_channels=4).state_dict()
    path = tmp_path / "hostile.pt"
    save_checkpoint(path, {"generator": {"name": "attention_unet",
                                         "kwargs": {"base_channels": width},
                                         "state_dict": weights}})
    with pytest.raises(CheckpointError) as err:
        load_generator(path)
    assert f"wrong shapes conv1_1.weight [4, 4, 3, 3] (expected [{width}, 4, 3, 3])" in str(err.value)


def test_an_unknown_generator_name_is_named(tmp_path: Path) -> None:
    path = tmp_path / "hostile.pt"
    save_checkpoint(path, {"generator": {"name": ["attention_unet"], "kwargs": {}, "state_dict": {}}})
    with pytest.raises(UnknownNameError, match="unknown generator"):
        load_generator(path)


@pytest.mark.parametrize("tamper", [
    {"rng": {"torch": "not a tensor", "python": 3}},
    {"rng": {"torch": torch.zeros(3), "python": [1, 2]}},
    {"epoch": "one"},
    {"step": -5},
    {"optimizers": {"generator": {"state": 3}}},
])
def test_resume_from_a_tampered_checkpoint_is_one_error(tmp_path: Path, tiny_recipe: dict[str, Any],
                                                        tamper: dict[str, Any]) -> None:
    recipe = load_recipe(tiny_recipe)
    parts = build_parts(recipe, get_registries(), torch.device("cpu"))
    assert parts.discriminator is not None
    state = {"generator": {"state_dict": parts.generator.state_dict()},
             "discriminator": {"state_dict": parts.discriminator.state_dict()},
             "optimizers": {k: o.state_dict() for k, o in parts.optimizers.items()},
             "rng": {"torch": torch.get_rng_state(), "python": list(random.getstate())},
             "epoch": 1, "batch": 0, "step": 0, **tamper}
    latest = tmp_path / "runs" / "tiny" / "checkpoints" / "latest.pt"
    save_checkpoint(latest, state)
    with pytest.raises(EganError) as err:
        train(recipe, out=tmp_path / "runs", resume=True, device="cpu", quiet=True)
    assert str(err.value).startswith("--resume: ") and "latest.pt" in str(err.value)
    assert "\n" not in str(err.value)
    assert load_checkpoint(latest).keys() == {"format", "version", *state}  # left as it was

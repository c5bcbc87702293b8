"""What real machines do to a training run, done for real to ``egan run`` subprocesses.

- SIGTERM (a scheduler, ``docker stop``) finishes the step, saves it and exits 143; the
  resumed run ends with the weights of a run never stopped; sent to the whole process
  group, loader workers included, it is the same clean stop;
- SIGKILL mid-epoch, after a time-based checkpoint (``train.checkpoint_minutes``), loses only
  the steps since that checkpoint, and the resumed run again equals the uninterrupted one;
- two gloo processes: SIGTERM to one rank stops both at the same step, one checkpoint;
- unreadable training images are skipped, named once and counted, up to
  ``data.max_bad_images``; a folder with nothing readable fails before training.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from egan_core.checkpoint import load_checkpoint
from egan_core.training.outputs import MetricsLog

#: Steps of the uninterrupted reference run; the interrupted runs resume up to it.
TARGET = 24
#: The long recipe's batches per epoch: every interruption here falls inside epoch 1.
PER_EPOCH = 200


def egan_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def egan_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "egan_core", *args]


def _long_recipe(tiny: dict[str, Any], **train: Any) -> dict[str, Any]:
    """The tiny recipe with a 200-step epoch, fixed numerics (no speed probe that could pick
    another path in another process) and ``train`` overrides."""
    tiny["data"]["length"] = 2 * PER_EPOCH
    tiny["train"].update(precision="fp32", channels_last=False, winograd=False, sample_every=0,
                         **train)
    return tiny


def _write(folder: Path, recipe: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def _steps(metrics: Path) -> list[int]:
    """The logged steps; a line being written right now is skipped (as MetricsLog reads)."""
    return [r["step"] for r in MetricsLog(metrics).read() if "step" in r]


def _start(work: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(egan_argv("run", "tiny.yaml", "--out", "runs", "--device", "cpu", "-q",
                                      *args), cwd=work, env=env or egan_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(done: Callable[[], bool], procs: list[subprocess.Popen[str]], what: str,
              seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        for proc in procs:
            assert proc.poll() is None, f"ended before {what}: {proc.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, f"no {what} in {seconds} s"
        time.sleep(0.02)


def _resume(work: Path) -> None:
    done = subprocess.run(egan_argv("run", "tiny.yaml", "--out", "runs", "--resume", "--set",
                                    f"train.max_steps={TARGET}", "--device", "cpu", "-q"),
                          cwd=work, env=egan_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def _assert_same_run(a: Path, b: Path) -> None:
    """Both checkpoints hold the same step and bit-identical weights of G and D."""
    sa, sb = load_checkpoint(a), load_checkpoint(b)
    assert sa["step"] == sb["step"] == TARGET
    for part in ("generator", "discriminator"):
        wa, wb = sa[part]["state_dict"], sb[part]["state_dict"]
        assert wa.keys() == wb.keys()
        for key in wa:
            assert torch.equal(wa[key], wb[key]), (part, key)


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory,
             tiny_recipe_factory: Callable[[], dict[str, Any]]) -> Path:
    """The checkpoint of the long recipe trained to TARGET steps without a stop."""
    work = tmp_path_factory.mktemp("straight")
    _write(work, _long_recipe(tiny_recipe_factory(), max_steps=TARGET))
    done = subprocess.run(egan_argv("run", "tiny.yaml", "--out", "runs", "--device", "cpu", "-q"),
                          cwd=work, env=egan_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return work / "runs" / "tiny" / "checkpoints" / "latest.pt"


def test_sigterm_saves_the_step_exits_143_and_resumes_exactly(
        tmp_path: Path, tiny_recipe: dict[str, Any], straight: Path) -> None:
    _write(tmp_path, _long_recipe(tiny_recipe))
    run = tmp_path / "runs" / "tiny"
    proc = _start(tmp_path)
    _wait_for(lambda: max(_steps(run / "metrics.jsonl"), default=0) >= 3, [proc], "step 3")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err[-2000:]
    assert "by SIGTERM" in errors[0] and "--resume" in errors[0], errors
    state = load_checkpoint(run / "checkpoints" / "latest.pt")
    # the checkpoint holds the step that was running when the signal came, and the log
    # ends there: nothing done was lost, nothing was done past the save
    assert state["step"] == max(_steps(run / "metrics.jsonl"))
    assert 3 <= state["step"] < TARGET and state["batch"] == state["step"]  # mid-epoch 1
    _resume(tmp_path)
    _assert_same_run(straight, run / "checkpoints" / "latest.pt")
    assert _steps(run / "metrics.jsonl") == list(range(1, TARGET + 1))


def test_sigterm_to_the_whole_process_group_with_loader_workers_is_a_clean_stop(
        tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    """A scheduler signals every process of the job, DataLoader workers included: the
    workers leave the stop to the trainer, which saves and exits 143 (a worker that died
    of the signal first used to turn this into a traceback)."""
    recipe = _long_recipe(tiny_recipe)
    recipe["data"]["workers"] = 2
    _write(tmp_path, recipe)
    run = tmp_path / "runs" / "tiny"
    proc = subprocess.Popen(egan_argv("run", "tiny.yaml", "--out", "runs", "--device", "cpu", "-q"),
                            cwd=tmp_path, env=egan_env(), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    _wait_for(lambda: max(_steps(run / "metrics.jsonl"), default=0) >= 3, [proc], "step 3")
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err and "by SIGTERM" in err, err[-2000:]
    state = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert state["step"] == max(_steps(run / "metrics.jsonl"))


def test_sigkill_after_a_timed_checkpoint_resumes_exactly(
        tmp_path: Path, tiny_recipe: dict[str, Any], straight: Path) -> None:
    # a checkpoint at least every 0.3 s: several land mid-epoch before the kill
    _write(tmp_path, _long_recipe(tiny_recipe, checkpoint_minutes=0.005))
    run = tmp_path / "runs" / "tiny"
    latest = run / "checkpoints" / "latest.pt"

    def saved_step() -> int:
        try:
            return int(load_checkpoint(latest)["step"])
        except Exception:  # noqa: BLE001 - not written yet
            return 0

    proc = _start(tmp_path)
    _wait_for(lambda: saved_step() >= 4, [proc], "a timed checkpoint at step 4 or later")
    time.sleep(0.1)  # into the middle of the next steps (or of the next save)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    state = load_checkpoint(latest)  # a kill during a save keeps the one before whole
    assert 4 <= state["step"] < TARGET and state["batch"] == state["step"]  # mid-epoch 1
    assert state["step"] < PER_EPOCH
    _resume(tmp_path)
    _assert_same_run(straight, latest)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sigterm_to_one_ddp_rank_stops_both_with_one_checkpoint(
        tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    _write(tmp_path, _long_recipe(tiny_recipe))
    run = tmp_path / "runs" / "tiny"
    port = str(_free_port())
    procs = [_start(tmp_path, env={**egan_env(), "RANK": str(r), "LOCAL_RANK": str(r),
                                   "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2",
                                   "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port})
             for r in (0, 1)]
    try:
        _wait_for(lambda: max(_steps(run / "metrics.jsonl"), default=0) >= 3, procs, "step 3")
        procs[1].send_signal(signal.SIGTERM)  # the rank that writes nothing
        errs = [proc.communicate(timeout=120)[1] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert [p.returncode for p in procs] == [143, 143], [e[-1500:] for e in errs]
    for err in errs:
        assert "Traceback" not in err and "by SIGTERM" in err, err[-2000:]
    state = load_checkpoint(run / "checkpoints" / "latest.pt")
    logged = _steps(run / "metrics.jsonl")
    assert state["step"] == max(logged) and logged == list(range(1, state["step"] + 1))
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == ["latest.pt"], names  # one checkpoint, no temp file left by a second writer


# ---- unreadable training images ------------------------------------------------------------


def _image_folder(root: Path, good: int, bad: dict[str, bytes], side: str) -> None:
    folder = root / side
    folder.mkdir(parents=True)
    rng = np.random.default_rng(len(side) + good)
    for i in range(good):
        pixels = (rng.random((40, 40, 3)) * (60 if side == "train_A" else 255)).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:02d}.png")
    for name, data in bad.items():
        (folder / name).write_bytes(data)


def _truncated_png() -> bytes:
    """A PNG whose header reads but whose pixels stop half way (a copy cut short)."""
    buf = io.BytesIO()
    rng = np.random.default_rng(1)
    Image.fromarray((rng.random((40, 40, 3)) * 255).astype(np.uint8)).save(buf, format="PNG")
    data = buf.getvalue()
    return data[: len(data) // 2]


def _unpaired_recipe(tiny: dict[str, Any], root: Path, **data: Any) -> dict[str, Any]:
    tiny["data"] = {"dataset": "unpaired", "root": str(root), "size": 32, "batch_size": 2,
                    "workers": 1, **data}
    tiny["train"].update(sample_every=0)
    return tiny


@pytest.fixture
def folder_with_bad_images(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    _image_folder(root, 6, {"cut.png": _truncated_png(), "notes.jpg": b"not a picture at all"},
                  "train_A")
    _image_folder(root, 4, {}, "train_B")
    return root


def test_unreadable_images_are_skipped_named_once_and_counted(
        tmp_path: Path, tiny_recipe: dict[str, Any], folder_with_bad_images: Path, egan: Any) -> None:
    # 8 items, 4 steps per epoch, two epochs: each bad file is met twice, named once
    _write(tmp_path, _unpaired_recipe(tiny_recipe, folder_with_bad_images))
    done = egan("run", "tiny.yaml", "--out", "runs", "--set", "train.max_steps=8",
                "--device", "cpu", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    named = [line for line in done.stderr.splitlines() if "skipped an unreadable training image" in line]
    assert len(named) == 2, done.stderr
    assert any("cut.png" in line and "truncated" in line for line in named), named
    assert any("notes.jpg" in line and "not an image" in line for line in named), named
    records = [json.loads(x) for x in (tmp_path / "runs/tiny/metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 9))
    assert records[-1]["bad_images"] == 2
    assert "DataLoader will create" not in done.stderr


def test_more_unreadable_images_than_allowed_stop_the_run_with_the_list(
        tmp_path: Path, tiny_recipe: dict[str, Any], folder_with_bad_images: Path, egan: Any) -> None:
    _write(tmp_path, _unpaired_recipe(tiny_recipe, folder_with_bad_images, max_bad_images=1))
    done = egan("run", "tiny.yaml", "--out", "runs", "--device", "cpu", "-q", cwd=tmp_path)
    line = done.one_error(1)
    assert "2 unreadable training images, more than data.max_bad_images=1" in line, line
    assert "cut.png" in line and "notes.jpg" in line and "--resume" in line, line
    state = load_checkpoint(tmp_path / "runs/tiny/checkpoints/latest.pt")
    assert f"of step {state['step']} is kept" in line, line


def test_a_folder_with_no_readable_image_fails_before_training(
        tmp_path: Path, tiny_recipe: dict[str, Any], egan: Any) -> None:
    root = tmp_path / "data"
    _image_folder(root, 0, {"a.png": b"garbage", "b.png": _truncated_png()}, "train_A")
    _image_folder(root, 2, {}, "train_B")
    _write(tmp_path, _unpaired_recipe(tiny_recipe, root))
    done = egan("run", "tiny.yaml", "--out", "runs", "--device", "cpu", "-q", cwd=tmp_path)
    line = done.one_error(1)
    assert "none of the 2 training samples can be read" in line and "a.png" in line, line
    assert not (tmp_path / "runs").exists()  # nothing built, nothing written

"""`egan run` as users run it: a subprocess, Ctrl-C, and torchrun with 2 CPU processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from egan_core.checkpoint import load_checkpoint


def _write(tmp_path: Path, recipe: dict[str, Any]) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["OMP_NUM_THREADS"] = "1"
    return env


def test_egan_run_subprocess(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    path = _write(tmp_path, tiny_recipe)
    proc = subprocess.run(
        [sys.executable, "-m", "egan_core", "run", str(path), "--set", "train.max_steps=1",
         "--out", str(tmp_path / "runs"), "--device", "cpu", "-q"],
        capture_output=True, text=True, timeout=300, env=_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert str(tmp_path / "runs" / "tiny") in proc.stdout
    assert (tmp_path / "runs" / "tiny" / "checkpoints" / "latest.pt").is_file()


def test_bad_override_is_one_line(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    path = _write(tmp_path, tiny_recipe)
    proc = subprocess.run(
        [sys.executable, "-m", "egan_core", "run", str(path), "--set", "train.lr=-1",
         "--out", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=120, env=_env(),
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "train.lr" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ctrl_c_saves_and_exits_cleanly(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    tiny_recipe["data"]["length"] = 400  # long enough to be interrupted
    tiny_recipe["train"]["sample_every"] = 0
    path = _write(tmp_path, tiny_recipe)
    proc = subprocess.Popen(
        [sys.executable, "-m", "egan_core", "run", str(path), "--out", str(tmp_path / "runs"),
         "--device", "cpu", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )
    log = tmp_path / "runs" / "tiny" / "metrics.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and not (log.is_file() and log.read_text().count("\n") >= 2):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and "Traceback" not in err
    state = load_checkpoint(tmp_path / "runs" / "tiny" / "checkpoints" / "latest.pt")
    assert state["step"] >= 2


def test_torchrun_two_cpu_processes(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    tiny_recipe["train"]["max_steps"] = 2
    path = _write(tmp_path, tiny_recipe)
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "egan_core", "run", str(path), "--out", str(tmp_path / "runs"), "--device", "cpu",
         "-q"],
        capture_output=True, text=True, timeout=300, env=_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "runs" / "tiny"
    state = load_checkpoint(run_dir / "checkpoints" / "latest.pt")
    assert state["step"] == 2
    # each rank took a batch of 2: the logged throughput counts both processes' images
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2  # rank 0 alone wrote
    assert all(torch.isfinite(v).all() for v in state["generator"]["state_dict"].values()
               if v.is_floating_point())

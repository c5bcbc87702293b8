"""Crashes, kills, unwritable folders and full disks lose nothing already done.

- a checkpoint save killed at any point leaves the previous checkpoint loadable and never a
  half file under the final name;
- ``egan run --resume`` after ``kill -9`` mid-epoch continues from the last checkpoint;
- an output folder that cannot be written and a full disk (simulated with RLIMIT_FSIZE,
  which makes every write past the limit fail with EFBIG) give a one-line error, no
  traceback, and keep every earlier output and checkpoint intact.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from egan_core.checkpoint import load_checkpoint, save_checkpoint
from egan_core.training.outputs import MetricsLog

STEPS_PER_EPOCH = 4  # the tiny recipe: 8 images, batch 2


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def _limit_file_size(limit: int) -> Callable[[], None]:
    """A preexec_fn: writes past ``limit`` bytes fail with EFBIG (a full disk, for one file)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _steps(metrics: Path) -> list[int]:
    """The logged steps; a line being written right now is skipped (as MetricsLog reads)."""
    return [r["step"] for r in MetricsLog(metrics).read() if "step" in r]


# ---- a save killed half way ---------------------------------------------------------------

_KILLED_SAVE = textwrap.dedent("""
    import io, os, signal, sys
    import torch
    from egan_core import checkpoint

    point, path = sys.argv[1], sys.argv[2]

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "replace":
        os.replace = die
    elif point == "fsync":
        os.fsync = die
    elif point == "write":
        real_save = torch.save

        def half_then_die(obj, f, *args, **kwargs):
            buf = io.BytesIO()
            real_save(obj, buf)
            data = buf.getvalue()
            if isinstance(f, (str, os.PathLike)):
                f = open(f, "wb")
            f.write(data[: len(data) // 2])
            f.flush()
            os.fsync(f.fileno())
            die()

        torch.save = half_then_die
    checkpoint.save_checkpoint(path, {"step": 2, "weights": torch.full((50_000,), 2.0)})
""")


def test_a_save_killed_at_any_point_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    points = ("write", "fsync", "replace")
    paths = {}
    for point in points:
        paths[point] = tmp_path / point / "latest.pt"
        save_checkpoint(paths[point], {"step": 1, "weights": torch.full((50_000,), 1.0)})
    procs = {point: subprocess.Popen([sys.executable, "-c", _KILLED_SAVE, point, str(paths[point])],
                                     env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for point in points}
    for point, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        # the kill happened where it was planted (a save without temp file + rename would
        # never call os.replace, nor write the final name only after fsync)
        assert proc.returncode == -signal.SIGKILL, (point, err.decode())
        state = load_checkpoint(paths[point])
        assert state["step"] == 1 and torch.equal(state["weights"], torch.full((50_000,), 1.0)), point
        names = [p.name for p in paths[point].parent.iterdir()]
        assert names.count("latest.pt") == 1, names
        assert all(n == "latest.pt" or n.endswith(".tmp") for n in names), names
        # the next save goes through despite the leftover temp file
        save_checkpoint(paths[point], {"step": 3})
        assert load_checkpoint(paths[point])["step"] == 3


# ---- kill -9 during training, then --resume -----------------------------------------------


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory: pytest.TempPathFactory,
               tiny_recipe_factory: Callable[[], dict[str, Any]]) -> Path:
    """A tiny run killed with SIGKILL in its second epoch; returns its work folder
    (``tiny.yaml`` and ``runs/tiny/``). Tests copy it before touching it."""
    work = tmp_path_factory.mktemp("killed")
    (work / "tiny.yaml").write_text(yaml.safe_dump(tiny_recipe_factory()))
    proc = subprocess.Popen([sys.executable, "-m", "egan_core", "run", "tiny.yaml", "--out", "runs",
                             "--device", "cpu", "-q"], cwd=work, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    metrics = work / "runs" / "tiny" / "metrics.jsonl"
    deadline = time.monotonic() + 240
    try:
        while max(_steps(metrics), default=0) < STEPS_PER_EPOCH + 2:
            assert proc.poll() is None, f"the run ended early: {proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "the run did not reach step 6 in time"
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL: no handler, no last save
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return work


def _copy_of(killed: Path, tmp_path: Path) -> tuple[Path, Path]:
    work = tmp_path / "work"
    shutil.copytree(killed, work, symlinks=True)
    return work, work / "runs" / "tiny"


def test_resume_after_kill_9_continues_from_the_last_checkpoint(killed_run: Path,
                                                                tmp_path: Path) -> None:
    work, run = _copy_of(killed_run, tmp_path)
    saved = load_checkpoint(run / "checkpoints" / "latest.pt")["step"]
    # the last end of epoch before the kill (a kill during a save keeps the one before)
    assert saved % STEPS_PER_EPOCH == 0 and saved >= STEPS_PER_EPOCH
    assert max(_steps(run / "metrics.jsonl")) > saved  # work past the checkpoint is redone
    with (run / "metrics.jsonl").open("a") as log:  # a kill in the middle of a log line
        log.write('{"step": 99, "epo')
    target = saved + 3
    done = subprocess.run([sys.executable, "-m", "egan_core", "run", "tiny.yaml", "--out", "runs",
                           "--resume", "--set", f"train.max_steps={target}", "--device", "cpu", "-q"],
                          cwd=work, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["step"] == target
    # the log holds every step once, in order: the killed run's steps past the checkpoint
    # were dropped and redone by the resumed run
    assert _steps(run / "metrics.jsonl") == list(range(1, target + 1))
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[saved]["epoch"] == saved // STEPS_PER_EPOCH + 1


def test_a_full_disk_during_training_keeps_the_last_checkpoint(killed_run: Path,
                                                              tmp_path: Path, egan: Any) -> None:
    work, run = _copy_of(killed_run, tmp_path)
    latest = run / "checkpoints" / "latest.pt"
    before = latest.read_bytes()
    saved = load_checkpoint(latest)["step"]
    assert len(before) > 1_000_000  # the tiny run's checkpoint: about 5 MB
    # every write past 3 kB fails: the metrics log fits, the next checkpoint does not, nor
    # the loss curve written on the way out (whose failure must not hide the first one)
    done = egan("run", "tiny.yaml", "--out", "runs", "--resume", "--set",
                f"train.max_steps={saved + 1}", "--device", "cpu", "-q", cwd=work,
                preexec_fn=_limit_file_size(3_000))
    line = done.one_error()
    assert "latest.pt" in line and "File too large" in line, line
    kept = Path("runs", "tiny", "checkpoints", "latest.pt")  # as --out named it
    assert f"the checkpoint '{kept}' of step {saved} is kept" in line, line  # what to resume
    assert not (run / "loss_curve.png").exists()
    assert latest.read_bytes() == before  # nothing lost
    assert load_checkpoint(latest)["step"] == saved
    assert not [p for p in latest.parent.iterdir() if p.name.endswith(".tmp")
                and p.stat().st_mtime > time.time() - 60]  # its temp file was cleaned up


# ---- output folders that cannot be written ------------------------------------------------


def _unwritable(tmp_path: Path) -> Path:
    """A folder path egan cannot write into, for root too (root ignores chmod)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        (locked / "probe").touch()
    except PermissionError:
        return locked / "out"
    (locked / "probe").unlink()
    locked.chmod(0o700)
    blocker = tmp_path / "file.txt"  # a regular file where a folder should be
    blocker.write_text("not a folder")
    return blocker / "sub"


def test_enhance_into_an_unwritable_folder(tmp_path: Path, egan_cli: Any) -> None:
    photo = tmp_path / "photo.png"
    Image.new("RGB", (12, 8), (20, 10, 5)).save(photo)
    out = _unwritable(tmp_path)
    done = egan_cli("enhance", photo, "--out", out, "--enhancer", "clahe")
    lines = done.assert_clean_failure(1)
    assert any("photo.png" in line and "cannot write" in line for line in lines), lines
    assert lines[-1].startswith("error: 1 of 1 failed")


def test_run_into_an_unwritable_folder(tmp_path: Path, egan_cli: Any,
                                       tiny_recipe: dict[str, Any]) -> None:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe))
    out = _unwritable(tmp_path)
    done = egan_cli("run", recipe, "--out", out, "--set", "train.max_steps=1", "--device", "cpu", "-q")
    line = done.one_error()
    assert line.startswith(f"error: cannot write '{out}"), line
    assert "--out" in line


def test_enhance_on_a_full_disk_keeps_what_was_done(tmp_path: Path, egan: Any) -> None:
    rng = np.random.default_rng(0)
    source = tmp_path / "in"
    source.mkdir()
    small = Image.fromarray((rng.random((16, 16, 3)) * 255).astype(np.uint8))
    big = Image.fromarray((rng.random((300, 300, 3)) * 255).astype(np.uint8))  # ~270 kB as PNG
    small.save(source / "a_small.png")
    big.save(source / "b_big.png")
    small.save(source / "c_small.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "b_big.png").write_bytes(b"an earlier result")  # replaced only by a complete file
    done = egan("enhance", source, "--out", out, "--enhancer", "clahe", "--overwrite",
                preexec_fn=_limit_file_size(100_000))
    lines = done.assert_clean_failure(1)
    (failure,) = [line for line in lines if "b_big.png'" in line]
    assert "File too large" in failure
    assert lines[-1].startswith("error: 1 of 3 failed")
    assert (out / "b_big.png").read_bytes() == b"an earlier result"
    for name in ("a_small.png", "c_small.png"):
        with Image.open(out / name) as im:
            assert im.size == (16, 16)
    assert sorted(p.name for p in out.iterdir()) == ["a_small.png", "b_big.png", "c_small.png"]

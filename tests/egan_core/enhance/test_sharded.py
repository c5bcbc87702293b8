"""``torchrun -m egan_core enhance``: real 2-rank runs against the single-process result.

Each test launches ``python -m torch.distributed.run --standalone --nproc_per_node=2``
(``--tee 3`` prefixes every line with ``[default<rank>]:``, so the tests can tell which
rank printed what) over seven small images, one of them corrupt.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from egan_core.cli.main import cli
from egan_core.enhance.files import Job, plan_jobs
from egan_core.enhance.runner import Report, shard_plan
from egan_core.testing import save_tiny_checkpoint

#: name -> (height, width); ``img3.png`` is written corrupt. In sorted order rank 0 gets
#: img0, img2, img4, img6 and rank 1 img1, img3, img5.
IMAGES = {"img0.png": (24, 32), "img1.jpg": (24, 32), "img2.png": (20, 28),
          "img3.png": None, "img4.bmp": (24, 32), "img5.png": (21, 30), "img6.png": (24, 32)}
GOOD = sorted(name for name, size in IMAGES.items() if size is not None)
CORRUPT = "img3.png"
TIMEOUT = 180


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of six small dark images (png, jpg, bmp) and one corrupt png."""
    folder = tmp_path_factory.mktemp("sharded") / "in"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for name, size in IMAGES.items():
        if size is None:
            (folder / name).write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
        else:
            Image.fromarray(rng.integers(0, 90, (*size, 3), dtype=np.uint8)).save(folder / name)
    return folder


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An egan checkpoint of a seeded attention_unet with base_channels 4."""
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", seed=11)


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    tmp.mkdir(parents=True, exist_ok=True)
    # one thread per rank (the machine is shared); torchrun's log folders land in tmp
    return {**env, "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}


def enhance(tmp: Path, *args: str, ranks: int = 1) -> subprocess.CompletedProcess[str]:
    """``egan enhance ARGS`` alone, or under torchrun with ``ranks`` ranks (``--tee 3``)."""
    if ranks == 1:
        launcher = [sys.executable, "-m", "egan_core"]
    else:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                    f"--nproc_per_node={ranks}", "--tee", "3", "-m", "egan_core"]
    return subprocess.run([*launcher, "enhance", *args, "--device", "cpu"], env=_env(tmp / "tmp"),
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)


def rank_lines(text: str, pattern: str) -> list[tuple[int, str]]:
    """``(rank, line)`` of every ``[default<rank>]:`` line matching ``pattern``."""
    found = []
    for line in text.splitlines():
        m = re.match(r"\[default(\d+)\]:(.*)$", line)
        if m and re.search(pattern, m.group(2)):
            found.append((int(m.group(1)), m.group(2)))
    return found


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def check_failed_run(done: subprocess.CompletedProcess[str], inputs: Path, out: Path,
                     written: int) -> None:
    """Exit 1; rank 0 alone prints one summary naming the corrupt file; no worker traceback."""
    assert done.returncode == 1, done.stdout + done.stderr
    summaries = rank_lines(done.stderr, r"of 7 failed")
    assert summaries == [(0, f"error: 1 of 7 failed: {inputs / CORRUPT}")], done.stderr
    # img3 is rank 1's: its own error line, as it happened, comes from rank 1
    assert [r for r, _ in rank_lines(done.stderr, rf"'{re.escape(str(inputs / CORRUPT))}': not an image")
            ] == [1], done.stderr
    assert rank_lines(done.stdout, r"^wrote ") == [(0, f"wrote {written} file(s) to {out.resolve()}")]
    assert not rank_lines(done.stdout + done.stderr, r"Traceback"), done.stderr


def test_gan_sharded_equals_single_process_and_resumes(tmp_path: Path, inputs: Path,
                                                       checkpoint: Path) -> None:
    args = ["--checkpoint", str(checkpoint), "--precision", "fp32"]
    alone = enhance(tmp_path, str(inputs), "--out", str(tmp_path / "alone"), *args)
    assert alone.returncode == 1 and f"1 of 7 failed: {inputs / CORRUPT}" in alone.stderr
    expected = outputs(tmp_path / "alone")
    assert sorted(expected) == GOOD
    source = np.asarray(Image.open(inputs / "img0.png"))
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "alone" / "img0.png")), source)

    out = tmp_path / "sharded"
    done = enhance(tmp_path, str(inputs), "--out", str(out), *args, ranks=2)
    assert outputs(out) == expected  # the union of both ranks' files, byte for byte
    check_failed_run(done, inputs, out, written=6)

    # an interrupted job: one output of each rank is missing; the rest must stay untouched
    for name in ("img1.jpg", "img2.png"):
        (out / name).unlink()
    kept = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()}
    again = enhance(tmp_path, str(inputs), "--out", str(out), *args, ranks=2)
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()
            if p.name in kept} == kept
    assert outputs(out) == expected
    check_failed_run(again, inputs, out, written=2)
    assert rank_lines(again.stdout, r"existing output") == [
        (0, "skipped 4 existing output(s) (use --overwrite to replace)")]


def test_clahe_sharded_equals_single_process(tmp_path: Path, inputs: Path) -> None:
    # CLAHE is uint8 OpenCV work, the same in any process: the reference runs in this one
    alone = CliRunner().invoke(cli, ["enhance", str(inputs), "--out", str(tmp_path / "alone"),
                                     "--enhancer", "clahe"])
    assert alone.exit_code == 1 and "1 of 7 failed" in alone.output, alone.output
    done = enhance(tmp_path, str(inputs), "--out", str(tmp_path / "sharded"),
                   "--enhancer", "clahe", ranks=2)
    check_failed_run(done, inputs, tmp_path / "sharded", written=6)
    expected = outputs(tmp_path / "alone")
    assert sorted(expected) == GOOD and outputs(tmp_path / "sharded") == expected


CRASHING_RANK = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import torch
    from egan_core.enhance.files import plan_jobs
    from egan_core.enhance.pipeline import Enhancer
    from egan_core.distributed import start_group
    from egan_core.enhance.runner import Report, gather_reports, run_jobs, shard_plan
    from egan_core.errors import EganError

    def stage(x: torch.Tensor) -> torch.Tensor:
        if os.environ["RANK"] == "1":
            os._exit(3)  # this rank dies in the middle of its work, without a word
        return x

    mine = shard_plan(plan_jobs([sys.argv[1]], sys.argv[2]))
    start_group()
    report = run_jobs(Enhancer([stage]), mine.jobs)
    try:
        gather_reports(report)
    except EganError as exc:
        print(exc)
        sys.exit(1)
""")


def test_a_dead_rank_does_not_hang_the_summary(tmp_path: Path, inputs: Path) -> None:
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_RANK)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**_env(tmp_path / "tmp"), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
           "WORLD_SIZE": "2"}
    procs = [subprocess.Popen([sys.executable, str(script), str(inputs), str(tmp_path / "out")],
                              env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for rank in (0, 1)]
    try:
        results = [p.communicate(timeout=90) for p in procs]  # a hang fails here
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert procs[1].returncode == 3
    assert procs[0].returncode == 1, results[0]
    assert "another rank stopped before the summary" in results[0][0]
    assert "run the same command again" in results[0][0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["img0.png", "img2.png",
                                                                   "img4.bmp", "img6.png"]


def test_shares_do_not_depend_on_what_is_already_written(tmp_path: Path, inputs: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A rank planning after another started writing still takes the same inputs."""
    out = tmp_path / "out"
    monkeypatch.setenv("WORLD_SIZE", "2")
    shares = {}
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        shares[rank] = [job.source.name for job in shard_plan(plan_jobs([str(inputs)], out)).jobs]
    assert shares == {0: ["img0.png", "img2.png", "img4.bmp", "img6.png"],
                      1: ["img1.jpg", "img3.png", "img5.png"]}
    out.mkdir()
    (out / "img0.png").write_bytes(b"rank 0 was quicker")  # written before rank 1 plans
    mine = shard_plan(plan_jobs([str(inputs)], out))
    assert [job.source.name for job in mine.jobs] == shares[1] and not mine.skipped
    monkeypatch.setenv("RANK", "0")
    mine = shard_plan(plan_jobs([str(inputs)], out))
    assert [job.source.name for job in mine.jobs] == shares[0][1:]
    assert [job.target.name for job in mine.skipped] == ["img0.png"]


def test_summary_names_failures_and_rank_errors() -> None:
    report = Report(failed=[(f"f{i:02}.png", "bad") for i in range(12, 0, -1)],
                    errors=[(1, "boom"), (0, "boom"), (2, "other")])
    assert report.summary(40, ["gone.png"]) == (
        "13 of 40 failed: gone.png, f01.png, f02.png, f03.png, f04.png, f05.png, f06.png,"
        " f07.png, f08.png, f09.png and 3 more")
    assert report.rank_errors() == ["boom (ranks 0, 1)", "other (rank 2)"]
    jobs = [Job(Path(f"{n}.png"), Path(f"out/{n}.png"), "png") for n in "abc"]
    partial = Report(written=[Path("out/a.png")], failed=[("b.png", "bad")])
    partial.fail_unfinished(jobs, "rank 1 stopped")
    assert partial.failed == [("b.png", "bad"), ("c.png", "rank 1 stopped")]

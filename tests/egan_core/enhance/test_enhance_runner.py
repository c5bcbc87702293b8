"""run_jobs: batching of same-size images, failures recorded, sharding under torchrun."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from egan_core.enhance.files import plan_jobs
from egan_core.enhance.pipeline import Enhancer
from egan_core.enhance.runner import Report, gather_reports, run_jobs, shard


def test_same_size_images_are_batched(tmp_path: Path, write_image, dark) -> None:
    for name, (h, w) in {"a.png": (20, 30), "b.png": (20, 30), "c.png": (20, 30),
                         "d.png": (25, 30), "e.png": (20, 30)}.items():
        write_image(f"in/{name}", dark(h, w))
    (tmp_path / "in" / "bad.png").write_bytes(b"nope")
    shapes: list[tuple[int, ...]] = []

    def stage(x: torch.Tensor) -> torch.Tensor:
        shapes.append(tuple(x.shape))
        return x

    plan = plan_jobs([str(tmp_path / "in")], tmp_path / "out")
    finished: list[int] = []
    errors: list[str] = []
    report = run_jobs(Enhancer([stage]), plan.jobs, batch_size=2, on_done=finished.append,
                      on_error=lambda src, why: errors.append(why))
    assert shapes == [(2, 3, 20, 30), (1, 3, 20, 30), (1, 3, 25, 30), (1, 3, 20, 30)]
    assert sum(finished) == 6 and len(report.written) == 5
    assert len(report.failed) == 1 and "bad.png" in errors[0]


def test_sharding_and_gathering(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = list(range(7))
    assert shard(jobs) == jobs  # not distributed
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "1")
    assert shard(jobs) == [1, 4]
    monkeypatch.setenv("WORLD_SIZE", "1")
    report = Report(written=[Path("a")], failed=[("b", "why")])
    assert gather_reports(report) is report


def test_large_images_report_their_tiles_as_they_go(tmp_path: Path, write_image, dark) -> None:
    from egan_core import load_enhancer

    write_image("in/big.png", dark(150, 200))
    write_image("in/small.png", dark(40, 50))
    plan = plan_jobs([str(tmp_path / "in")], tmp_path / "out")
    seen: list[tuple[str, int, int]] = []
    run_jobs(load_enhancer("zero_dce_pp", device="cpu", tile=64), plan.jobs,
             on_tile=lambda job, done, total: seen.append((job.source.name, done, total)))
    total = seen[-1][2]
    assert total > 1 and seen == [("big.png", k, total) for k in range(1, total + 1)]  # small.png: one pass

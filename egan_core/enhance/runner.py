"""Run an :class:`Enhancer` over planned jobs: read ahead, batch, write, count failures.

One bad file fails alone: its error is recorded (and reported through ``on_error``)
and every other file is still written.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from egan_core.enhance.files import Job
from egan_core.enhance.io import read_image, to_uint8, write_image
from egan_core.enhance.pipeline import Enhancer
from egan_core.enhance.video import enhance_video
from egan_core.errors import EganError


@dataclass
class Report:
    """What a run did: files written and ``(input, reason)`` of each failure."""

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def merge(self, other: Report) -> None:
        """Add another report's results (another rank's, for instance)."""
        self.written += other.written
        self.failed += other.failed


def rank_and_world() -> tuple[int, int]:
    """``(rank, world size)`` under ``torchrun``; ``(0, 1)`` otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def shard(jobs: Sequence[Job]) -> list[Job]:
    """This process's share of the sorted ``jobs`` under ``torchrun`` (all when not distributed)."""
    rank, world = rank_and_world()
    return list(jobs[rank::world]) if world > 1 else list(jobs)


def gather_reports(report: Report) -> Report:
    """Every rank's results combined (gloo ``all_gather_object``); ``report`` when alone."""
    _, world = rank_and_world()
    if world <= 1:
        return report
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    parts: list[Report | None] = [None] * world
    dist.all_gather_object(parts, report)
    merged = Report()
    for part in parts:
        if part is not None:
            merged.merge(part)
    return merged


def run_jobs(enhancer: Enhancer, jobs: Sequence[Job], *, batch_size: int = 1,
             on_done: Callable[[int], None] | None = None,
             on_error: Callable[[str, str], None] | None = None) -> Report:
    """Enhance every job's source into its target.

    Images of the same size that follow each other are enhanced together, up to
    ``batch_size``; the next images are read in a background thread meanwhile.

    Args:
        enhancer: the pipeline to run.
        jobs: inputs and targets (see :func:`egan_core.enhance.files.plan_jobs`).
        batch_size: most images per forward pass (also frames per pass in videos).
        on_done: called with the number of jobs finished (written or failed).
        on_error: called with ``(input, reason)`` for each failure, as it happens.
    """
    report = Report()
    batch_size = max(1, batch_size)

    def fail(job: Job, reason: str) -> None:
        report.failed.append((str(job.source), reason))
        if on_error:
            on_error(str(job.source), reason)

    def done(n: int = 1) -> None:
        if on_done:
            on_done(n)

    def flush(group: list[tuple[Job, np.ndarray]]) -> None:
        if not group:
            return
        batch = [job for job, _ in group]
        arrays = [torch.from_numpy(a).permute(2, 0, 1) for _, a in group]
        group.clear()  # the inputs are freed as soon as the batch no longer needs them
        try:
            x = arrays[0][None] if len(arrays) == 1 else torch.stack(arrays)
            del arrays
            out = enhancer.process(x).permute(0, 2, 3, 1).numpy()
            del x
        except (EganError, RuntimeError, MemoryError) as exc:
            for job in batch:
                fail(job, f"'{job.source}': enhancement failed: {_first_line(exc)}")
            done(len(batch))
            return
        for job, image in zip(batch, out, strict=True):
            try:
                report.written.append(write_image(job.target, to_uint8(image), job.fmt))
            except (EganError, OSError, ValueError) as exc:
                fail(job, f"'{job.source}': cannot write '{job.target}': {_first_line(exc)}")
            done()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="egan-read") as pool:
        queue: deque[tuple[Job, Future[np.ndarray] | None]] = deque()
        todo = iter(jobs)

        def fill() -> None:
            while len(queue) < batch_size:
                job = next(todo, None)
                if job is None:
                    return
                queue.append((job, None if job.is_video else pool.submit(read_image, job.source)))

        group: list[tuple[Job, np.ndarray]] = []
        fill()
        while queue:
            job, future = queue.popleft()
            if future is None:
                flush(group)
                try:
                    enhance_video(enhancer, job.source, job.target, batch_size)
                    report.written.append(job.target)
                except EganError as exc:
                    fail(job, str(exc))
                except (RuntimeError, OSError) as exc:
                    fail(job, f"'{job.source}': {_first_line(exc)}")
                done()
                fill()
                continue
            try:
                image = future.result()
                del future  # the future holds the image too
            except EganError as exc:
                fail(job, str(exc))
                done()
                fill()
                continue
            fill()
            if group and group[0][1].shape != image.shape:
                flush(group)
            group.append((job, image))
            del image
            if len(group) >= batch_size:
                flush(group)
        flush(group)
    return report


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:200] if lines else type(exc).__name__

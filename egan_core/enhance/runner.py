"""Run an :class:`Enhancer` over planned jobs: read ahead, batch, write, count failures.

One bad file fails alone: its error is recorded (and reported through ``on_error``)
and every other file is still written.

Under ``torchrun`` every rank plans the same sorted inputs, takes every ``world``-th of
them (:func:`shard_plan`), joins a gloo group before any work
(:func:`egan_core.distributed.start_group`), so that a rank dying later is noticed instead
of waited for, and hands its :class:`Report` to the others at the end
(:func:`gather_reports`); rank 0 prints the summary.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from egan_core.distributed import gather_objects, rank_and_world
from egan_core.enhance.files import Job, Plan
from egan_core.enhance.io import read_image, to_uint8, write_image
from egan_core.enhance.pipeline import Enhancer
from egan_core.enhance.video import enhance_video
from egan_core.errors import EganError, first_line

T = TypeVar("T")

__all__ = ["Report", "gather_reports", "run_jobs", "shard", "shard_plan"]

#: Failed inputs named in the summary line (the rest are counted).
SUMMARY_NAMES = 10


@dataclass
class Report:
    """What a run did: files written, ``(input, reason)`` of each failure, outputs kept.

    ``errors`` holds ``(rank, reason)`` of a rank that broke down as a whole (its enhancer
    could not be built, say); its unfinished inputs are in ``failed`` too.
    """

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    def merge(self, other: Report) -> None:
        """Add another report's results (another rank's, for instance)."""
        self.written += other.written
        self.failed += other.failed
        self.skipped += other.skipped
        self.errors += other.errors

    def fail_unfinished(self, jobs: Sequence[Job], reason: str) -> None:
        """Count every job of ``jobs`` neither written nor failed yet as failed for ``reason``."""
        finished = {str(p) for p in self.written} | {src for src, _ in self.failed}
        self.failed += [(str(job.source), reason) for job in jobs
                        if str(job.target) not in finished and str(job.source) not in finished]

    def summary(self, total: int, missing: Sequence[str] = ()) -> str:
        """``"3 of 10 failed: a.png, b.png, c.png"`` (inputs not found counted first)."""
        names = [*missing, *sorted(src for src, _ in self.failed)]
        shown = ", ".join(names[:SUMMARY_NAMES])
        more = f" and {len(names) - SUMMARY_NAMES} more" if len(names) > SUMMARY_NAMES else ""
        return f"{len(names)} of {total} failed: {shown}{more}"

    def rank_errors(self) -> list[str]:
        """One line per distinct rank-level error, naming the ranks it happened on."""
        ranks: dict[str, list[int]] = {}
        for rank, reason in self.errors:
            ranks.setdefault(reason, []).append(rank)
        return [f"{reason} (rank{'s' if len(r) > 1 else ''} {', '.join(map(str, sorted(r)))})"
                for reason, r in ranks.items()]


def shard(jobs: Sequence[T]) -> list[T]:
    """This process's share of the sorted ``jobs`` under ``torchrun`` (all when not distributed)."""
    rank, world = rank_and_world()
    return list(jobs[rank::world]) if world > 1 else list(jobs)


def shard_plan(plan: Plan) -> Plan:
    """This rank's share of ``plan``: every ``world``-th of all its outputs, written or not.

    Sharding the full sorted list (not just the outputs still missing) keeps the ranks in
    agreement even when one plans after another has started writing, and lets a rerun
    (possibly with another number of ranks) resume where an interrupted one stopped.
    Inputs not found are everyone's (rank 0 reports them).
    """
    if rank_and_world()[1] <= 1:
        return plan
    pending = set(plan.jobs)
    mine = shard(sorted([*plan.jobs, *plan.skipped], key=lambda job: str(job.source)))
    return Plan(jobs=[job for job in mine if job in pending],
                skipped=[job for job in mine if job not in pending], missing=list(plan.missing))


def gather_reports(report: Report) -> Report:
    """Every rank's results combined (gloo ``all_gather_object``); ``report`` when alone.

    Every rank must call it, whether it had work or not. Leaves the group afterwards.

    Raises:
        EganError: another rank died before handing in its report.
    """
    if rank_and_world()[1] <= 1:
        return report
    try:
        parts = gather_objects(report)
    except RuntimeError as exc:
        raise EganError(f"another rank stopped before the summary ({first_line(exc)}); the"
                        " files written so far are kept: run the same command again to finish"
                        ) from exc
    merged = Report()
    for part in parts:
        if part is not None:
            merged.merge(part)
    return merged


def run_jobs(enhancer: Enhancer, jobs: Sequence[Job], *, batch_size: int = 1,
             on_done: Callable[[int], None] | None = None,
             on_error: Callable[[str, str], None] | None = None,
             report: Report | None = None) -> Report:
    """Enhance every job's source into its target.

    Images of the same size that follow each other are enhanced together, up to
    ``batch_size``; the next images are read in a background thread meanwhile.

    Args:
        enhancer: the pipeline to run.
        jobs: inputs and targets (see :func:`egan_core.enhance.files.plan_jobs`).
        batch_size: most images per forward pass (also frames per pass in videos).
        on_done: called with the number of jobs finished (written or failed).
        on_error: called with ``(input, reason)`` for each failure, as it happens.
        report: filled in as the jobs finish (so a caller keeps partial results even if
            this raises); a new one by default.

    Any exception a file causes (reading, enhancing, writing) fails that file alone.
    """
    report = Report() if report is None else report
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
        except Exception as exc:  # whatever a stage raises fails its batch alone
            for job in batch:
                fail(job, f"'{job.source}': enhancement failed: {first_line(exc)}")
            done(len(batch))
            return
        for job, image in zip(batch, out, strict=True):
            try:
                report.written.append(write_image(job.target, to_uint8(image), job.fmt))
            except Exception as exc:
                fail(job, f"'{job.source}': cannot write '{job.target}': {first_line(exc)}")
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
                except Exception as exc:
                    fail(job, f"'{job.source}': {first_line(exc)}")
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
            except Exception as exc:  # an unforeseen decoder error
                fail(job, f"'{job.source}': cannot read: {first_line(exc)}")
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


"""Run an :class:`Enhancer` over planned jobs: read ahead, batch, write, count failures.

One bad file fails alone: its error is recorded (and reported through ``on_error``)
and every other file is still written.

Under ``torchrun`` every rank plans the same sorted inputs, takes every ``world``-th of
them (:func:`shard_plan`), joins a gloo group before any work
(:func:`egan_core.distributed.start_group`), so that a rank dying later is noticed instead
of waited for, and hands its :class:`Report` to the others at the end
(:func:`gather_reports`). :func:`egan_core.enhance.api.enhance_files` puts these together.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
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
from egan_core.errors import EganError, first_line
from egan_core.video.enhance import VideoOptions, enhance_video

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
             report: Report | None = None, video: VideoOptions | None = None,
             on_frame: Callable[[Job, int, int | None], None] | None = None,
             on_tile: Callable[[Job, int, int], None] | None = None) -> Report:
    """Enhance every job's source into its target.

    Images of the same size that follow each other are enhanced together, up to
    ``batch_size``; the next images are read in a background thread meanwhile.

    Args:
        enhancer: the pipeline to run.
        jobs: inputs and targets (see :func:`egan_core.enhance.files.plan_jobs`).
        batch_size: most images per forward pass (video frames go one at a time).
        on_done: called with the number of jobs finished (written or failed).
        on_error: called with ``(input, reason)`` for each failure, as it happens.
        report: filled in as the jobs finish (so a caller keeps partial results even if
            this raises); a new one by default.
        video: how videos are written (defaults of :class:`VideoOptions` when None).
        on_frame: called with ``(job, frames written, frames expected or None)`` as a
            video goes.
        on_tile: called with ``(job, tiles done, tiles)`` as a large image goes in tiles
            (the first image of its batch).

    Any exception a file causes (reading, enhancing, writing) fails that file alone.
    """
    report = Report() if report is None else report
    JobRunner(enhancer, max(1, batch_size), report, on_done, on_error, video or VideoOptions(),
              on_frame, on_tile).run(jobs)
    return report


class JobRunner:
    """The state of one :func:`run_jobs` call: the read-ahead queue and the batch being
    gathered (images of one size, enhanced in one forward pass)."""

    def __init__(self, enhancer: Enhancer, batch_size: int, report: Report,
                 on_done: Callable[[int], None] | None,
                 on_error: Callable[[str, str], None] | None, video: VideoOptions,
                 on_frame: Callable[[Job, int, int | None], None] | None,
                 on_tile: Callable[[Job, int, int], None] | None = None) -> None:
        self.enhancer = enhancer
        self.video_options = video
        self.on_frame = on_frame
        self.on_tile = on_tile
        self.batch_size = batch_size
        self.report = report
        self.on_done = on_done
        self.on_error = on_error
        self.queue: deque[tuple[Job, Future[np.ndarray] | None]] = deque()
        self.group: list[tuple[Job, np.ndarray]] = []

    def run(self, jobs: Sequence[Job]) -> None:
        """Read ahead in one background thread; enhance and write in this one."""
        todo = iter(jobs)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="egan-read") as pool:
            self.read_ahead(todo, pool)
            while self.queue:
                job, future = self.queue.popleft()
                if future is None:
                    self.flush()  # the images before it are written first
                    self.video(job)
                    self.read_ahead(todo, pool)
                    continue
                image = self.result(job, future)
                del future  # the future holds the image too
                self.read_ahead(todo, pool)  # the next reads overlap the forward pass
                if image is not None:
                    self.add(job, image)
                    del image  # the batch alone holds it, and frees it once stacked
                    if len(self.group) >= self.batch_size:
                        self.flush()
            self.flush()

    def read_ahead(self, todo: Iterator[Job], pool: ThreadPoolExecutor) -> None:
        """Queue up to ``batch_size`` jobs, their images being read in ``pool``."""
        while len(self.queue) < self.batch_size:
            job = next(todo, None)
            if job is None:
                return
            future = None if job.is_video else pool.submit(read_image, job.source)
            self.queue.append((job, future))

    def result(self, job: Job, future: Future[np.ndarray]) -> np.ndarray | None:
        """The image read for ``job``; None when it could not be read (failure recorded)."""
        try:
            return future.result()
        except EganError as exc:
            self.fail(job, str(exc))
        except Exception as exc:  # an unforeseen decoder error
            self.fail(job, f"'{job.source}': cannot read: {first_line(exc)}")
        self.done()
        return None

    def add(self, job: Job, image: np.ndarray) -> None:
        """Add an image to the batch, enhancing the batch first if its size differs."""
        if self.group and self.group[0][1].shape != image.shape:
            self.flush()
        self.group.append((job, image))

    def video(self, job: Job) -> None:
        """Enhance one video (Ctrl-C stops everything: :class:`VideoInterrupted` goes up)."""
        on_frame = self.on_frame
        try:
            opts = self.video_options
            enhance_video(self.enhancer, job.source, job.target, temporal=opts.temporal,
                          crf=opts.crf, preset=opts.preset,
                          on_frame=None if on_frame is None else (lambda n, total: on_frame(job, n, total)))
            self.report.written.append(job.target)
        except EganError as exc:
            self.fail(job, str(exc))
        except Exception as exc:
            self.fail(job, f"'{job.source}': {first_line(exc)}")
        self.done()

    def flush(self) -> None:
        """Enhance the gathered batch in one forward pass and write each image."""
        if not self.group:
            return
        batch = [job for job, _ in self.group]
        arrays = [torch.from_numpy(a).permute(2, 0, 1) for _, a in self.group]
        self.group.clear()  # the inputs are freed as soon as the batch no longer needs them
        try:
            x = arrays[0][None] if len(arrays) == 1 else torch.stack(arrays)
            del arrays
            on_tile, first = self.on_tile, batch[0]
            tiles = None if on_tile is None else (lambda done, total: on_tile(first, done, total))
            out = self.enhancer.process(x, progress=tiles).permute(0, 2, 3, 1).numpy()
            del x
        except Exception as exc:  # whatever a stage raises fails its batch alone
            for job in batch:
                self.fail(job, f"'{job.source}': enhancement failed: {first_line(exc)}")
            self.done(len(batch))
            return
        for job, image in zip(batch, out, strict=True):
            try:
                self.report.written.append(write_image(job.target, to_uint8(image), job.fmt))
            except Exception as exc:
                self.fail(job, f"'{job.source}': cannot write '{job.target}': {first_line(exc)}")
            self.done()

    def fail(self, job: Job, reason: str) -> None:
        """Record ``job`` as failed and tell ``on_error``."""
        self.report.failed.append((str(job.source), reason))
        if self.on_error:
            self.on_error(str(job.source), reason)

    def done(self, n: int = 1) -> None:
        """Tell ``on_done`` that ``n`` more jobs finished."""
        if self.on_done:
            self.on_done(n)

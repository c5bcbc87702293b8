"""The enhancement entry points: :func:`load_enhancer` builds an
:class:`~egan_core.enhance.pipeline.Enhancer` from names, :func:`enhance_files` runs one
over files, folders and globs (what ``egan enhance`` does) and returns an
:class:`EnhanceReport`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from egan_core.devices import resolve_device
from egan_core.distributed import end_group, rank_and_world, start_group
from egan_core.enhance.files import Job, plan_jobs
from egan_core.enhance.pipeline import Enhancer
from egan_core.enhance.runner import Report, gather_reports, run_jobs, shard_plan
from egan_core.enhance.specs import parse_spec
from egan_core.errors import EganError, InputError, RecipeError, UsageError, folded, one_line
from egan_core.plugins import get_registries
from egan_core.progress import ProgressDisplay, RateColumn
from egan_core.registry import Registries
from egan_core.signature import accepted, check_options, check_type, parameters
from egan_core.video.enhance import VideoOptions, VideoReport
from egan_core.video.enhance import enhance_video as _enhance_video
from egan_core.video.io import DEFAULT_CRF, DEFAULT_PRESET
from egan_core.video.temporal import DEFAULT_TEMPORAL

#: Arguments of ``load_enhancer`` handed to every stage whose factory accepts them.
SHARED = ("checkpoint", "precision", "backend", "tile")


def load_enhancer(name: str | Sequence[str] = "gan", *, checkpoint: str | Path | None = None,
                  device: str | torch.device = "auto", precision: str = "auto", backend: str = "auto",
                  tile: int | None = None, strength: float = 1.0, recipe: str | None = None,
                  runs: str | Path = "runs", registries: Registries | None = None,
                  **options: Any) -> Enhancer:
    """Build a callable enhancer from one registered name or a chain of names.

    Args:
        name: a registered enhancer (``gan``, ``clahe``, ``denoise``, ...) or a list of
            them, applied in order. Each may carry its own options as
            ``NAME:KEY=VALUE,...`` (``"clahe:clip_limit=3,tiles=4"``; values read as YAML
            scalars), checked against that enhancer's signature; they win over the
            shared arguments below for that enhancer.
        checkpoint: generator weights for ``gan`` (egan checkpoint, original
            ``*_net_G_A.pth`` or ``.safetensors``); None = the shipped default model.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:N`` or a
            ``torch.device``.
        precision: ``auto`` (fastest path within 40 dB PSNR of fp32), ``fp32`` or ``bf16``.
        backend: how network stages run: ``auto`` (the fastest measured here), ``eager``,
            ``channels_last``, ``fused``, ``compile`` or ``onnxruntime``.
        tile: tile size of network stages; None = automatic, 0 = whole frame.
        strength: residual scale per stage, 0 (input) to 2; 1 = the stages' own output.
        recipe: use the latest checkpoint of this recipe's run instead of ``checkpoint``.
        runs: the folder holding runs (``egan run --out``), for ``recipe``.
        registries: where names are looked up (default: the installed plugins').
        **options: further factory arguments (``clip_limit=3.0``), given to every stage
            whose factory accepts them.

    Returns:
        An :class:`Enhancer`, callable on a PIL image, an HxWx3 uint8 array or an
        Nx3xHxW tensor in [0, 1].

    Raises:
        UsageError: conflicting or unused arguments, wrong types.
        UnknownNameError: an enhancer nobody registered.
        CheckpointError: unreadable checkpoint or one of an unknown architecture.
    """
    specs = [name] if isinstance(name, str) else list(name)
    if not specs:
        raise UsageError("no enhancer named; pass at least one name (e.g. 'gan')")
    parsed = [parse_spec(spec) for spec in specs]
    names = [n for n, _ in parsed]
    if recipe is not None:
        if checkpoint is not None:
            raise UsageError("give a checkpoint or a recipe, not both")
        from egan_core.model_loading import recipe_checkpoint

        checkpoint = recipe_checkpoint(recipe, runs)
    dev = resolve_device(device)
    given = {"checkpoint": None if checkpoint is None else str(checkpoint),
             "precision": precision, "backend": backend, "tile": tile, **options}
    registry = (registries or get_registries()).enhancers
    factories = [registry.get(n) for n in names]
    used: set[str] = set()
    overridden: dict[str, str] = {}
    stages = []
    for (stage_name, own), factory in zip(parsed, factories, strict=True):
        params, hints, _ = parameters(factory)
        try:
            own = check_options(factory, own, stage_name, f"enhancer '{stage_name}'",
                                injected=("device",))
        except RecipeError as exc:
            raise UsageError(str(exc)) from exc
        kwargs = {}
        for key, value in given.items():
            if key in own:
                overridden.setdefault(key, stage_name)
            elif key in params:
                kwargs[key] = _checked(value, hints.get(key), f"{stage_name}.{key}")
                used.add(key)
        kwargs.update(own)
        if "device" in params:
            kwargs["device"] = dev
        stages.append(factory(**kwargs))
    _check_used(names, factories, given, used, checkpoint is not None, tile is not None, overridden)
    return Enhancer(stages, names=names, strength=strength, device=dev)


def _checked(value: Any, hint: Any, key: str) -> Any:
    if hint is None or hint is torch.device:
        return value
    try:
        return check_type(value, hint, key)
    except RecipeError as exc:
        raise UsageError(str(exc)) from exc


def _check_used(names: list[str], factories: list[Any], given: dict[str, Any], used: set[str],
                has_checkpoint: bool, has_tile: bool, overridden: dict[str, str]) -> None:
    """Refuse arguments that no stage takes (a checkpoint for ``clahe``, a typo'd option)."""
    unused = [k for k in given if k not in used and (k not in SHARED
              or (k == "checkpoint" and has_checkpoint) or (k == "tile" and has_tile))]
    twice = [k for k in unused if k in overridden]
    if twice:
        key = twice[0]
        raise UsageError(f"{key} is given twice: as an argument (--{key}) and as "
                         f"'{overridden[key]}:{key}=...'; give it once")
    if unused:
        takes = sorted({p for f in factories for p in accepted(f)} - {"device"})
        raise UsageError(f"{', '.join(unused)} not accepted by enhancer(s) {', '.join(names)};"
                         f" they accept: {', '.join(takes) or '(nothing)'}")


@dataclass
class EnhanceReport(Report):
    """What :func:`enhance_files` did, over every rank under ``torchrun``.

    As :class:`~egan_core.enhance.runner.Report`: ``written`` (output files), ``failed``
    (``(input, reason)``), ``skipped`` (outputs kept) and ``errors`` (``(rank, reason)``
    of a rank that broke down as a whole). Besides: ``out``, the output folder; ``total``,
    the input files found; ``rank`` and ``world``, this process's place under ``torchrun``
    (rank 0 alone is meant to print the summary).
    """

    out: Path = field(default_factory=Path)
    total: int = 0
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """Whether this process prints the summary (rank 0, or the only process)."""
        return self.rank == 0

    @property
    def attempted(self) -> int:
        """Inputs enhanced or tried (not skipped)."""
        return self.total - len(self.skipped)

    def summary(self, total: int | None = None, missing: Sequence[str] = ()) -> str:
        """``"3 of 10 failed: a.png, b.png, c.png"`` (out of :attr:`total` by default)."""
        return super().summary(self.total if total is None else total, missing)


def enhance_files(inputs: str | Path | Sequence[str | Path], out: str | Path,
                  enhancer: str | Sequence[str] = "gan", *, checkpoint: str | Path | None = None,
                  recipe: str | None = None, runs: str | Path = "runs",
                  device: str | torch.device = "auto", precision: str = "auto",
                  backend: str = "auto", tile: int | None = None, strength: float = 1.0,
                  recursive: bool = False, fmt: str | None = None, suffix: str = "",
                  overwrite: bool = False, batch_size: int = 1,
                  progress: bool = False, video_format: str | None = None,
                  temporal: float = DEFAULT_TEMPORAL, crf: int = DEFAULT_CRF,
                  preset: str = DEFAULT_PRESET) -> EnhanceReport:
    """Enhance image and video files into ``out``, keeping their names (``egan enhance``).

    A file that cannot be read, enhanced or written fails alone: it is recorded in the
    report and every other file is still written. Existing outputs are kept (and listed
    as skipped) unless ``overwrite``.

    Under ``torchrun`` every rank takes every ``world``-th of the sorted inputs, written or
    not (so a rerun resumes), connects to the others before the work, and the report
    returned on every rank covers all of them; a rank that breaks down (its enhancer
    cannot be built) fails its inputs with the reason, so no rank waits for it.

    Args:
        inputs: files, folders (their images and videos; every level with ``recursive``)
            and glob patterns.
        out: the output folder; sub-folders of folder inputs are kept below it.
        enhancer, checkpoint, recipe, runs, device, precision, backend, tile, strength:
            what to run, as :func:`load_enhancer` takes them.
        fmt: output image format (a key of ``egan_core.enhance.io.FORMATS``); None keeps
            the input's (png for unusual formats).
        suffix: appended to each output's file stem.
        overwrite: replace existing outputs instead of skipping them.
        batch_size: same-size images per forward pass (video frames go one at a time).
        progress: show the run on stderr as it goes: a bar on a terminal (rank 0 only) with
            the frames, speed and time left of the video being enhanced, and one
            ``error: ...`` line per failed file, as it happens, on every rank.
        video_format: container of video outputs (``mp4``, ``mkv``, ``mov``, ``webm``,
            ``avi``); None keeps the input's where egan can write it, else mp4.
        temporal, crf, preset: how videos are written (see :func:`enhance_video`).

    Raises:
        UsageError: an input that names no file, folder or matching image; outputs that
            would collide or leave ``out``; arguments :func:`load_enhancer` refuses.
        UnknownNameError: an enhancer nobody registered.
        InputError: the inputs hold no image or video.
        CheckpointError: (not under ``torchrun``) the weights cannot be used.
        EganError: under ``torchrun``, another rank stopped before the summary.
    """
    if checkpoint is not None and recipe is not None:
        raise UsageError("give a checkpoint or a recipe, not both")
    given = [str(inputs)] if isinstance(inputs, (str, Path)) else [str(i) for i in inputs]
    video = VideoOptions(temporal, crf, preset)
    plan = plan_jobs(given, out, recursive=recursive, fmt=fmt, suffix=suffix,
                     overwrite=overwrite, video_format=video_format)
    if plan.missing:
        names = ", ".join(repr(name) for name in plan.missing)
        raise UsageError(f"{names}: no such file, folder or matching image")
    if not plan.jobs and not plan.skipped:
        raise InputError(f"no images or videos found in {', '.join(given)}")
    rank, world = rank_and_world()
    mine = shard_plan(plan)  # under torchrun: every world-th input, written or not
    report = Report(skipped=[job.target for job in mine.skipped])
    start_group()  # under torchrun: connect before the work, so a rank that dies is noticed
    try:
        if mine.jobs or world > 1:  # under torchrun every rank takes rank 0's choice of path
            stages = load_enhancer(enhancer, checkpoint=checkpoint, recipe=recipe, runs=runs,
                                   device=device, precision=precision, backend=backend,
                                   tile=tile, strength=strength)
        if mine.jobs:
            _run_shown(stages, mine.jobs, batch_size, report, show=progress, bar=rank == 0,
                       video=video)
    except Exception as exc:
        if world == 1:
            raise
        if isinstance(exc, EganError) and exc.exit_code == 2:
            end_group()  # every rank refuses the same arguments: nobody is left waiting
            raise
        _fail_rank(report, rank, exc, mine.jobs)
    merged = gather_reports(report)
    return EnhanceReport(written=merged.written, failed=merged.failed, skipped=merged.skipped,
                         errors=merged.errors, out=Path(out).resolve(),
                         total=len(plan.jobs) + len(plan.skipped), rank=rank, world=world)


def _run_shown(enhancer: Enhancer, jobs: Sequence[Job], batch_size: int, report: Report, *,
               show: bool, bar: bool, video: VideoOptions) -> None:
    """:func:`run_jobs` into ``report``; with ``show``, under a progress display (the bar
    only where ``bar``) that prints each failure as it happens and follows each video
    frame by frame (a line every few seconds where no bar is drawn)."""
    with ProgressDisplay(TextColumn("enhancing"), BarColumn(), MofNCompleteColumn(),
                         RateColumn("img"), TimeElapsedColumn(), TextColumn("{task.fields[video]}"),
                         total=len(jobs), enabled=show, bar=bar, video="") as display:

        def failed(_source: str, reason: str) -> None:
            display.print(f"error: {one_line(reason)}")

        run_jobs(enhancer, jobs, batch_size=batch_size, report=report,
                 on_done=display.advance, on_error=failed, video=video, on_frame=_PartProgress(display),
                 on_tile=_PartProgress(display, "tiles"))


class _PartProgress:
    """``clip.mp4 412/1500 frames 24.8 fps 0:00:43 left`` beside the bar while a video runs;
    ``big.png 12/96 tiles 0:03:10 left`` while a large image goes in tiles."""

    #: Seconds between plain lines where no bar is drawn.
    PLAIN_EVERY = 10.0

    def __init__(self, display: ProgressDisplay, unit: str = "frames") -> None:
        self.display = display
        self.unit = unit
        self.job: Job | None = None
        self.started = 0.0
        self.last_plain = 0.0

    def __call__(self, job: Job, done: int, total: int | None) -> None:
        now = time.monotonic()
        if job is not self.job or done == 1:
            self.job, self.started, self.last_plain = job, now - 1e-9, now
        fps = done / (now - self.started)
        text = f"{job.source.name} {done}/{total or '?'} {self.unit}"
        if self.unit == "frames":
            text += f" {fps:.1f} fps"
        if total and fps > 0 and done < total:
            text += f" {timedelta(seconds=round((total - done) / fps))} left"
        plain = None
        if now - self.last_plain >= self.PLAIN_EVERY:
            plain, self.last_plain = text, now
        self.display.update(video=text if total is None or done < total else "", plain=plain)


def _fail_rank(report: Report, rank: int, exc: Exception, jobs: Sequence[Job]) -> None:
    """Record that this rank broke down: its unfinished inputs fail with the reason, and
    it still hands in its report, so no other rank waits for it."""
    reason = folded(exc) if isinstance(exc, EganError) else repr(exc)
    report.errors.append((rank, reason))
    report.fail_unfinished(jobs, f"rank {rank} stopped: {reason}")


def enhance_video(source: str | Path, target: str | Path, enhancer: str | Sequence[str] | Enhancer = "gan",
                  *, temporal: float = DEFAULT_TEMPORAL, crf: int = DEFAULT_CRF,
                  preset: str = DEFAULT_PRESET, progress: bool = False, **load: Any) -> VideoReport:
    """Enhance one video file into ``target`` (its ending picks the container: mp4, mkv,
    mov, webm or avi), keeping the audio, timestamps and rotation.

    Args:
        source: any video FFmpeg reads.
        target: the output file; it appears only when complete.
        enhancer: an :class:`Enhancer`, or what :func:`load_enhancer` takes (its keyword
            arguments go in ``load``: ``checkpoint``, ``device``, ``strength``...).
        temporal: strength of the temporal stability passes in [0, 1) (0: every frame alone).
        crf: H.264 quality, lower is better (18: visually lossless).
        preset: x264 speed preset (``ultrafast`` by default, the fastest; ``medium`` makes smaller files).
        progress: show frames, speed and time left on stderr.

    Raises:
        InputError: ``source`` is not a video, or is damaged part way (the frames before
            the damage are kept in ``NAME.partial.EXT``; the message names it).
        UsageError: a bad option.
    """
    stages = enhancer if isinstance(enhancer, Enhancer) else load_enhancer(enhancer, **load)
    with ProgressDisplay(TextColumn(Path(source).name), BarColumn(), MofNCompleteColumn(),
                         RateColumn("frame"), TimeRemainingColumn(), enabled=progress) as display:
        return _enhance_video(stages, source, target, temporal=temporal, crf=crf, preset=preset,
                              on_frame=lambda done, total: display.update(completed=done, total=total))

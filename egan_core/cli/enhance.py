"""``egan enhance INPUT... --out DIR``: a thin layer over :mod:`egan_core.enhance`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.progress import ProgressColumn, Task
from rich.text import Text

from egan_core.enhance.io import FORMATS
from egan_core.enhance.runtime import BACKENDS
from egan_core.errors import EganError, InputError, UsageError


class _RateColumn(ProgressColumn):
    """Images per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- img/s" if speed is None else f"{speed:.2f} img/s")


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--checkpoint", type=click.Path(dir_okay=False),
              help="egan checkpoint, original *_net_G_A.pth or .safetensors weights.")
@click.option("--recipe", "recipe_path", help="Use the latest checkpoint of this recipe's run folder.")
@click.option("--enhancer", "enhancers", multiple=True, metavar="NAME[:KEY=VALUE,...]",
              help="Registered enhancer; repeat to chain in order. Options of its factory follow "
                   "a colon, values as YAML scalars: clahe:clip_limit=3,tiles=4, denoise:h=8.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="auto: bf16 only where the device runs it natively and it measures faster, "
                   "within 40 dB of fp32.")
@click.option("--backend", type=click.Choice(list(BACKENDS)), default="auto", show_default=True,
              help="How a network runs; auto: the fastest measured on this machine (cached; "
                   "see egan doctor). compile pays off on many same-size images only.")
@click.option("--tile", type=click.IntRange(min=0), default=None,
              help="Tile size in pixels (0 = whole frame; default: whole frame up to 1 MP, else 512).")
@click.option("--strength", type=click.FloatRange(0.0, 2.0), default=1.0, show_default=True,
              help="Scale the residual: 0 = input, 1 = model output, up to 2.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--recursive", "-r", is_flag=True, help="Also enhance images in sub-folders of folder inputs.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default=None,
              help="Output image format (default: the input's; png for unusual formats).")
@click.option("--suffix", default="", help="Appended to each output's file stem (e.g. _enh).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (default: skip them).")
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Same-size images (or video frames) per forward pass.")
@click.option("--runs", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="Folder holding runs (egan run --out), for --recipe.")
def enhance(inputs: tuple[str, ...], out: str, checkpoint: str | None, recipe_path: str | None,
            enhancers: tuple[str, ...], precision: str, backend: str, tile: int | None, strength: float,
            device: str, recursive: bool, fmt: str | None, suffix: str, overwrite: bool,
            batch_size: int, runs: str) -> None:
    """Enhance images and videos (files, folders or globs) into OUT, keeping their names.

    A file that cannot be read is reported by name and skipped; everything else is still
    written, and the exit status is 1 at the end.
    """
    from egan_core.distributed import rank_and_world, start_group
    from egan_core.enhance.api import load_enhancer
    from egan_core.enhance.files import plan_jobs
    from egan_core.enhance.runner import Report, gather_reports, shard_plan

    if checkpoint and recipe_path:
        raise UsageError("give --checkpoint or --recipe, not both")
    rank, world = rank_and_world()
    main = rank == 0
    plan = plan_jobs(list(inputs), out, recursive=recursive, fmt=fmt, suffix=suffix,
                     overwrite=overwrite)
    total = len(plan.jobs) + len(plan.skipped) + len(plan.missing)
    if not plan.jobs and not plan.skipped:
        raise InputError(f"no images or videos found in {', '.join(inputs)}")
    for given in plan.missing if main else ():
        click.echo(f"error: {one_line(repr(given))}: no such file, folder or matching image", err=True)
    mine = shard_plan(plan)  # under torchrun: every world-th input, written or not
    report = Report(skipped=[job.target for job in mine.skipped])
    if world == 1 and report.skipped:
        click.echo(f"skipping {len(report.skipped)} existing output(s) (use --overwrite to replace)")
    start_group()  # under torchrun: connect before the work, so a rank that dies is noticed
    try:
        if mine.jobs or world > 1:  # under torchrun every rank takes rank 0's choice of path
            enhancer = load_enhancer(list(enhancers) or "gan", checkpoint=checkpoint,
                                     recipe=recipe_path, runs=runs, device=device,
                                     precision=precision, backend=backend, tile=tile,
                                     strength=strength)
        if mine.jobs:
            _run_with_progress(enhancer, mine.jobs, batch_size, report, show=main)
    except Exception as exc:
        if world == 1:
            raise
        # this rank broke down; it still hands in its report, so no other rank waits for it
        reason = " ".join(str(exc).split()) if isinstance(exc, EganError) else repr(exc)
        report.errors.append((rank, reason))
        report.fail_unfinished(mine.jobs, f"rank {rank} stopped: {reason}")
    report = gather_reports(report)
    failed = len(plan.missing) + len(report.failed)
    if main:
        for line in report.rank_errors():
            click.echo(f"error: {one_line(line)}", err=True)
        if world > 1 and report.skipped:
            click.echo(f"skipped {len(report.skipped)} existing output(s) (use --overwrite to replace)")
        if plan.jobs:
            click.echo(f"wrote {len(report.written)} file(s) to {Path(out).resolve()}")
    if failed and not main:
        raise SystemExit(1)  # rank 0 alone prints the summary
    if failed:
        raise EganError(report.summary(total, plan.missing))


def one_line(text: str) -> str:
    """``text`` with line breaks escaped: file names may hold them, error lines must not."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _run_with_progress(enhancer: Any, jobs: list[Any], batch_size: int, report: Any,
                       show: bool = True) -> Any:
    """``run_jobs`` into ``report`` under one rich progress bar (only on a terminal, and
    only on rank 0 under torchrun)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from egan_core.enhance.runner import run_jobs

    console = Console(stderr=True)
    columns = (TextColumn("enhancing"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not (show and console.is_terminal)) as progress:
        task = progress.add_task("enhance", total=len(jobs))
        return run_jobs(enhancer, jobs, batch_size=batch_size, report=report,
                        on_done=lambda n: progress.advance(task, n),
                        on_error=lambda _src, why: console.print(
                            f"error: {one_line(why)}", markup=False, highlight=False,
                            soft_wrap=True))

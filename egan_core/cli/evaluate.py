"""``egan eval`` and ``egan compare``: thin layers over :mod:`egan_core.evaluate` and
:mod:`egan_core.compare`."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from egan_core.errors import EganError
from egan_core.evaluate import Failure


def _report_failures(failures: Sequence[Failure], summary: str) -> None:
    """Print each failure on stderr, then raise ``summary`` (exit 1) when there was any."""
    for f in failures:
        click.echo(f"error: {f.name}: {' '.join(f.reason.split())}", err=True)
    if failures:
        raise EganError(summary)


def _num(value: float, digits: int = 4) -> str:
    """A score for the terminal ('inf', 'n/a' for NaN)."""
    if math.isnan(value):
        return "n/a"
    return "inf" if math.isinf(value) else f"{value:.{digits}f}"


@click.command("eval")
@click.argument("dirs", nargs=-1, required=True, metavar="DIR...",
                type=click.Path(exists=True))
@click.option("--metric", "metrics", multiple=True,
              type=click.Choice(["niqe", "psnr", "ssim", "brightness", "flicker"]),
              required=True, help="Metric to compute; repeatable. brightness: mean pixel value in "
                                  "[0, 1]. flicker (videos only): temporal warping error, 0..255, "
                                  "lower is steadier. On a video, niqe and brightness are the mean "
                                  "over up to 16 evenly spaced frames; psnr/ssim take images only.")
@click.option("--reference", type=click.Path(exists=True, file_okay=False),
              help="Ground-truth folder for psnr/ssim; images are matched by file stem.")
@click.option("--source", type=click.Path(exists=True),
              help="The input videos for flicker: a video file, or a folder of videos matched by "
                   "file stem. The flow comes from them, and flicker_source (their own flicker) "
                   "and flicker_relative (flicker / flicker_source) are reported too.")
@click.option("--channel", type=click.Choice(["rgb", "y"]), default="rgb", show_default=True,
              help="psnr/ssim on all RGB channels or on the BT.601 Y (luma) channel. "
                   "NIQE always uses MATLAB rgb2gray.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"per_image": {file: {metric: value}}, "mean": {metric: value},'
                   ' "mean_per_input": {input: {metric: value}}}.')
def eval_command(dirs: tuple[str, ...], metrics: tuple[str, ...], reference: str | None,
                 source: str | None, channel: str, as_json: bool) -> None:
    """Score images with NIQE (no reference; lower is better), PSNR, SSIM or mean brightness.

    PSNR and SSIM are on 8-bit data (peak 255; identical images give PSNR inf, written
    Infinity in JSON); SSIM uses Wang et al.'s 11x11 Gaussian window (sigma 1.5). An
    image that cannot be scored is named on stderr and the others are still scored
    (exit status 1).

    DIR may also be a video or hold videos. Their flicker is the warping error of Lai et
    al. 2018: each frame against the previous one warped along the optical flow of the
    --source video (of the video itself without --source), over pixels visible in both,
    in 8-bit units.
    """
    from egan_core.evaluate import evaluate, is_video

    report = evaluate(dirs, metrics, reference=reference, channel=channel, source=source)
    videos = any(is_video(n) for n in [*report.per_image, *(f.name for f in report.failures)])
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        table = Table(title="egan eval")
        table.add_column("file" if videos else "image")
        for m in report.metrics:
            table.add_column(m, justify="right")
        for name, scores in report.per_image.items():
            table.add_row(name, *(_num(scores.get(m, math.nan)) for m in report.metrics))
        if len(report.inputs) > 1:
            names = [Path(given).name or given for given in report.inputs]
            short = len(set(names)) == len(names)  # folder names, unless two are alike
            for name, (given, mean) in zip(names, report.mean_per_input.items(), strict=True):
                if mean:
                    table.add_row(f"mean of {name if short else given}",
                                  *(_num(mean.get(m, math.nan)) for m in report.metrics),
                                  style="bold")
        if report.per_image:
            mean = report.mean
            label = "mean of all" if len(report.inputs) > 1 else "mean"
            table.add_row(label, *(_num(mean.get(m, math.nan)) for m in report.metrics),
                          style="bold")
        Console().print(table)
    total = len(report.per_image) + len(report.failures)
    _report_failures(report.failures, f"{len(report.failures)} of {total} "
                     f"{'files' if videos else 'images'} failed "
                     "(named above)")


@click.command()
@click.argument("input_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--enhancer", "enhancers", multiple=True, metavar="NAME[:KEY=VALUE,...]",
              help="A column: an enhancer (gan, clahe, denoise...; 'gan+denoise' chains) with "
                   "options after a colon, values as YAML scalars (clahe:clip_limit=3,tiles=4); "
                   "repeatable.")
@click.option("--checkpoint", "checkpoints", multiple=True,
              type=click.Path(exists=True, dir_okay=False),
              help="A column: the gan enhancer with this checkpoint; repeatable.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True)
def compare(input_dir: str, enhancers: tuple[str, ...], checkpoints: tuple[str, ...], out: str,
            device: str) -> None:
    """Run several enhancers on the same images: contact sheet, HTML page, NIQE table.

    Each --enhancer is a column, and so is each --checkpoint (the gan enhancer with it):
    `--enhancer clahe --checkpoint a.pt --checkpoint b.pt` compares clahe, gan:a and gan:b.
    A chain with a checkpoint of its own: --enhancer gan:checkpoint=a.pt+denoise.
    """
    from egan_core.compare import compare as run_compare

    result = run_compare(input_dir, enhancers, checkpoints, out, device=device)
    table = Table(title="NIQE (lower is better)")
    table.add_column("image")
    for col in result.columns:
        table.add_column(col, justify="right")
    for name in result.images:
        scores = result.niqe.get(name, {})
        table.add_row(name, *(_num(scores.get(c, math.nan)) for c in result.columns))
    if result.images:
        mean = result.mean()
        table.add_row("mean", *(_num(mean[c]) for c in result.columns), style="bold")
    console = Console()
    console.print(table)
    console.print(f"wrote {result.sheet}, {result.html} and {result.csv}")
    _report_failures(result.failures, f"{len(result.failures)} image(s) or output(s) failed "
                     "(named above)")

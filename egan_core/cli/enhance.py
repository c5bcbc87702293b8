"""``egan enhance INPUT... --out DIR``: a thin layer over :func:`egan_core.enhance.enhance_files`."""

from __future__ import annotations

import click

from egan_core.enhance.generator_runner import BACKENDS
from egan_core.enhance.io import FORMATS
from egan_core.errors import EganError, Stopped, UsageError, one_line
from egan_core.video.io import CONTAINERS, DEFAULT_CRF, DEFAULT_PRESET, PRESETS
from egan_core.video.temporal import DEFAULT_TEMPORAL

#: --video-format choices: the containers egan writes.
VIDEO_FORMATS = tuple(ext[1:] for ext in CONTAINERS)


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--checkpoint", type=click.Path(exists=True, dir_okay=False),
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
              help="Tile size in pixels (0 = whole frame; default: whole frame up to 1 MP, else 768).")
@click.option("--strength", type=click.FloatRange(0.0, 2.0), default=1.0, show_default=True,
              help="Scale the residual: 0 = input, 1 = model output, up to 2.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--recursive", "-r", is_flag=True, help="Also enhance images in sub-folders of folder inputs.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default=None,
              help="Output image format (default: the input's; png for unusual formats).")
@click.option("--suffix", default="", help="Appended to each output's file stem (e.g. _enh).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (default: skip them).")
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Same-size images per forward pass (video frames go one at a time).")
@click.option("--video-format", type=click.Choice(list(VIDEO_FORMATS)), default=None,
              help="Container of video outputs (default: the input's where egan writes it, "
                   "else mp4). H.264 in all but webm (VP9).")
@click.option("--temporal", type=click.FloatRange(0.0, 1.0, max_open=True), default=DEFAULT_TEMPORAL,
              show_default=True,
              help="Video: strength of the temporal stability passes (0 = every frame alone).")
@click.option("--crf", type=click.IntRange(0, 51), default=DEFAULT_CRF, show_default=True,
              help="Video quality: lower is better and bigger (18: visually lossless).")
@click.option("--preset", type=click.Choice(list(PRESETS)), default=DEFAULT_PRESET, show_default=True,
              help="Video encoder speed: slower presets make smaller files at the same quality.")
@click.option("--runs", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="Folder holding runs (egan run --out), for --recipe.")
def enhance(inputs: tuple[str, ...], out: str, checkpoint: str | None, recipe_path: str | None,
            enhancers: tuple[str, ...], precision: str, backend: str, tile: int | None, strength: float,
            device: str, recursive: bool, fmt: str | None, suffix: str, overwrite: bool,
            batch_size: int, video_format: str | None, temporal: float, crf: int, preset: str,
            runs: str) -> None:
    """Enhance images and videos (files, folders or globs) into OUT, keeping their names.

    A file that cannot be read is reported by name and skipped; everything else is still
    written, and the exit status is 1 at the end. An INPUT that names no file, folder or
    matching image is a usage error (exit status 2): nothing is done.

    Videos keep their audio, timestamps and rotation; a video damaged part way, or Ctrl-C
    (exit status 130), leaves its frames so far in NAME.partial.EXT.
    """
    from egan_core.enhance.api import enhance_files
    from egan_core.video.enhance import VideoInterrupted

    if checkpoint and recipe_path:
        raise UsageError("give --checkpoint or --recipe, not both")
    try:
        report = enhance_files(list(inputs), out, list(enhancers) or "gan", checkpoint=checkpoint,
                               recipe=recipe_path, runs=runs, device=device, precision=precision,
                               backend=backend, tile=tile, strength=strength, recursive=recursive,
                               fmt=fmt, suffix=suffix, overwrite=overwrite, batch_size=batch_size,
                               progress=True, video_format=video_format, temporal=temporal,
                               crf=crf, preset=preset)
    except VideoInterrupted as exc:
        raise Stopped(str(exc)) from exc
    if report.main:  # under torchrun rank 0 alone prints the summary
        for line in report.rank_errors():
            click.echo(f"error: {one_line(line)}", err=True)
        if report.skipped:
            verb = "skipping" if report.world == 1 else "skipped"
            click.echo(f"{verb} {len(report.skipped)} existing output(s) (use --overwrite to replace)")
        if report.attempted:
            click.echo(f"wrote {len(report.written)} file(s) to {report.out}")
    if report.failed:
        if not report.main:
            raise SystemExit(1)
        raise EganError(report.summary())

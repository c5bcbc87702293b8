"""``egan export``: a thin layer over :func:`egan_core.export.export_model`."""

from __future__ import annotations

import math

import click

from egan_core.errors import UsageError


@click.command()
@click.option("--checkpoint", type=click.Path(exists=True, dir_okay=False),
              help="egan checkpoint, original *_net_G_A.pth or .safetensors weights.")
@click.option("--recipe", "recipe_path", help="Export the latest checkpoint of this recipe's run.")
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript", "safetensors"]), required=True,
              help="onnx / torchscript: a runnable graph; safetensors: the generator's weights"
                   " alone, for sharing a trained model.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--shape", default=None, help="Fixed input size HxW instead of dynamic.")
@click.option("--runs", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="Folder holding runs (egan run --out), for --recipe.")
def export(checkpoint: str | None, recipe_path: str | None, fmt: str, out: str, shape: str | None,
           runs: str) -> None:
    """Export a generator to ONNX or TorchScript (input and output in [0, 1]).

    The written file is run on test images and compared with the PyTorch model; below
    40 dB PSNR the export is refused (exit 1) and no file is written. ``--format
    safetensors`` writes the generator's weights alone (a run's checkpoint also holds the
    discriminator and optimizer state), read back and checked identical.
    """
    from egan_core import export as exporting

    if checkpoint and recipe_path:
        raise UsageError("give --checkpoint or --recipe, not both")
    if fmt == "safetensors":
        if shape is not None:
            raise UsageError("--shape applies to onnx and torchscript graphs, not to a weights file")
        weights = exporting.export_weights(checkpoint, recipe_path, out, runs=runs)
        click.echo(f"wrote {weights.path} (safetensors, from {weights.checkpoint})")
        click.echo(f"holds: {weights.input_spec}; {weights.output_spec}")
        click.echo("verified: reads back identical to the checkpoint's generator")
        return
    size = exporting.parse_shape(shape) if shape is not None else None
    report = exporting.export_model(checkpoint, recipe_path, fmt, out, shape=size, runs=runs)
    checked = ", ".join(f"{n}x3x{h}x{w}" for n, h, w in report.checked)
    score = "identical" if math.isinf(report.psnr) else f"{report.psnr:.1f} dB PSNR"
    click.echo(f"wrote {report.path} ({report.format}, from {report.checkpoint})")
    click.echo(f"input:  {report.input_spec}")
    click.echo(f"output: {report.output_spec}")
    click.echo(f"verified: {score} against the PyTorch model in fp32 on {checked} "
               f"(minimum {exporting.MIN_PSNR:.0f} dB)")

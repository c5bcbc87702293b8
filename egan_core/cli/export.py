"""``egan export``."""

from __future__ import annotations

import click

from egan_core.errors import EganError


@click.command()
@click.option("--checkpoint", type=click.Path(dir_okay=False))
@click.option("--recipe", "recipe_path")
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript"]), required=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--shape", default=None, help="Fixed input size HxW instead of dynamic.")
def export(checkpoint: str | None, recipe_path: str | None, fmt: str, out: str, shape: str | None) -> None:
    """Export a generator to ONNX or TorchScript (input and output in [0, 1])."""
    raise EganError("egan export is not built yet (see issue #11)")

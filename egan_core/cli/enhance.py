"""``egan enhance INPUT... --out DIR``."""

from __future__ import annotations

import click

from egan_core.errors import EganError


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), help="egan checkpoint or original *_net_G_A.pth.")
@click.option("--recipe", "recipe_path", help="Use the latest checkpoint of this recipe's run folder.")
@click.option("--enhancer", "enhancers", multiple=True, help="Registered enhancer; repeat to chain in order.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True)
@click.option("--tile", type=int, default=None, help="Tile size in pixels (0 = whole frame).")
@click.option("--strength", type=float, default=1.0, show_default=True,
              help="Scale the residual: 0 = input, 1 = model output, up to 2.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
def enhance(inputs: tuple[str, ...], out: str, checkpoint: str | None, recipe_path: str | None,
            enhancers: tuple[str, ...], precision: str, tile: int | None, strength: float,
            device: str) -> None:
    """Enhance images (files, folders or globs) into OUT, keeping their names."""
    raise EganError("egan enhance is not built yet (see issue #5)")

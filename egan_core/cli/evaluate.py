"""``egan eval`` and ``egan compare``."""

from __future__ import annotations

import click

from egan_core.errors import EganError


@click.command("eval")
@click.argument("dirs", nargs=-1, required=True, metavar="DIR...")
@click.option("--metric", "metrics", multiple=True, type=click.Choice(["niqe", "psnr", "ssim"]),
              required=True, help="Metric to compute; repeatable.")
@click.option("--reference", type=click.Path(file_okay=False), help="Reference folder (psnr/ssim).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: per_image and mean.")
def eval_command(dirs: tuple[str, ...], metrics: tuple[str, ...], reference: str | None,
                 as_json: bool) -> None:
    """Score enhanced images with NIQE, PSNR or SSIM."""
    raise EganError("egan eval is not built yet (see issue #6)")


@click.command()
@click.argument("input_dir")
@click.option("--enhancer", "enhancers", multiple=True)
@click.option("--checkpoint", "checkpoints", multiple=True)
@click.option("--out", required=True)
def compare(input_dir: str, enhancers: tuple[str, ...], checkpoints: tuple[str, ...], out: str) -> None:
    """Run several enhancers on the same images and write a contact sheet."""
    raise EganError("egan compare is not built yet (see issue #6)")

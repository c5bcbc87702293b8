"""``egan data ...``: dataset tools (the work is done in :mod:`egan_core.exdark`)."""

from __future__ import annotations

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
from rich.table import Table

from egan_core.errors import InputError
from egan_core.exdark import CropSummary, crop_objects
from egan_core.progress import ProgressDisplay


@click.group()
def data() -> None:
    """Prepare training data."""


@data.command("crop-objects")
@click.argument("images", type=click.Path(exists=True, file_okay=False))
@click.option("--annotations", required=True, type=click.Path(exists=True),
              help="Folder of ExDark bbGt .txt files, one .txt file, or a COCO .json file.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Output root; crops go to OUT/train_A/<object>/ (or train_B).")
@click.option("--object", "objects", multiple=True,
              help="Object name or alias to crop (repeatable; default: every known object).")
@click.option("--margin", default=0.25, show_default=True, type=float,
              help="Context added on each side, as a fraction of the box size.")
@click.option("--min-size", default=64, show_default=True, type=int,
              help="Skip boxes whose shorter side is below this many pixels.")
@click.option("--split", type=click.Choice(["A", "B"]), default="A", show_default=True,
              help="Write to train_A (low light) or train_B (normal light).")
def crop_objects_command(images: str, annotations: str, out: str, objects: tuple[str, ...],
                         margin: float, min_size: int, split: str) -> None:
    """Build an object-context training tree from annotated IMAGES.

    Re-running skips crops that already exist.
    """
    console = Console()
    with ProgressDisplay(TextColumn("cropping"), BarColumn(), MofNCompleteColumn(),
                         console=console, transient=True) as progress:

        def advance(done: int, total: int) -> None:
            progress.update(completed=done, total=total)

        summary = crop_objects(images, annotations, out, objects, margin=margin,
                               min_size=min_size, split=split, on_image=advance)
    console.print(summary_table(summary, f"{out}/train_{split}", show_all=bool(objects)))
    for name in summary.missing:
        console.print(f"[yellow]no image found for annotation '{name}'[/]")
    if summary.unknown_labels:
        console.print("labels matching no object (ignored): "
                      + ", ".join(sorted(summary.unknown_labels)))
    for path, reason in summary.failed:
        click.echo(f"error: cannot read image '{path}': {reason}", err=True)
    if summary.failed:
        raise InputError(f"{len(summary.failed)} image(s) could not be read (listed above);"
                         " the other crops were written")


def summary_table(summary: CropSummary, where: str, show_all: bool = False) -> Table:
    """Crops per object: written, skipped (already there) and too small.

    Objects with nothing to report are left out unless ``show_all``.
    """
    table = Table(title=f"object crops in {where}",
                  caption=f"{summary.images} annotated images")
    for column in ("object", "written", "skipped", "too small"):
        table.add_column(column, justify="left" if column == "object" else "right")
    total = [0, 0, 0]
    for name, c in sorted(summary.counts.items()):
        if show_all or c.written or c.skipped or c.small:
            table.add_row(name, str(c.written), str(c.skipped), str(c.small))
            total = [total[0] + c.written, total[1] + c.skipped, total[2] + c.small]
    table.add_row("total", *map(str, total), style="bold")
    return table

"""``egan data ...``: dataset tools."""

from __future__ import annotations

import click

from egan_core.errors import EganError


@click.group()
def data() -> None:
    """Prepare training data."""


@data.command("crop-objects")
@click.argument("images")
@click.option("--annotations", required=True)
@click.option("--out", required=True)
@click.option("--object", "objects", multiple=True)
def crop_objects(images: str, annotations: str, out: str, objects: tuple[str, ...]) -> None:
    """Build an object-context training tree from annotated images."""
    raise EganError("egan data crop-objects is not built yet (see issue #3)")

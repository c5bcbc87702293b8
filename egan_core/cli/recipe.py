"""``egan recipe show|list|keys``: inspect recipes without training."""

from __future__ import annotations

import click

from egan_core.recipe import KEY_DOCS, load_recipe, packaged_recipes

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
    help="Override a recipe key (value parsed as YAML); repeatable.",
)


@click.group()
def recipe() -> None:
    """Inspect recipes."""


@recipe.command()
@click.argument("path")
@set_option
def show(path: str, overrides: tuple[str, ...]) -> None:
    """Print the resolved recipe (every default filled in, every name checked)."""
    click.echo(load_recipe(path, list(overrides)).to_yaml(), nl=False)


@recipe.command("list")
def list_recipes() -> None:
    """List the recipes shipped with egan (usable as recipes/NAME from anywhere)."""
    for name in packaged_recipes():
        click.echo(f"recipes/{name}")


@recipe.command()
def keys() -> None:
    """Document the fixed recipe keys and their meaning."""
    for key, doc in KEY_DOCS.items():
        click.echo(f"{key:28s} {doc}")

"""``egan run RECIPE``: train."""

from __future__ import annotations

import click

from egan_core.cli.recipe import set_option


@click.command()
@click.argument("recipe_path", metavar="RECIPE")
@set_option
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="Parent folder; the run goes to OUT/<name>/.")
@click.option("--resume", is_flag=True, help="Continue exactly from the latest checkpoint in the run folder.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; one log line per log_every steps.")
def run(recipe_path: str, overrides: tuple[str, ...], out: str, resume: bool, device: str,
        quiet: bool) -> None:
    """Train the recipe RECIPE (a path, or recipes/NAME.yaml from the installed configs)."""
    from egan_core.training.trainer import train

    run_dir, metrics = train(recipe_path, overrides=list(overrides), out=out, resume=resume,
                             device=device, quiet=quiet)
    click.echo(f"run finished: outputs in {run_dir}")

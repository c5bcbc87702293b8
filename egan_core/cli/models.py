"""``egan models``: the models the installed distributions ship, as a table, a card or JSON.

The records come from the ``models`` registry, which each distribution fills through its
``egan_register`` hook, so a plugin's models are listed beside egan's own.
"""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from egan_core.plugins import get_registries
from egan_core.registry import Registry
from egan_core.weights import TABLE_COLUMNS, WeightsRecord, card_markdown, record_dict, table_row


def _find(models: Registry, name: str) -> WeightsRecord:
    """The model ``name``, or the one the enhancer ``name`` runs (``gan`` finds ``default``).

    Raises:
        UnknownNameError: neither (exit status 2), naming the known models.
    """
    if name not in models:
        for entry in models:
            if entry.factory.enhancer == name:
                return entry.factory
    return models.get(name)


@click.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True,
              help="Print the records as JSON (a list; files relative to their package).")
def models(name: str | None, as_json: bool) -> None:
    """List the shipped models: method, speed on which CPU, quality by which protocol, licence.

    With NAME (a model, or the enhancer that runs it) print that model's card in Markdown,
    rendered on a terminal and as plain Markdown into a pipe or file.
    """
    registry = get_registries().models
    if name is not None:
        chosen = [_find(registry, name)]
    else:
        chosen = [entry.factory for entry in registry]
    if as_json:
        out = [{**record_dict(r), "provided_by": registry.entry(r.name).provider} for r in chosen]
        click.echo(json.dumps(out, indent=2))
        return
    console = Console()
    if name is not None:
        card = card_markdown(chosen[0])
        if console.is_terminal:
            console.print(Markdown(card))
        else:
            click.echo(card, nl=False)
        return
    table = Table(title="egan models (egan models NAME: its card)")
    for column in TABLE_COLUMNS:  # names stay whole; long words fold rather than lose letters
        table.add_column(column, no_wrap=column in ("model", "enhancer"), overflow="fold")
    for record in chosen:
        table.add_row(*table_row(record))
    console.print(table)

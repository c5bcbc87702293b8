"""``egan plugins``: what is installed, who provides it, what is broken."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from egan_core.plugins import get_plugin_manager


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def plugins(as_json: bool) -> None:
    """List every registered component with its distribution, and broken plugins."""
    pm = get_plugin_manager()
    if as_json:
        out = {
            "registries": {
                reg.kind: {e.name: e.provider for e in reg} for reg in pm.registries
            },
            "plugins": [
                {"name": p.name, "dist": p.dist, "version": p.version, "module": p.module,
                 "error": p.error, "provides": {k: v for k, v in p.provides.items() if v}}
                for p in pm.plugins
            ],
        }
        click.echo(json.dumps(out, indent=2))
        return
    console = Console()
    table = Table(title="egan components")
    table.add_column("kind")
    table.add_column("name")
    table.add_column("provided by")
    for reg in pm.registries:
        for entry in reg:
            table.add_row(reg.kind, entry.name, entry.provider)
    console.print(table)
    broken = [p for p in pm.plugins if p.error]
    if broken:
        bt = Table(title="broken plugins")
        bt.add_column("plugin")
        bt.add_column("distribution")
        bt.add_column("error")
        for p in broken:
            bt.add_row(p.name, p.dist, p.error)
        console.print(bt)

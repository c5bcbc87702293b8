"""The ``egan`` group and its error handling."""

from __future__ import annotations

import importlib
import os
import traceback
from typing import Any

import click

from egan_core.errors import EganError, folded

#: subcommand module -> attribute; each module owns one command (or group).
COMMANDS = {
    "run": "egan_core.cli.run:run",
    "enhance": "egan_core.cli.enhance:enhance",
    "eval": "egan_core.cli.evaluate:eval_command",
    "compare": "egan_core.cli.evaluate:compare",
    "export": "egan_core.cli.export:export",
    "models": "egan_core.cli.models:models",
    "plugins": "egan_core.cli.plugins:plugins",
    "recipe": "egan_core.cli.recipe:recipe",
    "data": "egan_core.cli.data:data",
    "demo": "egan_core.cli.demo:demo",
    "doctor": "egan_core.cli.doctor:doctor",
}

#: one-line help of each subcommand for ``egan --help``, which then imports none of them
#: (they pull in torch); tests keep it equal to each command's own first docstring line.
SUMMARIES = {
    "compare": "Run several enhancers on the same images: contact sheet, HTML page, NIQE table.",
    "data": "Prepare training data.",
    "demo": "Try every enhancer on your own photos in the browser (a local web app).",
    "doctor": "Show this machine's CPU features, torch build and what auto resolves to (for bug reports).",
    "enhance": "Enhance images and videos (files, folders or globs) into OUT, keeping their names.",
    "eval": "Score images with NIQE (no reference; lower is better), PSNR, SSIM or mean brightness.",
    "export": "Export a generator to ONNX or TorchScript (input and output in [0, 1]).",
    "models": "List the shipped models: method, speed on which CPU, quality by which protocol, licence.",
    "plugins": "List every registered component with its distribution, and broken plugins.",
    "recipe": "Inspect recipes.",
    "run": "Train the recipe RECIPE (a path, or recipes/NAME.yaml from the installed configs).",
}


def debugging() -> bool:
    """Whether ``EGAN_DEBUG`` asks for full tracebacks (with their causes) on errors."""
    return os.environ.get("EGAN_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to fit ``limit`` characters, with "..." when cut."""
    if len(text) <= limit:
        return text
    words = text.split()
    while words and len(" ".join(words)) + 3 > limit:
        words.pop()
    return " ".join(words).rstrip(",;:") + "..."


class EganCliError(click.ClickException):
    """A ClickException carrying the EganError's exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class EganGroup(click.Group):
    """Loads subcommands lazily and converts egan's typed errors at the CLI edge."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))  # as click's own listing
        with formatter.section("Commands"):
            formatter.write_dl([(n, _shorten(SUMMARIES[n], limit)) for n in names])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EganError as exc:  # one line; the whole chain only when asked for
            if debugging():
                traceback.print_exception(exc)
            raise EganCliError(folded(exc), exc.exit_code) from exc


@click.group(cls=EganGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="egan")
def cli() -> None:
    """egan: train and run low-light image enhancement GANs (EnlightenGAN and plugins)."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="egan")

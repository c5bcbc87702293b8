"""The ``egan`` command line: a thin layer over the Python API.

Each subcommand lives in its own module; this package only assembles them and turns
:class:`~egan_core.EganError` into one-line messages with the documented exit codes.
"""

from __future__ import annotations

from egan_core.cli.main import cli, main

__all__ = ["cli", "main"]

"""Typed errors shared by the Python API and the CLI.

Every error a user can cause is an :class:`EganError`; the CLI prints ``str(err)`` as one
line and exits 1 (or 2 for :class:`UsageError`), never a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class EganError(Exception):
    """Base class of every error egan raises on purpose."""

    exit_code = 1


class UsageError(EganError):
    """The command line or API call itself is wrong (exit status 2)."""

    exit_code = 2


class UnknownNameError(EganError, LookupError):
    """A registry lookup of a name nobody registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str], hint: str = "") -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        guess = f"; did you mean '{close[0]}'?" if close else ";"
        listing = ", ".join(known) if known else "(none)"
        msg = f"unknown {kind} '{name}'{guess} known: {listing}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)
        self.kind, self.name, self.known, self.suggestion = kind, name, known, close
        self.hint = hint

    def __reduce__(self) -> tuple[type, tuple[str, str, list[str], str]]:
        # picklable, so it survives DataLoader workers and multiprocessing
        return (type(self), (self.kind, self.name, self.known, self.hint))


class DuplicateNameError(EganError, ValueError):
    """A second registration of a name already taken."""


class RecipeError(EganError, ValueError):
    """A recipe key, type or value is wrong."""


class PluginError(EganError):
    """A plugin failed to import or register."""


class CheckpointError(EganError):
    """A checkpoint is missing, corrupt, unsafe or for another architecture."""


class InputError(EganError):
    """An input file is missing, unreadable or not an image."""


class TrainingError(EganError):
    """Training stopped on purpose (non-finite loss and the like)."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first non-blank line of ``exc``'s message (at most ``limit`` characters), or its
    type name: library errors run to many lines, egan's messages are one."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:limit] if lines else type(exc).__name__

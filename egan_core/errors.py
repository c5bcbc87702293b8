"""Typed errors shared by the Python API and the CLI.

Every error a user can cause is an :class:`EganError`; the CLI prints ``str(err)`` as one
line, ``error: ...``, never a traceback, and exits with the error's ``exit_code``. One rule
holds for every command:

- **2**: what the user typed is wrong, on the command line or in the recipe, and is to be
  fixed there: an unknown command, option, recipe key or component name, a wrong option
  or recipe value, a path argument that does not exist (a recipe, an input, a
  ``--checkpoint``). These are :class:`UsageError`, :class:`UnknownNameError` and
  :class:`RecipeError` (and click's own usage errors).
- **1**: what was asked for is understood, but the inputs or the work failed: an
  unreadable image, a ``--checkpoint`` that is corrupt, refused or for another
  architecture, a full disk (every other :class:`EganError`; ``egan enhance`` and ``egan
  eval`` still do the rest first). A :class:`RecipeError` raised ``from`` one of these (a
  corrupt ``model.generator.init`` checkpoint) keeps its status.

Training stopped by a signal exits 130 (Ctrl-C) or 143 (SIGTERM) after saving.
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
    """A registry lookup of a name nobody registered (exit status 2: a name to fix)."""

    exit_code = 2

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
    """A recipe file, key, type or value is wrong (exit status 2: the recipe is to fix).

    Raised ``from`` another egan error (a checkpoint named by the recipe that cannot be
    read), it exits with that error's status instead: the input failed, not the recipe.
    """

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        """2, or the status of the egan error this one was raised from."""
        cause = self.__cause__
        return cause.exit_code if isinstance(cause, EganError) else 2


class PluginError(EganError):
    """A plugin failed to import or register."""


class CheckpointError(EganError):
    """A checkpoint is missing, corrupt, unsafe or for another architecture."""


class InputError(EganError):
    """An input file is missing, unreadable or not an image."""


class Stopped(EganError):
    """Ctrl-C during work that says what it kept (exit status 130, as for SIGINT)."""

    exit_code = 130


class TrainingError(EganError):
    """Training stopped on purpose (non-finite loss and the like)."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first non-blank line of ``exc``'s message (at most ``limit`` characters), or its
    type name: library errors run to many lines, egan's messages are one."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:limit] if lines else type(exc).__name__


def one_line(text: str) -> str:
    """``text`` with line breaks escaped: file names may hold them, error lines must not."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def folded(exc: BaseException | str, limit: int | None = None) -> str:
    """The whole message of ``exc`` on one line, runs of white space folded to one space (at
    most ``limit`` characters): for errors whose detail spans lines, such as a state dict's
    missing keys, where :func:`first_line` would drop the detail."""
    text = " ".join(str(exc).split())
    return text if limit is None else text[:limit]

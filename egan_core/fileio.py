"""Atomic file writes: a file appears whole under its name, or not at all.

Every output egan writes (checkpoints, images, logs, videos, exports, caches) goes through
:func:`atomic_write`, so a crash, a kill or a full disk never leaves half a file behind a
name that readers trust.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from egan_core.errors import CheckpointError


def atomic_write(path: str | Path, write: Callable[[str], Any], *, suffix: str = "") -> Path:
    """Write a file via ``write(tmp_path)`` then rename, so a crash never leaves half a file.

    The temporary file sits in the target's folder (so the rename is atomic); if ``write``
    raises, it is removed and a previous file at ``path`` is left untouched. ``suffix`` is
    appended to the temporary name, for writers that pick the format by extension.

    Raises:
        CheckpointError: the folder is not writable or the disk is full.
    """
    path = Path(path)
    tmp = str(temporary_beside(path, suffix))
    try:
        write(tmp)
        publish(tmp, path, sync_folder=False)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        # writers wrap a failed write (disk full, file too large) in their own errors:
        # torch.save raises RuntimeError with the OSError as its context
        cause = os_error_of(exc)
        if cause is not None:
            raise CheckpointError(_write_error(path, cause)) from exc
        raise
    _fsync_dir(path.parent)
    return path


def save_image(path: str | Path, image: Image.Image, format: str = "PNG", **options: Any) -> Path:
    """Write a PIL image atomically (PNG unless ``format`` says otherwise; ``options`` go
    to PIL's writer, e.g. ``quality`` or ``compress_level``)."""
    return atomic_write(path, lambda tmp: image.save(tmp, format=format, **options))


def os_error_of(exc: BaseException) -> OSError | None:
    """``exc`` itself or the OSError behind it (its ``__cause__``/``__context__`` chain)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _write_error(path: Path, exc: OSError) -> str:
    return f"cannot write '{path}': {exc.strerror or exc}; check free disk space and permissions"


def temporary_beside(path: str | Path, suffix: str = "") -> Path:
    """A new empty hidden file in ``path``'s folder (made if missing), to write ``path``
    under before :func:`publish` renames it; ``suffix`` ends its name (writers that pick
    the format by extension).

    Raises:
        CheckpointError: the folder cannot be made or written to.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise CheckpointError(_write_error(path, exc)) from exc
    return Path(tmp)


def publish(tmp: str | Path, path: str | Path, *, sync_folder: bool = True) -> Path:
    """Move a finished temporary file (from ``mkstemp``, in ``path``'s folder) to ``path``:
    flushed to disk, given the mode a plain ``open()`` would (or ``path``'s own), renamed
    in one step."""
    path = Path(path)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    # mkstemp makes the file private (0600); give it the mode a plain open() would
    os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
    os.replace(tmp, path)
    if sync_folder:
        _fsync_dir(path.parent)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

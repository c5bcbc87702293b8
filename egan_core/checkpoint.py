"""Checkpoint I/O: atomic writes, safe (weights-only) reads."""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from egan_core.errors import CheckpointError

FORMAT = "egan"
VERSION = 1


def atomic_write(path: str | Path, write: Any) -> Path:
    """Write a file via ``write(tmp_path)`` then rename, so a crash never leaves half a file.

    Raises:
        CheckpointError: the folder is not writable or the disk is full.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise CheckpointError(f"cannot write '{path}': {exc.strerror or exc}; check the folder's permissions and free space") from None
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CheckpointError(f"cannot write '{path}': {exc.strerror or exc}; check free disk space and permissions") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Save an egan checkpoint dict atomically (``format``/``version`` keys added)."""
    data = {"format": FORMAT, "version": VERSION, **payload}
    return atomic_write(path, lambda tmp: torch.save(data, tmp))


def load_file(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a ``.pth``/``.pt`` or ``.safetensors`` file without running any code in it.

    Raises:
        CheckpointError: missing, truncated or corrupt, or carrying pickled code.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist; check the path")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file as load_st

        try:
            return load_st(str(path), device=str(map_location))
        except Exception as exc:
            raise CheckpointError(f"checkpoint '{path}' is not a readable safetensors file ({exc})") from None
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"checkpoint '{path}' was refused: it holds more than weights (code or objects "
            f"that would run on load: {text[:160]}); only weights-only checkpoints are loaded"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
        raise CheckpointError(f"checkpoint '{path}' is truncated or corrupt ({first}); use another copy") from None


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load an egan checkpoint dict (as written by :func:`save_checkpoint`)."""
    data = load_file(path, map_location)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"'{path}' is not an egan checkpoint (no format marker)")
    return data

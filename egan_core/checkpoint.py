"""Checkpoint I/O: atomic writes, safe (weights-only) reads."""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from egan_core.errors import CheckpointError, first_line

FORMAT = "egan"
VERSION = 1


def atomic_write(path: str | Path, write: Callable[[str], Any]) -> Path:
    """Write a file via ``write(tmp_path)`` then rename, so a crash never leaves half a file.

    The temporary file sits in the target's folder (so the rename is atomic); if ``write``
    raises, it is removed and a previous file at ``path`` is left untouched.

    Raises:
        CheckpointError: the folder is not writable or the disk is full.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise CheckpointError(_write_error(path, exc)) from None
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        # writers wrap a failed write (disk full, file too large) in their own errors:
        # torch.save raises RuntimeError with the OSError as its context
        cause = _os_error(exc)
        if cause is not None:
            raise CheckpointError(_write_error(path, cause)) from None
        raise
    _fsync_dir(path.parent)
    return path


def _os_error(exc: BaseException) -> OSError | None:
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


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Save an egan checkpoint dict atomically (``format``/``version`` keys added)."""
    data = {"format": FORMAT, "version": VERSION, **payload}

    def write(tmp: str) -> None:
        # through a Python file object, so a failed write (disk full) surfaces as an
        # OSError in the chain instead of an opaque error of torch's own file writer
        with open(tmp, "wb") as fh:
            torch.save(data, fh)

    return atomic_write(path, write)


def save_safetensors(path: str | Path, tensors: Mapping[str, torch.Tensor]) -> Path:
    """Save a flat ``{name: tensor}`` map as ``.safetensors``, atomically."""
    from safetensors.torch import save_file

    flat = {k: v.detach().contiguous() for k, v in tensors.items()}
    return atomic_write(path, lambda tmp: save_file(flat, tmp))


def load_file(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a ``.pth``/``.pt`` or ``.safetensors`` file without running any code in it.

    Raises:
        CheckpointError: missing, truncated or corrupt, or carrying pickled code.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint '{path}' does not exist; check the path")
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' is not a file; give the checkpoint file itself")
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file as load_st

        try:
            return load_st(str(path), device=str(map_location))
        except Exception as exc:
            raise CheckpointError(
                f"checkpoint '{path}' is not a readable safetensors file ({first_line(exc)})"
            ) from None
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols it did not write; the file is refused or
            # read all the same, and the warning would break the one-line error
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(_refusal(path, str(exc))) from None
    except PermissionError as exc:
        raise CheckpointError(f"cannot read checkpoint '{path}': {exc.strerror}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(
            f"checkpoint '{path}' is truncated or corrupt ({first_line(exc)}); use another copy"
        ) from None
    except Exception as exc:  # garbage bytes trip torch's reader in many ways (struct.error...)
        raise CheckpointError(
            f"checkpoint '{path}' is truncated or corrupt ({type(exc).__name__}: {first_line(exc)});"
            " use another copy"
        ) from None


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _refusal(path: Path, message: str) -> str:
    """One line for torch's weights-only refusal (its own text advises weights_only=False)."""
    found = _GLOBAL.search(message)
    if found:
        return (
            f"checkpoint '{path}' was refused: loading it would import '{found.group(1)}'"
            " (code or objects, not weights); only weights-only checkpoints are loaded"
        )
    return (
        f"checkpoint '{path}' is not a weights-only PyTorch file (corrupt, not a checkpoint,"
        " or a pickle of code or objects); use a checkpoint saved by egan or torch.save"
    )



def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load an egan checkpoint dict (as written by :func:`save_checkpoint`)."""
    data = load_file(path, map_location)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"'{path}' is not an egan checkpoint (no format marker)")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"checkpoint '{path}' has format version {version!r}; this egan reads up to"
            f" {VERSION}: upgrade egan"
        )
    return data


def describe_mismatch(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor],
                      shown: int = 3) -> str:
    """How the state dict ``found`` fails to fit ``expected``, in one line ('' when it fits).

    One wording for every "these weights are not this model's" error: missing and
    unexpected keys, then keys whose shapes differ (at most ``shown`` of each, plus a count).
    """
    def listed(items: list[str]) -> str:
        more = f" (+{len(items) - shown} more)" if len(items) > shown else ""
        return ", ".join(items[:shown]) + more

    problems = []
    for label, keys in (("missing keys", [k for k in expected if k not in found]),
                        ("unexpected keys", [k for k in found if k not in expected])):
        if keys:
            problems.append(f"{label} {listed(keys)}")
    wrong = [f"{k} {list(found[k].shape)} (expected {list(v.shape)})"
             for k, v in expected.items() if k in found and found[k].shape != v.shape]
    if wrong:
        problems.append(f"wrong shapes {listed(wrong)}")
    return "; ".join(problems)

"""Checkpoint I/O and the schema of a stored network: atomic writes, safe (weights-only) reads.

An egan checkpoint is a ``torch.save`` dict carrying ``format`` (:data:`FORMAT`) and
``version`` (:data:`VERSION`) beside its payload. A network in it is a :class:`ModelState`
(``{"name", "kwargs", "state_dict"}``), read by inference (``egan_core.model_loading``) and
training alike; what a training run stores besides is described by
:class:`egan_core.training.state.TrainingState`. A ``.safetensors`` file of generator
weights names its generator and kwargs in its metadata (:func:`generator_metadata`).
"""

from __future__ import annotations

import json
import pickle
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from egan_core.errors import CheckpointError, first_line
from egan_core.fileio import atomic_write

__all__ = ["FORMAT", "META_GENERATOR", "META_KWARGS", "MISFIT", "VERSION", "ModelState", "PayloadError",
           "describe_mismatch", "generator_metadata", "load_checkpoint", "load_file", "save_checkpoint",
           "save_safetensors"]

#: The ``format`` marker every egan checkpoint carries.
FORMAT = "egan"
#: The newest payload layout this egan writes and reads (older ones are read too).
VERSION = 1
#: safetensors metadata keys: the registered generator a weights file belongs to, and its
#: constructor kwargs as a JSON object.
META_GENERATOR = "name"
META_KWARGS = "kwargs"

#: Errors a checkpoint that does not fit the recipe raises while it is read or applied.
MISFIT = (KeyError, TypeError, RuntimeError, ValueError, AttributeError, IndexError)


class PayloadError(CheckpointError, ValueError):
    """A checkpoint's payload lacks a part the schema requires, or holds it in the wrong shape."""


@dataclass
class ModelState:
    """A network as a checkpoint stores it: registered name, constructor kwargs, weights."""

    name: Any
    kwargs: Mapping[str, Any]
    state_dict: Any

    def to_payload(self) -> dict[str, Any]:
        """The ``{"name", "kwargs", "state_dict"}`` dict stored in the checkpoint."""
        return {"name": self.name, "kwargs": self.kwargs, "state_dict": self.state_dict}

    @classmethod
    def from_payload(cls, spec: Any, role: str = "generator", *, where: str = "checkpoint",
                     weights_only: bool = False) -> ModelState:
        """Read a stored network; untrusted, so its shape is checked before anything uses it.

        ``weights_only`` (resume): the recipe rebuilds the network, so only ``state_dict``
        is required. ``where`` starts the error messages.

        Raises:
            PayloadError: no weights, or kwargs that are not a name-to-value mapping.
        """
        required = {"state_dict"} if weights_only else {"name", "state_dict"}
        if not isinstance(spec, Mapping) or not required <= set(spec):
            raise PayloadError(f"{where} holds no {role} weights")
        kwargs = spec.get("kwargs") or {}
        if not weights_only and (not isinstance(kwargs, Mapping)
                                 or not all(isinstance(k, str) for k in kwargs)):
            raise PayloadError(f"{where}: {role} kwargs must map names to values")
        return cls(spec.get("name"), dict(kwargs) if isinstance(kwargs, Mapping) else {},
                   spec["state_dict"])


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Save an egan checkpoint dict atomically (``format``/``version`` keys added)."""
    data = {"format": FORMAT, "version": VERSION, **payload}

    def write(tmp: str) -> None:
        # through a Python file object, so a failed write (disk full) surfaces as an
        # OSError in the chain instead of an opaque error of torch's own file writer
        with open(tmp, "wb") as fh:
            torch.save(data, fh)

    return atomic_write(path, write)


def save_safetensors(path: str | Path, tensors: Mapping[str, torch.Tensor],
                     metadata: Mapping[str, str] | None = None) -> Path:
    """Save a flat ``{name: tensor}`` map as ``.safetensors``, atomically, with string
    ``metadata`` in its header (:func:`generator_metadata` makes the part loaders read)."""
    from safetensors.torch import save_file

    flat = {k: v.detach().contiguous() for k, v in tensors.items()}
    meta = None if metadata is None else {str(k): str(v) for k, v in metadata.items()}
    return atomic_write(path, lambda tmp: save_file(flat, tmp, metadata=meta))


def generator_metadata(name: str, kwargs: Mapping[str, Any]) -> dict[str, str]:
    """The safetensors metadata naming a weights file's generator and its kwargs, so
    ``egan_core.model_loading.load_generator`` rebuilds it without any code from the file."""
    return {META_GENERATOR: name, META_KWARGS: json.dumps(dict(kwargs))}


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
            ) from exc
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols it did not write; the file is refused or
            # read all the same, and the warning would break the one-line error
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(_refusal(path, str(exc))) from exc
    except PermissionError as exc:
        raise CheckpointError(f"cannot read checkpoint '{path}': {exc.strerror}") from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(
            f"checkpoint '{path}' is truncated or corrupt ({first_line(exc)}); use another copy"
        ) from exc
    except Exception as exc:  # garbage bytes trip torch's reader in many ways (struct.error...)
        raise CheckpointError(
            f"checkpoint '{path}' is truncated or corrupt ({type(exc).__name__}: {first_line(exc)});"
            " use another copy"
        ) from exc


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

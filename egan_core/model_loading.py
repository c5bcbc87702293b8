"""Load a generator for inference from any checkpoint egan understands.

Three kinds of file are recognised, all read without running code
(:func:`egan_core.checkpoint.load_file`):

- an egan checkpoint (``{"format": "egan", "generator": {"name", "kwargs",
  "state_dict"}, ...}``, see :class:`egan_core.checkpoint.ModelState`), built through
  the generators registry;
- an original-format state dict (EnlightenGAN ``*_net_G_A.pth``): every registered
  generator class offering ``from_foreign_state_dict`` is tried in name order;
- a ``.safetensors`` file of generator weights; its metadata may name the generator
  (``"name"``) and its kwargs (``"kwargs"``, JSON; see
  :func:`egan_core.checkpoint.generator_metadata`); default ``attention_unet``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from egan_core.checkpoint import (
    FORMAT,
    META_GENERATOR,
    META_KWARGS,
    ModelState,
    describe_mismatch,
    load_file,
)
from egan_core.errors import CheckpointError, EganError, first_line
from egan_core.plugins import get_registries
from egan_core.registry import Registries
from egan_core.signature import component_kwargs


def load_generator(path: str | Path, registries: Registries | None = None) -> nn.Module:
    """Build the generator stored in ``path`` (on the CPU, in eval mode).

    Raises:
        CheckpointError: unreadable, unsafe, or matching no registered generator.
        UnknownNameError: an egan checkpoint naming a generator nobody registered.
    """
    path = Path(path)
    registries = registries or get_registries()
    data = load_file(path)
    if path.suffix.lower() == ".safetensors":
        name, kwargs = _safetensors_header(path)
        if name is None:  # no egan metadata: recognised by its keys, like any foreign file
            model = _from_foreign(path, registries, data)
        else:
            model = _from_parts(path, registries, name, kwargs, data, fallback=True)
    elif isinstance(data, Mapping) and data.get("format") == FORMAT:
        spec = ModelState.from_payload(data.get("generator"), where=f"egan checkpoint '{path}'")
        model = _from_parts(path, registries, spec.name, dict(spec.kwargs), spec.state_dict)
    elif isinstance(data, Mapping):
        model = _from_foreign(path, registries, data)
    else:
        raise CheckpointError(f"'{path}' holds a {type(data).__name__}, not generator weights")
    return model.eval()


def _safetensors_header(path: Path) -> tuple[str | None, dict[str, Any]]:
    """Generator name (None when the file names none) and kwargs from a safetensors file's
    metadata."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    try:
        kwargs = json.loads(meta.get(META_KWARGS, "{}"))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"'{path}': metadata 'kwargs' is not valid JSON") from exc
    if not isinstance(kwargs, dict):
        raise CheckpointError(f"'{path}': metadata 'kwargs' must be a JSON object")
    return meta.get(META_GENERATOR), kwargs


def _from_parts(path: Path, registries: Registries, name: str, kwargs: dict[str, Any],
                state_dict: Any, fallback: bool = False) -> nn.Module:
    """``registries.generators[name](**kwargs)`` with ``state_dict`` loaded strictly."""
    factory = registries.generators.get(name)
    try:  # the stored kwargs are untrusted: checked like a recipe's before the call
        kwargs = component_kwargs(factory, kwargs, "generator.kwargs", f"generator '{name}'")
    except Exception as exc:
        raise CheckpointError(f"'{path}': generator '{name}' rejects the stored kwargs"
                              f" ({first_line(exc)})") from exc
    mismatch = _meta_mismatch(factory, kwargs, state_dict)
    if mismatch:
        if fallback and isinstance(state_dict, Mapping):
            return _from_foreign(path, registries, state_dict)
        raise CheckpointError(f"'{path}': weights do not fit generator '{name}' ({mismatch})")
    try:
        model = factory(**kwargs)
    except Exception as exc:
        raise CheckpointError(f"'{path}': generator '{name}' rejects the stored kwargs"
                              f" ({first_line(exc)})") from exc
    try:
        model.load_state_dict(dict(state_dict), strict=True)
    except Exception as exc:  # untrusted values: anything but tensors fails somewhere in here
        if fallback and isinstance(state_dict, Mapping):
            return _from_foreign(path, registries, state_dict)
        raise CheckpointError(f"'{path}': weights do not fit generator '{name}'"
                              f" ({first_line(exc)})") from exc
    return model


def _meta_mismatch(factory: Any, kwargs: dict[str, Any], state_dict: Any) -> str:
    """How ``state_dict`` fails to fit ``factory(**kwargs)``, checked on the meta device.

    The stored kwargs are untrusted: a tiny file asking for ``base_channels: 100000`` must
    fail here, naming the mismatch, before anything allocates the terabytes it describes.
    A factory that cannot build on the meta device is left to the real (strict) load.
    """
    if not isinstance(state_dict, Mapping):
        return f"weights are a {type(state_dict).__name__}, not a state dict"
    try:
        with torch.device("meta"):
            probe = factory(**kwargs)
        expected = probe.state_dict()
    except Exception:
        return ""
    found = {k: v for k, v in state_dict.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    return describe_mismatch(expected, found)


def _from_foreign(path: Path, registries: Registries, state_dict: Mapping[str, Any]) -> nn.Module:
    """Try every generator class that can read original-format state dicts."""
    if isinstance(state_dict.get("state_dict"), Mapping):  # {"state_dict": {...}} wrappers
        state_dict = state_dict["state_dict"]
    reasons = []
    for entry in registries.generators:
        loader = getattr(entry.factory, "from_foreign_state_dict", None)
        if loader is None:
            continue
        try:
            return loader(state_dict)
        except CheckpointError as exc:
            reasons.append(f"{entry.name}: {exc}")
        except Exception as exc:  # a loader tripping over untrusted keys or values
            reasons.append(f"{entry.name}: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}")
    tried = "; ".join(reasons) if reasons else "no registered generator reads foreign weights"
    raise CheckpointError(f"'{path}' is not a checkpoint of any registered generator ({tried})")


def recipe_checkpoint(recipe: str | Path, runs: str | Path = "runs") -> Path:
    """The latest checkpoint of a recipe's run: ``RUNS/<name>/checkpoints/latest.pt``.

    ``recipe`` is a recipe file (its ``name`` key, else its file stem, names the run) or
    directly a run name.

    Raises:
        CheckpointError: that run has no checkpoint yet.
    """
    from egan_core.recipe import resolve_recipe_path

    try:
        file = resolve_recipe_path(recipe)
    except EganError:
        name = str(recipe)
        if not (Path(runs) / name).is_dir():
            raise
    else:
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise EganError(f"cannot read recipe '{file}': {exc}") from exc
        name = (raw or {}).get("name") if isinstance(raw, dict) else None
        name = str(name or file.stem)
    latest = Path(runs) / name / "checkpoints" / "latest.pt"
    if not latest.is_file():
        raise CheckpointError(f"no checkpoint for recipe '{name}' at '{latest}'; train it first "
                              f"(egan run {recipe}) or pass --runs (the folder given to egan run --out)")
    return latest

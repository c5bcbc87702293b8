"""``load_enhancer``: build an :class:`~egan_core.enhance.pipeline.Enhancer` from names."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from egan_core.devices import resolve_device
from egan_core.enhance.pipeline import Enhancer
from egan_core.enhance.specs import parse_spec
from egan_core.errors import RecipeError, UsageError
from egan_core.plugins import get_registries
from egan_core.registry import Registries
from egan_core.signature import accepted, check_options, check_type, parameters

#: Arguments of ``load_enhancer`` handed to every stage whose factory accepts them.
SHARED = ("checkpoint", "precision", "backend", "tile")


def load_enhancer(name: str | Sequence[str] = "gan", *, checkpoint: str | Path | None = None,
                  device: str | torch.device = "auto", precision: str = "auto", backend: str = "auto",
                  tile: int | None = None, strength: float = 1.0, recipe: str | None = None,
                  runs: str | Path = "runs", registries: Registries | None = None,
                  **options: Any) -> Enhancer:
    """Build a callable enhancer from one registered name or a chain of names.

    Args:
        name: a registered enhancer (``gan``, ``clahe``, ``denoise``, ...) or a list of
            them, applied in order. Each may carry its own options as
            ``NAME:KEY=VALUE,...`` (``"clahe:clip_limit=3,tiles=4"``; values read as YAML
            scalars), checked against that enhancer's signature; they win over the
            shared arguments below for that enhancer.
        checkpoint: generator weights for ``gan`` (egan checkpoint, original
            ``*_net_G_A.pth`` or ``.safetensors``); None = the shipped default model.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:N`` or a
            ``torch.device``.
        precision: ``auto`` (fastest path within 40 dB PSNR of fp32), ``fp32`` or ``bf16``.
        backend: how network stages run: ``auto`` (the fastest measured here), ``eager``,
            ``channels_last``, ``fused``, ``compile`` or ``onnxruntime``.
        tile: tile size of network stages; None = automatic, 0 = whole frame.
        strength: residual scale per stage, 0 (input) to 2; 1 = the stages' own output.
        recipe: use the latest checkpoint of this recipe's run instead of ``checkpoint``.
        runs: the folder holding runs (``egan run --out``), for ``recipe``.
        registries: where names are looked up (default: the installed plugins').
        **options: further factory arguments (``clip_limit=3.0``), given to every stage
            whose factory accepts them.

    Returns:
        An :class:`Enhancer`, callable on a PIL image, an HxWx3 uint8 array or an
        Nx3xHxW tensor in [0, 1].

    Raises:
        UsageError: conflicting or unused arguments, wrong types.
        UnknownNameError: an enhancer nobody registered.
        CheckpointError: unreadable checkpoint or one of an unknown architecture.
    """
    specs = [name] if isinstance(name, str) else list(name)
    if not specs:
        raise UsageError("no enhancer named; pass at least one name (e.g. 'gan')")
    parsed = [parse_spec(spec) for spec in specs]
    names = [n for n, _ in parsed]
    if recipe is not None:
        if checkpoint is not None:
            raise UsageError("give a checkpoint or a recipe, not both")
        from egan_core.model_loading import recipe_checkpoint

        checkpoint = recipe_checkpoint(recipe, runs)
    dev = resolve_device(device)
    given = {"checkpoint": None if checkpoint is None else str(checkpoint),
             "precision": precision, "backend": backend, "tile": tile, **options}
    registry = (registries or get_registries()).enhancers
    factories = [registry.get(n) for n in names]
    used: set[str] = set()
    overridden: dict[str, str] = {}
    stages = []
    for (stage_name, own), factory in zip(parsed, factories, strict=True):
        params, hints, _ = parameters(factory)
        try:
            own = check_options(factory, own, stage_name, f"enhancer '{stage_name}'",
                                injected=("device",))
        except RecipeError as exc:
            raise UsageError(str(exc)) from exc
        kwargs = {}
        for key, value in given.items():
            if key in own:
                overridden.setdefault(key, stage_name)
            elif key in params:
                kwargs[key] = _checked(value, hints.get(key), f"{stage_name}.{key}")
                used.add(key)
        kwargs.update(own)
        if "device" in params:
            kwargs["device"] = dev
        stages.append(factory(**kwargs))
    _check_used(names, factories, given, used, checkpoint is not None, tile is not None, overridden)
    return Enhancer(stages, names=names, strength=strength, device=dev)


def _checked(value: Any, hint: Any, key: str) -> Any:
    if hint is None or hint is torch.device:
        return value
    try:
        return check_type(value, hint, key)
    except RecipeError as exc:
        raise UsageError(str(exc)) from exc


def _check_used(names: list[str], factories: list[Any], given: dict[str, Any], used: set[str],
                has_checkpoint: bool, has_tile: bool, overridden: dict[str, str]) -> None:
    """Refuse arguments that no stage takes (a checkpoint for ``clahe``, a typo'd option)."""
    unused = [k for k in given if k not in used and (k not in SHARED
              or (k == "checkpoint" and has_checkpoint) or (k == "tile" and has_tile))]
    twice = [k for k in unused if k in overridden]
    if twice:
        key = twice[0]
        raise UsageError(f"{key} is given twice: as an argument (--{key}) and as "
                         f"'{overridden[key]}:{key}=...'; give it once")
    if unused:
        takes = sorted({p for f in factories for p in accepted(f)} - {"device"})
        raise UsageError(f"{', '.join(unused)} not accepted by enhancer(s) {', '.join(names)};"
                         f" they accept: {', '.join(takes) or '(nothing)'}")

"""The checkpoint schema of a training run, written and read in one place.

A run's ``checkpoints/latest.pt`` (and ``epoch_NNNN.pt``) is an egan checkpoint
(:func:`egan_core.checkpoint.save_checkpoint` adds ``format: "egan"`` and
``version``) whose payload is :meth:`TrainingState.to_payload`::

    recipe         the resolved recipe (Recipe.as_dict())
    generator      {"name", "kwargs", "state_dict"}            (checkpoint.ModelState)
    discriminator  {"name", "kwargs", "state_dict"} or None    (checkpoint.ModelState)
    optimizers     {"generator" | "discriminator" ...: optimizer state_dict}
    grads          {"generator" | "discriminator": {parameter name: gradient}}
                   (the open gradient-accumulation window; older checkpoints lack it)
    scaler         GradScaler state_dict, or None (older checkpoints lack it)
    epoch, batch, step   counters: 1-based epoch, batches done in it, steps done
    rng            {"torch": torch RNG state, "python": random.getstate()}

``egan enhance``/``egan export`` read only ``generator``
(:func:`egan_core.model_loading.load_generator`); ``egan run --resume`` reads the rest.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from egan_core.checkpoint import (
    MISFIT,
    VERSION,
    ModelState,
    PayloadError,
    load_checkpoint,
    save_checkpoint,
)
from egan_core.errors import EganError, folded

if TYPE_CHECKING:
    from egan_core.recipe import Recipe
    from egan_core.training.step import Parts

#: ``ModelState``, ``PayloadError`` and ``MISFIT`` belong to the checkpoint schema
#: (:mod:`egan_core.checkpoint`); they are exported here too, beside the run state built on them.
__all__ = ["MISFIT", "ModelState", "PayloadError", "TrainingState", "resume_state", "save_state"]


@dataclass
class TrainingState:
    """Everything an exact resume needs: weights, optimizers, pending gradients, counters, RNG."""

    #: The payload layout this class writes (``checkpoint.VERSION``); older ones are read too.
    version: ClassVar[int] = VERSION

    recipe: dict[str, Any] | None
    generator: ModelState
    discriminator: ModelState | None
    optimizers: Mapping[str, Any]
    epoch: int
    batch: int
    step: int
    torch_rng: torch.Tensor
    python_rng: Any
    grads: Mapping[str, Mapping[str, torch.Tensor]] = field(default_factory=dict)
    scaler: dict[str, Any] | None = None

    def to_payload(self) -> dict[str, Any]:
        """The checkpoint dict (keys as listed in this module's docstring, in that order)."""
        return {
            "recipe": self.recipe,
            "generator": self.generator.to_payload(),
            "discriminator": None if self.discriminator is None else self.discriminator.to_payload(),
            "optimizers": dict(self.optimizers),
            "grads": {k: dict(v) for k, v in self.grads.items()},
            "scaler": self.scaler,
            "epoch": self.epoch, "batch": self.batch, "step": self.step,
            "rng": {"torch": self.torch_rng, "python": self.python_rng},
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> TrainingState:
        """Read a checkpoint dict (``recipe``, names and kwargs may be absent: resume rebuilds
        the networks from the recipe).

        Raises:
            KeyError, TypeError, ValueError: a required part is missing or malformed.
        """
        disc = data.get("discriminator")
        grads = data.get("grads", {})
        optimizers, rng = data["optimizers"], data["rng"]
        if not isinstance(optimizers, Mapping) or not isinstance(grads, Mapping):
            raise PayloadError("optimizers and grads must be mappings")
        if not isinstance(rng, Mapping) or not isinstance(rng["torch"], torch.Tensor):
            raise PayloadError("rng must hold the torch RNG state as a tensor")
        state = cls(
            recipe=data.get("recipe"),
            generator=ModelState.from_payload(data.get("generator"), weights_only=True),
            discriminator=None if disc is None else ModelState.from_payload(
                disc, "discriminator", weights_only=True),
            optimizers=optimizers, grads=grads, scaler=data.get("scaler"),
            epoch=data["epoch"], batch=data["batch"], step=data["step"],
            torch_rng=rng["torch"], python_rng=_as_tuple(rng["python"]),
        )
        counters = state.counters
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counters):
            raise ValueError(f"epoch, batch and step must be counts, got {counters}")
        return state

    @property
    def counters(self) -> tuple[int, int, int]:
        """``(epoch, batch, step)``: where the run stopped."""
        return self.epoch, self.batch, self.step

    @classmethod
    def capture(cls, recipe: Recipe, parts: Parts, scaler: torch.amp.GradScaler | None,
                epoch: int, batch: int, step: int) -> TrainingState:
        """The live state of a run (tensors are referenced, not copied: save it at once)."""
        from egan_core.recipe import thaw

        disc = None
        if parts.discriminator is not None and recipe.discriminator is not None:
            disc = ModelState(recipe.discriminator.name, thaw(recipe.discriminator.kwargs),
                              parts.discriminator.state_dict())
        grads = {}
        for name, module in (("generator", parts.generator), ("discriminator", parts.discriminator)):
            if module is not None:
                grads[name] = {k: p.grad for k, p in module.named_parameters() if p.grad is not None}
        return cls(
            recipe=recipe.as_dict(),
            generator=ModelState(recipe.generator.name, thaw(recipe.generator.kwargs),
                                 parts.generator.state_dict()),
            discriminator=disc,
            optimizers={k: o.state_dict() for k, o in parts.optimizers.items()},
            grads=grads, scaler=None if scaler is None else scaler.state_dict(),
            epoch=epoch, batch=batch, step=step,
            torch_rng=torch.get_rng_state(), python_rng=random.getstate(),
        )

    def apply(self, parts: Parts, scaler: torch.amp.GradScaler | None) -> None:
        """Load this state into a freshly built run (weights, optimizers, gradients, RNG)."""
        parts.generator.load_state_dict(self.generator.state_dict)
        if parts.discriminator is not None:
            if self.discriminator is None:
                raise PayloadError("the checkpoint holds no discriminator")
            parts.discriminator.load_state_dict(self.discriminator.state_dict)
        for key, opt in parts.optimizers.items():
            opt.load_state_dict(self.optimizers[key])
        for name, module in (("generator", parts.generator), ("discriminator", parts.discriminator)):
            saved = self.grads.get(name, {})
            if module is not None:
                for key, p in module.named_parameters():
                    p.grad = saved[key].to(p.device) if key in saved else None
        if scaler is not None and self.scaler:
            scaler.load_state_dict(self.scaler)
        torch.set_rng_state(self.torch_rng.cpu())
        random.setstate(self.python_rng)


def save_state(state: TrainingState, path: Path) -> Path:
    """Write ``state`` as an egan checkpoint at ``path``, atomically."""
    return save_checkpoint(path, state.to_payload())


def resume_state(path: Path, parts: Parts, scaler: torch.amp.GradScaler | None,
                 device: torch.device) -> tuple[int, int, int]:
    """Restore a run from its checkpoint at ``path``; returns ``(epoch, batch, step)``.

    Raises:
        EganError: no checkpoint there, or one that does not fit the recipe (one line).
    """
    if not path.is_file():
        raise EganError(f"--resume: no checkpoint at '{path}'; run without --resume to start")
    data = load_checkpoint(path, map_location=device)
    try:
        state = TrainingState.from_payload(data)
        state.apply(parts, scaler)
    except MISFIT as exc:
        detail = folded(exc, 150)
        raise EganError(f"--resume: '{path}' does not fit this recipe ({detail});"
                        " resume with the recipe that made it") from exc
    return state.counters


def _as_tuple(value: Any) -> Any:
    """``random.getstate()`` as saved may come back with lists for tuples."""
    if isinstance(value, list):
        return tuple(_as_tuple(v) for v in value)
    return value

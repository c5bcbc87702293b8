"""What every training step shares: the parts of a run, the losses' view of a forward pass,
the finite-loss check. The steps themselves belong to the registered methods."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from egan_core.errors import TrainingError
from egan_core.generator_io import attention_map, enhance_with
from egan_core.losses import AdversarialLoss, LossContext

if TYPE_CHECKING:
    from egan_core.training.method import StepContext


@dataclass
class Parts:
    """The built components of a run. ``*_fwd`` are what to call (DDP wrappers under DDP)."""

    generator: nn.Module
    generator_fwd: nn.Module
    discriminator: nn.Module | None
    global_fwd: nn.Module | None
    local_fwd: nn.Module | None
    adv_global: AdversarialLoss | None
    adv_local: AdversarialLoss | None
    losses: list[tuple[str, nn.Module, float]]
    optimizers: dict[str, torch.optim.Optimizer] = field(default_factory=dict)
    #: a method's own state beside the parts above (anything its step needs)
    extra: dict[str, Any] = field(default_factory=dict)


class NonFiniteLoss(TrainingError):
    """A loss became NaN or infinite: the run diverged (a configuration error is a plain
    :class:`TrainingError`, since resuming with a lower learning rate would not help it)."""


def check_finite(name: str, value: torch.Tensor, step: int) -> None:
    """Raise :class:`NonFiniteLoss` when the loss term ``name`` is NaN or infinite."""
    if not torch.isfinite(value).all():
        # the trainer adds which checkpoint is left to resume from
        raise NonFiniteLoss(f"loss '{name}' became {value.item()} at step {step}")


def loss_context(low: torch.Tensor, inp: torch.Tensor, normal: torch.Tensor,
                 enhanced: torch.Tensor, aux: dict[str, torch.Tensor]) -> LossContext:
    """The generator-side losses' view of one forward pass (``aux`` loses its attention and
    latent entries, which become fields: the input's attention map and ``enhanced - input``
    where the generator gives none)."""
    attention = aux.pop("attention", None)
    latent = aux.pop("latent", None)
    return LossContext(low=low, input=inp, enhanced=enhanced, normal=normal,
                       attention=attention_map(inp) if attention is None else attention,
                       latent=enhanced - inp if latent is None else latent, aux=aux)


def losses_objective(losses: list[tuple[str, nn.Module, float]]
                     ) -> Callable[[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]], torch.Tensor]:
    """``objective(input, enhanced, aux)``: the weighted sum of ``losses`` with the input as
    every reference image (no patches): what the precision probe times beside the generator.

    It runs copies of the losses, so the probe leaves no trace in the run's own (a loss may
    keep state). A loss that cannot run on the probe's batch (it needs the real targets,
    say) is left out of the timing rather than stopping the run: training reports it.
    """
    copies: list[tuple[nn.Module, float]] = []  # made at the first call (a cached probe makes none)
    failed: list[nn.Module] = []

    def objective(inp: torch.Tensor, enhanced: torch.Tensor, aux: dict[str, torch.Tensor]) -> torch.Tensor:
        if not copies:
            copies.extend((copy.deepcopy(loss), weight) for _, loss, weight in losses)
        ctx = loss_context(inp, inp, inp, enhanced, aux)
        total = enhanced.new_zeros((), dtype=torch.float32)
        for loss, weight in copies:
            if loss in failed:
                continue
            try:
                total = total + loss(ctx).float() * weight
            except Exception:  # noqa: BLE001 - a timing probe; the run itself raises it
                failed.append(loss)
        return total

    return objective


def add_weighted_losses(terms: dict[str, torch.Tensor], losses: list[tuple[str, nn.Module, float]],
                        ctx: LossContext) -> None:
    """``terms[name] = loss(ctx) * weight`` for each of a run's generator-side losses."""
    for name, loss, weight in losses:
        terms[name] = loss(ctx) * weight


def backward_sum(terms: dict[str, torch.Tensor], ctx: StepContext, like: torch.Tensor,
                 optimizer: str = "generator") -> torch.Tensor:
    """Sum ``terms`` in float32 (in their order), check each is finite (a NaN stops the run
    naming the term and the step), and hand the total to ``ctx.backward(optimizer)``;
    returns the total. ``like`` is any tensor on the step's device."""
    total = like.new_zeros(())
    for value in terms.values():
        total = total + value.float()
    for name, value in terms.items():
        check_finite(name, value, ctx.step)
    ctx.backward(total, optimizer)
    return total


def generator_step(parts: Parts, batch: dict[str, torch.Tensor], ctx: StepContext
                   ) -> dict[str, torch.Tensor]:
    """The generator alone on the recipe's losses: G forward, the weighted losses (each
    checked finite), G's backward; returns the detached terms and ``g_total``. The step of
    the generator-only built-ins, and a building block for a method of your own."""
    terms: dict[str, torch.Tensor] = {}
    with ctx.autocast():
        enhanced, aux = enhance_with(parts.generator_fwd, batch["input"], signed=True)
        lctx = loss_context(batch["low"], batch["input"], batch["normal"], enhanced, aux)
        add_weighted_losses(terms, parts.losses, lctx)
    terms["g_total"] = backward_sum(terms, ctx, enhanced)
    return {k: v.detach().float() for k, v in terms.items()}

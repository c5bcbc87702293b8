"""One EnlightenGAN iteration: G forward, G step, global D step, local D step."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from egan_core.errors import TrainingError
from egan_core.generator_io import attention_map, enhance_with, unwrap
from egan_core.losses import AdversarialLoss, LossContext


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


def _frozen(module: nn.Module | None) -> contextlib.AbstractContextManager[None]:
    """Stop gradients into ``module``'s weights while G's objective is computed."""
    if module is None:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def cm() -> Iterator[None]:
        flags = [p.requires_grad for p in module.parameters()]
        for p in module.parameters():
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p, flag in zip(module.parameters(), flags, strict=True):
                p.requires_grad_(flag)

    return cm()


class NonFiniteLoss(TrainingError):
    """A loss became NaN or infinite: the run diverged (a configuration error is a plain
    :class:`TrainingError`, since resuming with a lower learning rate would not help it)."""


def _check(name: str, value: torch.Tensor, step: int) -> None:
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


def gan_step(
    parts: Parts,
    batch: dict[str, torch.Tensor],
    *,
    step: int,
    patch_gen: torch.Generator,
    autocast: Callable[[], contextlib.AbstractContextManager[None]],
    backward: Callable[[torch.Tensor, str], None],
) -> dict[str, torch.Tensor]:
    """Run one iteration's forward passes and backward calls; returns detached loss terms.

    Args:
        parts: the models, losses and optimizers.
        batch: ``low``, ``input``, ``normal`` on the training device, ``(N, 3, H, W)``.
        step: 1-based iteration number (for error messages).
        patch_gen: generator for the patch offsets of this iteration.
        autocast: a context factory for mixed precision (``nullcontext`` for fp32).
        backward: ``backward(loss, optimizer_name)`` does the (scaled) backward and, when
            the accumulation window closes, the optimizer step of that name.
    """
    low, inp, normal = batch["low"], batch["input"], batch["normal"]
    d = parts.discriminator
    terms: dict[str, torch.Tensor] = {}
    with autocast():
        enhanced, aux = enhance_with(parts.generator_fwd, inp, signed=True)
        ctx = loss_context(low, inp, normal, enhanced, aux)
        if d is not None and parts.local_fwd is not None:
            coords = d.sample_patches(enhanced.shape[-2], enhanced.shape[-1], patch_gen)
            ctx.enhanced_patches = d.crop(enhanced, coords)
            ctx.normal_patches = d.crop(normal, coords)
            ctx.low_patches = d.crop(low, coords)
            ctx.num_patches = int(coords.shape[0])
        g_total = enhanced.new_zeros(())
        real_global = None
        if d is not None:
            assert parts.adv_global is not None and parts.global_fwd is not None
            if parts.adv_global.uses_real_in_g:
                # D(real) is the same before and after G's step: one forward serves both
                # objectives (detached for G, with its graph for D's step).
                real_global = parts.global_fwd(normal)
            with _frozen(d):
                core_global = unwrap(parts.global_fwd)
                real_for_g = None if real_global is None else real_global.detach()
                terms["g_global"] = parts.adv_global.g_loss(real_for_g, core_global(enhanced))
                if parts.local_fwd is not None and parts.adv_local is not None:
                    core_local = unwrap(parts.local_fwd)
                    real_local = (core_local(ctx.normal_patches)
                                  if parts.adv_local.uses_real_in_g else None)
                    terms["g_local"] = parts.adv_local.g_loss(
                        real_local, core_local(ctx.enhanced_patches))
        for name, loss, weight in parts.losses:
            terms[name] = loss(ctx) * weight
        for value in terms.values():
            g_total = g_total + value.float()
    for name, value in terms.items():
        _check(name, value, step)
    backward(g_total, "generator")
    terms["g_total"] = g_total

    if d is not None:
        assert parts.global_fwd is not None and parts.adv_global is not None
        fake = enhanced.detach()
        with autocast():
            real = real_global if real_global is not None else parts.global_fwd(normal)
            d_global = parts.adv_global.d_loss(real, parts.global_fwd(fake))
        _check("d_global", d_global, step)
        backward(d_global, "global_d")
        terms["d_global"] = d_global
        if parts.local_fwd is not None and parts.adv_local is not None:
            with autocast():
                d_local = parts.adv_local.d_loss(parts.local_fwd(ctx.normal_patches),
                                                 parts.local_fwd(ctx.enhanced_patches.detach()))
            _check("d_local", d_local, step)
            backward(d_local, "local_d")
            terms["d_local"] = d_local
    return {k: v.detach().float() for k, v in terms.items()}

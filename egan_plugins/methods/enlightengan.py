"""``enlightengan``: the paper's step (Jiang et al. 2021), the default method.

One iteration runs G forward, G's step on its adversarial terms (global and local) plus
the recipe's losses, then the global discriminator's step and the local one's. A recipe
without ``method:`` trains with it unless it sets ``model.discriminator: null``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from egan_core.generator_io import enhance_with, unwrap
from egan_core.training.method import DiscriminatorUse, Method, StepContext
from egan_core.training.step import Parts, add_weighted_losses, backward_sum, check_finite, loss_context


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


def gan_step(parts: Parts, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
    """Run one iteration's forward passes and backward calls; returns detached loss terms.

    Args:
        parts: the models, losses and optimizers (a discriminator is optional: without
            one this is G alone on its losses).
        batch: ``low``, ``input``, ``normal`` on the training device, ``(N, 3, H, W)``.
        ctx: the step number, the patch offsets' random source, autocast and backward.
    """
    low, inp, normal = batch["low"], batch["input"], batch["normal"]
    d = parts.discriminator
    terms: dict[str, torch.Tensor] = {}
    with ctx.autocast():
        enhanced, aux = enhance_with(parts.generator_fwd, inp, signed=True)
        lctx = loss_context(low, inp, normal, enhanced, aux)
        if d is not None and parts.local_fwd is not None:
            coords = d.sample_patches(enhanced.shape[-2], enhanced.shape[-1], ctx.patch_gen)
            lctx.enhanced_patches = d.crop(enhanced, coords)
            lctx.normal_patches = d.crop(normal, coords)
            lctx.low_patches = d.crop(low, coords)
            lctx.num_patches = int(coords.shape[0])
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
                    real_local = (core_local(lctx.normal_patches)
                                  if parts.adv_local.uses_real_in_g else None)
                    terms["g_local"] = parts.adv_local.g_loss(
                        real_local, core_local(lctx.enhanced_patches))
        add_weighted_losses(terms, parts.losses, lctx)
    terms["g_total"] = backward_sum(terms, ctx, enhanced)

    if d is not None:
        assert parts.global_fwd is not None and parts.adv_global is not None
        fake = enhanced.detach()
        with ctx.autocast():
            real = real_global if real_global is not None else parts.global_fwd(normal)
            d_global = parts.adv_global.d_loss(real, parts.global_fwd(fake))
        check_finite("d_global", d_global, ctx.step)
        ctx.backward(d_global, "global_d")
        terms["d_global"] = d_global
        if parts.local_fwd is not None and parts.adv_local is not None:
            with ctx.autocast():
                d_local = parts.adv_local.d_loss(parts.local_fwd(lctx.normal_patches),
                                                 parts.local_fwd(lctx.enhanced_patches.detach()))
            check_finite("d_local", d_local, ctx.step)
            ctx.backward(d_local, "local_d")
            terms["d_local"] = d_local
    return {k: v.detach().float() for k, v in terms.items()}


def discriminator_unset(raw: Mapping[str, Any]) -> bool:
    """Whether a raw recipe sets ``model.discriminator: null`` (generator-only training)."""
    model = raw.get("model")
    return isinstance(model, Mapping) and "discriminator" in model and model["discriminator"] is None


class EnlightenGAN(Method):
    """The attention U-Net against a global and a local discriminator, with the
    self-feature-preserving loss: the paper's recipe and every fork's object recipes."""

    defaults: ClassVar[Mapping[str, Any]] = {
        "model": {"generator": {"name": "attention_unet"}, "discriminator": {"name": "global_local"}},
        "adversarial": {"global": "ralsgan", "local": "lsgan"},
        "losses": {"relu5_1": {"weight": 1.0}},
    }
    discriminator: ClassVar[DiscriminatorUse] = "required"

    @classmethod
    def infer(cls, raw: Mapping[str, Any]) -> bool:
        """Every recipe that does not set ``model.discriminator: null``."""
        return not discriminator_unset(raw)

    def step(self, parts: Parts, batch: dict[str, torch.Tensor], ctx: StepContext
             ) -> dict[str, torch.Tensor]:
        """G's step, then the global and the local discriminator's."""
        return gan_step(parts, batch, ctx)

    def wrap_ddp(self, parts: Parts, wrap: Callable[[nn.Module], nn.Module]) -> None:
        """The generator and both discriminator heads synchronise their gradients."""
        parts.generator_fwd = wrap(parts.generator)
        if parts.discriminator is not None:
            parts.global_fwd = wrap(parts.discriminator.global_d)
            if parts.discriminator.local_d is not None:
                parts.local_fwd = wrap(parts.discriminator.local_d)

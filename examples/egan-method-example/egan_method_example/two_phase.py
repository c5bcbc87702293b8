"""``two_phase``: the generator first learns the identity, then the recipe's losses.

Curve- and residual-style generators (Zero-DCE and the like) start from a random
enhancement; a short warm-up that makes the output equal the input first (L1 between them)
starts the real objective from "change nothing" instead. Which phase a step is in depends
only on the step number the trainer hands the method, so a resumed run continues in the
right phase with no state of the method's own to save.

Each logged record says which phase produced it: ``phase`` is 1.0 or 2.0, and the terms
are ``identity`` in phase 1 and the recipe's loss names in phase 2 (``g_total`` in both).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from egan_core import (
    Method,
    Parts,
    RecipeError,
    StepContext,
    add_weighted_losses,
    backward_sum,
    enhance_with,
    loss_context,
)
from egan_core.training.method import DiscriminatorUse

if TYPE_CHECKING:
    from egan_core.recipe import Recipe


def phase_of(step: int, warmup_steps: int) -> int:
    """The phase of 1-based ``step``: 1 for the first ``warmup_steps`` steps, then 2."""
    return 1 if step <= warmup_steps else 2


class TwoPhase(Method):
    """Identity warm-up for ``warmup_steps`` steps, then the recipe's ``losses:``.

    Args:
        warmup_steps: steps of phase 1 (L1 between the output and the input); 0 skips it.
        identity_weight: weight of that L1 term.
    """

    # What a recipe gets for the sections it leaves out: Zero-DCE on the zero-reference
    # losses (the official weights), so `method: two_phase` and a dataset is a whole recipe.
    defaults: ClassVar[Mapping[str, Any]] = {
        "model": {"generator": {"name": "zero_dce"}, "discriminator": None},
        "losses": {
            "illumination_smoothness": {"weight": 200.0},
            "spatial_consistency": {"weight": 1.0},
            "color_constancy": {"weight": 5.0},
            "exposure": {"weight": 10.0},
        },
    }
    # The generator alone: a recipe with a discriminator is refused when it is read.
    discriminator: ClassVar[DiscriminatorUse] = "none"

    def __init__(self, warmup_steps: int = 50, identity_weight: float = 1.0) -> None:
        # egan turns a ValueError here into "method.warmup_steps must be ..." (the key path)
        if warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
        if not identity_weight > 0:
            raise ValueError(f"identity_weight must be > 0, got {identity_weight}")
        self.warmup_steps, self.identity_weight = int(warmup_steps), float(identity_weight)

    @classmethod
    def check(cls, recipe: Recipe, name: str) -> None:
        """Besides the base checks: phase 2 needs at least one loss to train on."""
        super().check(recipe, name)
        if not recipe.losses:
            raise RecipeError(f"method '{name}' trains on the recipe's losses after the warm-up:"
                              " name at least one under losses: (or leave the section out for"
                              " the zero-reference ones)")

    def step(self, parts: Parts, batch: dict[str, torch.Tensor], ctx: StepContext
             ) -> dict[str, torch.Tensor]:
        """One forward of the generator, the phase's objective, one optimizer step."""
        phase = phase_of(ctx.step, self.warmup_steps)
        terms: dict[str, torch.Tensor] = {}
        with ctx.autocast():
            # the batch is in [-1, 1]; signed=True keeps the output there, whatever range
            # the generator itself works in
            enhanced, aux = enhance_with(parts.generator_fwd, batch["input"], signed=True)
            if phase == 1:
                terms["identity"] = (enhanced - batch["input"]).abs().mean() * self.identity_weight
            else:
                lctx = loss_context(batch["low"], batch["input"], batch["normal"], enhanced, aux)
                add_weighted_losses(terms, parts.losses, lctx)
        # sum, check each term is finite (a NaN stops the run naming it), and backward: the
        # trainer scales, accumulates, clips and steps
        terms["g_total"] = backward_sum(terms, ctx, enhanced)
        terms["phase"] = torch.tensor(float(phase))
        return {k: v.detach().float() for k, v in terms.items()}

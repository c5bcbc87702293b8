"""The training-method contract: what a method owns and what the trainer keeps.

A *method* is the objective of a run: which parts it needs (built from the recipe through
the registries), what one step computes from a batch, and its learning-rate schedule. The
trainer keeps everything else: epochs, data loading, precision, channels_last, Winograd,
accumulation, clipping, DDP, callbacks, validation, checkpoints and exact resume. Methods
are registered under the ``methods`` kind through the same ``egan_register`` hook as every
other component, and a recipe names one with ``method:`` (a name, or a mapping of ``name``
and the method's own keyword arguments).

The engine names no method: a recipe without ``method:`` is given the first registered
method (in name order) whose :meth:`Method.infer` accepts the raw recipe, and the sections
the recipe leaves out (the generator, the discriminator, the adversarial and the feature
losses) come from that method's :attr:`Method.defaults`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch

from egan_core.errors import RecipeError
from egan_core.training.schedule import learning_rate

if TYPE_CHECKING:
    from egan_core.recipe import Recipe, TrainSpec
    from egan_core.registry import Registries
    from egan_core.training.step import Parts


@dataclass(frozen=True)
class StepContext:
    """What the trainer hands a method's :meth:`Method.step` besides the batch.

    Attributes:
        step: 1-based iteration number (for error messages).
        patch_gen: the random source of this step (patch offsets, anything a method draws),
            seeded from the recipe's seed and the step, so a resumed run draws the same.
        autocast: a context factory for mixed precision (``nullcontext`` for fp32).
        backward: ``backward(loss, optimizer_name)`` runs the (scaled) backward and, when
            the accumulation window closes, clips and steps the optimizer of that name.
    """

    step: int
    patch_gen: torch.Generator
    autocast: Callable[[], contextlib.AbstractContextManager[None]]
    backward: Callable[[torch.Tensor, str], None]


#: What a method does with ``model.discriminator``: needs one, takes none, or either.
DiscriminatorUse = Literal["required", "none", "optional"]


class Method:
    """Base class of a registered training method; subclass it and override :meth:`step`.

    The registered factory is the class; the recipe's ``method:`` mapping (less ``name``)
    is passed to its constructor as keyword arguments, checked against its signature
    like any component's.
    """

    #: Recipe sections filled in where a recipe leaves them out, in recipe layout:
    #: ``model.generator`` / ``model.discriminator`` (a mapping with ``name``, or None),
    #: ``adversarial`` (``global`` / ``local``), ``losses`` and ``vgg``.
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: Whether the method trains a discriminator (checked when the recipe is read).
    discriminator: ClassVar[DiscriminatorUse] = "optional"
    #: Whether the recipe's ``losses:`` are the generator's objective (a method whose
    #: objective is its own, like PairLIE's, says False and a recipe naming losses fails).
    takes_losses: ClassVar[bool] = True

    @classmethod
    def infer(cls, raw: Mapping[str, Any]) -> bool:
        """Whether a recipe without ``method:`` (``raw``, as written) trains with this method.

        The default is never: a method from a plugin is chosen by name.
        """
        return False

    @classmethod
    def check(cls, recipe: Recipe, name: str) -> None:
        """Reject a resolved recipe this method cannot train, with one line naming the key
        (the recipe reader has already checked :attr:`discriminator`; override to check
        more, and call this)."""
        if not cls.takes_losses and recipe.losses:
            raise RecipeError(f"method '{name}' has its own objective and takes no losses: remove"
                              f" the losses: section (its weights are keys under method:)")

    def build(self, recipe: Recipe, registries: Registries, device: torch.device) -> Parts:
        """The run's modules, losses and optimizers (default: the generator, the recipe's
        discriminator and losses, and Adam over each of them, as EnlightenGAN trains)."""
        from egan_core.training.build import build_parts

        return build_parts(recipe, registries, device)

    def step(self, parts: Parts, batch: dict[str, torch.Tensor], ctx: StepContext
             ) -> dict[str, torch.Tensor]:
        """One iteration: forward passes, then ``ctx.backward`` for each optimizer.

        Returns the loss terms by name, detached (they are logged as they are named).
        """
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    def learning_rate(self, train: TrainSpec, epoch: int) -> float:
        """The learning rate of 1-based ``epoch`` (default: ``train.lr`` for ``train.epochs``
        epochs, then a linear decay over ``train.decay_epochs``)."""
        return learning_rate(train.lr, epoch, train.epochs, train.decay_epochs)

    def wrap_ddp(self, parts: Parts, wrap: Callable[[torch.nn.Module], torch.nn.Module]) -> None:
        """Under DDP: replace what the step calls with ``wrap(module)`` (default: the
        generator; a method with more trained modules wraps those too)."""
        parts.generator_fwd = wrap(parts.generator)

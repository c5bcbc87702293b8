"""Turn a resolved recipe into live modules, optimizers and a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from egan_core.checkpoint import describe_mismatch
from egan_core.contracts import ShipsWeights
from egan_core.errors import EganError, RecipeError, first_line, folded
from egan_core.losses import AdversarialLoss
from egan_core.model_loading import load_generator
from egan_core.recipe import Component, Recipe, thaw
from egan_core.registry import Entry, Registries
from egan_core.signature import accepted
from egan_core.training.step import Parts
from egan_core.weights import WeightsRecord


def instantiate(component: Any, kwargs: Any, where: str, **injected: Any) -> Any:
    """Call a registered component with its recipe kwargs plus the injected values it accepts.

    ``component`` is a registry :class:`~egan_core.registry.Entry` (errors then name the
    plugin distribution that registered it) or a bare factory. ``section`` (the recipe
    path ``where`` of its block, e.g. ``validation``) is always offered, so a component's
    errors name the keys as the user wrote them. Components raise plain ValueErrors;
    this adds the key path and keeps the original as the cause (``EGAN_DEBUG=1`` shows it).
    """
    factory = component.factory if isinstance(component, Entry) else component
    plugin = component.plugin_note() if isinstance(component, Entry) else ""
    params = accepted(factory)
    extra = {k: v for k, v in {"section": where, **injected}.items() if k in params}
    try:
        return factory(**thaw(kwargs), **extra)
    except EganError:
        raise
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"{_keyed(where, str(exc), params)}{plugin}") from exc
    except (RuntimeError, IndexError, KeyError, ArithmeticError) as exc:
        # a kwarg out of range deep inside a component (a width of 0: torch's IndexError)
        raise RecipeError(f"{where}: the component cannot be built with these values"
                          f" ({type(exc).__name__}: {first_line(exc)}); check the keys under"
                          f" {where}{plugin}") from exc


def _keyed(where: str, message: str, params: set[str]) -> str:
    """The component's message under its recipe path: ``size must be ...`` from the
    component becomes ``model.generator.size must be ...``; anything else ``where: ...``."""
    first = message.split(" ", 1)[0]
    return f"{where}.{message}" if first in params else f"{where}: {message}"


def build_generator(recipe: Recipe, registries: Registries) -> nn.Module:
    comp = recipe.generator
    return instantiate(registries.generators.entry(comp.name), comp.kwargs, "model.generator",
                       seed=recipe.seed)


def build_dataset(recipe: Recipe, registries: Registries, section: str = "data") -> Any:
    """The dataset under ``data:`` (or, with ``section="validation"``, under ``validation:``;
    None when the recipe validates nothing)."""
    spec = recipe.data if section == "data" else recipe.validation
    if spec is None:
        return None
    comp: Component = spec.dataset
    return instantiate(registries.datasets.entry(comp.name), comp.kwargs, section, seed=recipe.seed)


def build_parts(recipe: Recipe, registries: Registries, device: torch.device) -> Parts:
    """Build G, D, losses and Adam optimizers (the recipe's seed fixes every initial weight)."""
    torch.manual_seed(recipe.seed)
    generator = build_generator(recipe, registries).to(device)
    disc = None
    adv_global = adv_local = None
    if recipe.discriminator is not None:
        comp = recipe.discriminator
        disc = instantiate(registries.discriminators.entry(comp.name), comp.kwargs,
                           "model.discriminator", seed=recipe.seed).to(device)
        adv_global = _adversarial(registries, recipe.adversarial["global"], "adversarial.global")
        adv_local = _adversarial(registries, recipe.adversarial["local"], "adversarial.local")
    losses = []
    for spec in recipe.losses:
        loss = instantiate(registries.losses.entry(spec.name), spec.kwargs, f"losses.{spec.name}",
                           vgg_weights=recipe.vgg_weights, seed=recipe.seed)
        if isinstance(loss, AdversarialLoss):
            raise RecipeError(f"losses.{spec.name} is an adversarial loss; name it under "
                              "adversarial.global or adversarial.local instead")
        losses.append((spec.name, loss.to(device), spec.weight))
    t = recipe.train
    betas = (t.beta1, t.beta2)
    wd = t.weight_decay
    optimizers = {"generator": _adam(generator, t.lr, betas, device, wd)}
    if disc is not None:
        optimizers["global_d"] = _adam(disc.global_d, t.lr, betas, device, wd)
        if disc.local_d is not None:
            optimizers["local_d"] = _adam(disc.local_d, t.lr, betas, device, wd)
    return Parts(
        generator=generator, generator_fwd=generator, discriminator=disc,
        global_fwd=None if disc is None else disc.global_d,
        local_fwd=None if disc is None else disc.local_d,
        adv_global=adv_global, adv_local=adv_local, losses=losses, optimizers=optimizers,
    )


def _adam(module: torch.nn.Module, lr: float, betas: tuple[float, float],
          device: torch.device, weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam over ``module``'s parameters; the fused implementation on CPU and CUDA.

    Same algorithm and state as the default one (checkpoints load either way), but one
    kernel per parameter instead of about six: on a CPU every extra op over a large
    tensor is another wake-up of the worker threads.
    """
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, weight_decay=weight_decay,
                                    fused=True)
        except RuntimeError:  # torch < 2.4 has no fused Adam on the CPU
            pass
    return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, weight_decay=weight_decay)


def _adversarial(registries: Registries, name: str, where: str) -> AdversarialLoss:
    loss = instantiate(registries.losses.entry(name), {}, where)
    if not isinstance(loss, AdversarialLoss):
        raise RecipeError(f"{where}: '{name}' is not an adversarial loss")
    return loss


def load_init_weights(generator: nn.Module, init: str, device: torch.device) -> None:
    """Copy the weights named by ``model.generator.init`` into a freshly built generator.

    ``init`` is an egan checkpoint, an original EnlightenGAN ``*_net_G_A.pth``, a
    ``.safetensors`` file, or ``default`` (the file of the generator's shipped
    :class:`~egan_core.weights.WeightsRecord`, see :class:`~egan_core.contracts.ShipsWeights`).
    Parameters and BatchNorm buffers are copied; the discriminator, optimizers and schedule
    stay fresh.

    Raises:
        RecipeError: one line naming ``model.generator.init``: the file is missing or
            unreadable, or its weights do not fit this recipe's generator.
    """
    path = Path(init).expanduser()
    if init == "default":
        if not isinstance(generator, ShipsWeights):
            raise RecipeError(
                f"model.generator.init: 'default' names shipped weights, and generator "
                f"{type(generator).__name__} ships none; set model.generator.init to a checkpoint")
        shipped = generator.shipped_weights()
        path = shipped.file if isinstance(shipped, WeightsRecord) else Path(shipped)
        if not path.is_file():
            raise RecipeError(
                "model.generator.init: 'default' names the shipped default model "
                f"('{path}'), which this installation does not have yet; set "
                "model.generator.init to an egan checkpoint or an original *_net_G_A.pth")
    try:
        source = load_generator(path)
    except EganError as exc:
        raise RecipeError(f"model.generator.init: {exc}") from exc
    mismatch = describe_mismatch(generator.state_dict(), source.state_dict())
    if mismatch:
        raise RecipeError(
            f"model.generator.init: the weights in '{init}' do not fit this recipe's generator "
            f"({mismatch}); match model.generator's kwargs (e.g. base_channels) to the weights")
    try:
        generator.load_state_dict(source.state_dict())
    except RuntimeError as exc:
        detail = folded(exc, 200)
        raise RecipeError(f"model.generator.init: the weights in '{init}' do not load ({detail})") from exc
    generator.to(device)

"""egan: a plugin framework for unsupervised low-light image enhancement GANs.

The public API is what this package exports (``__all__``), and nothing else:

- users: :func:`load_recipe`, :func:`train`, :func:`load_enhancer` (an :class:`Enhancer`),
  :func:`enhance_files` (``egan enhance`` as a function; an :class:`EnhanceReport`),
  :func:`enhance_video` (one video file);
- plugin authors: :data:`hookimpl`, the :class:`Registries` handed to ``egan_register``,
  :class:`ObjectSpec`, :class:`LossContext`, :class:`AdversarialLoss`,
  :func:`attention_map`, :func:`enhance_with`; for a training method :class:`Method`,
  :class:`StepContext`, :class:`Parts`, :func:`generator_step`, :func:`loss_context`,
  :func:`add_weighted_losses`, :func:`backward_sum` and :func:`check_finite`; and the
  component contracts (:class:`Generator`, :class:`Discriminator` and the optional hooks)
  from :mod:`egan_core.contracts`;
- everyone: the typed errors, all subclasses of :class:`EganError`.

Every other module is internal: its names may change between releases (docs/architecture.md
maps them). Names that need torch are imported on first use, so ``import egan_core`` and
``egan --help`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from egan_core.errors import (
    CheckpointError,
    DuplicateNameError,
    EganError,
    InputError,
    PluginError,
    RecipeError,
    TrainingError,
    UnknownNameError,
    UsageError,
)
from egan_core.hookspecs import hookimpl, hookspec
from egan_core.objects import ObjectSpec
from egan_core.plugins import PluginManager, get_plugin_manager, get_registries
from egan_core.recipe import Recipe, load_recipe
from egan_core.registry import Registries, Registry

if TYPE_CHECKING:
    from egan_core.contracts import (
        DeclaresAttention,
        DeclaresValueRange,
        Discriminator,
        EnhancesUint8,
        Generator,
        HasInferenceForm,
        PadsToMultiple,
        ReadsForeignWeights,
        ShipsWeights,
    )
    from egan_core.enhance.api import EnhanceReport, enhance_files, enhance_video, load_enhancer
    from egan_core.enhance.pipeline import Enhancer
    from egan_core.generator_io import attention_map, enhance_with
    from egan_core.losses import AdversarialLoss, LossContext
    from egan_core.training.method import Method, StepContext
    from egan_core.training.step import (
        Parts,
        add_weighted_losses,
        backward_sum,
        check_finite,
        generator_step,
        loss_context,
    )
    from egan_core.training.trainer import train

__version__ = "0.1.0"

#: public name -> the module that defines it, for names imported on first use (torch).
_LAZY = {
    "train": "egan_core.training.trainer",
    "load_enhancer": "egan_core.enhance.api",
    "enhance_files": "egan_core.enhance.api",
    "enhance_video": "egan_core.enhance.api",
    "EnhanceReport": "egan_core.enhance.api",
    "Enhancer": "egan_core.enhance.pipeline",
    "LossContext": "egan_core.losses",
    "AdversarialLoss": "egan_core.losses",
    "attention_map": "egan_core.generator_io",
    "enhance_with": "egan_core.generator_io",
    "Method": "egan_core.training.method",
    "StepContext": "egan_core.training.method",
    **{name: "egan_core.training.step" for name in (
        "Parts", "add_weighted_losses", "backward_sum", "check_finite", "generator_step", "loss_context")},
    **{name: "egan_core.contracts" for name in (
        "Generator", "Discriminator", "DeclaresValueRange", "DeclaresAttention", "PadsToMultiple",
        "HasInferenceForm", "ReadsForeignWeights", "ShipsWeights", "EnhancesUint8")},
}


def __getattr__(name: str) -> Any:
    """Import a torch-backed public name on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'egan_core' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AdversarialLoss",
    "CheckpointError",
    "DeclaresAttention",
    "DeclaresValueRange",
    "Discriminator",
    "DuplicateNameError",
    "EganError",
    "EnhanceReport",
    "Enhancer",
    "EnhancesUint8",
    "Generator",
    "HasInferenceForm",
    "InputError",
    "LossContext",
    "Method",
    "ObjectSpec",
    "PadsToMultiple",
    "Parts",
    "PluginError",
    "PluginManager",
    "ReadsForeignWeights",
    "Recipe",
    "RecipeError",
    "Registries",
    "Registry",
    "ShipsWeights",
    "StepContext",
    "TrainingError",
    "UnknownNameError",
    "UsageError",
    "add_weighted_losses",
    "attention_map",
    "backward_sum",
    "check_finite",
    "enhance_files",
    "enhance_video",
    "enhance_with",
    "generator_step",
    "get_plugin_manager",
    "get_registries",
    "hookimpl",
    "hookspec",
    "load_enhancer",
    "load_recipe",
    "loss_context",
    "train",
]

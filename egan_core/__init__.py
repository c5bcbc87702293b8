"""egan: a plugin framework for unsupervised low-light image enhancement GANs.

The public API: plugin authors use :data:`hookimpl`, :class:`ObjectSpec` and the
registries handed to ``egan_register``; users call :func:`load_recipe`, :func:`train`
and :func:`load_enhancer`.
"""

from __future__ import annotations

from typing import Any

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

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "DuplicateNameError",
    "EganError",
    "InputError",
    "ObjectSpec",
    "PluginError",
    "PluginManager",
    "Recipe",
    "RecipeError",
    "Registries",
    "Registry",
    "TrainingError",
    "UnknownNameError",
    "UsageError",
    "get_plugin_manager",
    "get_registries",
    "hookimpl",
    "hookspec",
    "load_enhancer",
    "load_recipe",
    "train",
]


def train(recipe: Any, *, overrides: Any = None, out: str = "runs", resume: bool = False,
          device: str = "auto", **kwargs: Any) -> Any:
    """Run a recipe (a path or a parsed :class:`Recipe`); returns ``(run_dir, metrics)``."""
    from egan_core.training.trainer import train as _train

    return _train(recipe, overrides=overrides, out=out, resume=resume, device=device, **kwargs)


def load_enhancer(name: str = "gan", **kwargs: Any) -> Any:
    """Build a callable enhancer; see :func:`egan_core.enhance.api.load_enhancer`."""
    from egan_core.enhance.api import load_enhancer as _load

    return _load(name, **kwargs)

"""Recipes: YAML -> validated, fully resolved, frozen dataclasses.

A recipe is parsed once. Every component is looked up in its registry and every kwarg is
checked against the component's signature (defaults filled in) before any tensor exists,
so ``egan recipe show`` already reports a misspelt loss or object.

- :mod:`~egan_core.recipe.schema`: the dataclasses and each fixed key's default and doc.
- :mod:`~egan_core.recipe.loading`: YAML, recipe paths (on disk or shipped), ``--set``.
- :mod:`~egan_core.recipe.resolve`: :func:`parse_recipe`, checks and component lookup.
"""

from egan_core.errors import EganError
from egan_core.recipe.loading import (
    configs_dir,
    load_recipe,
    packaged_recipes,
    parse_overrides,
    resolve_recipe_path,
    safe_load,
    set_path,
)
from egan_core.recipe.resolve import parse_recipe
from egan_core.recipe.schema import (
    DEFAULTS,
    INJECTED,
    KEY_DOCS,
    PRECISIONS,
    TRAIN_PRECISIONS,
    Component,
    DataSpec,
    Key,
    LossSpec,
    Recipe,
    TrainSpec,
    ValidationSpec,
    freeze,
    thaw,
)

__all__ = [
    "DEFAULTS",
    "INJECTED",
    "KEY_DOCS",
    "PRECISIONS",
    "TRAIN_PRECISIONS",
    "Component",
    "DataSpec",
    "EganError",
    "Key",
    "LossSpec",
    "Recipe",
    "TrainSpec",
    "ValidationSpec",
    "configs_dir",
    "freeze",
    "load_recipe",
    "packaged_recipes",
    "parse_overrides",
    "parse_recipe",
    "resolve_recipe_path",
    "safe_load",
    "set_path",
    "thaw",
]

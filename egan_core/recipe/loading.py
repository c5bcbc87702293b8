"""Reading recipes: YAML (safe loading only), recipe files on disk or shipped in the package,
and ``--set key.path=value`` overrides applied before the recipe is resolved."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from egan_core.errors import RecipeError
from egan_core.plugins import get_registries
from egan_core.recipe.resolve import method_defaults, parse_recipe
from egan_core.recipe.schema import Recipe, thaw
from egan_core.registry import Registries

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


def safe_load(text: str) -> Any:
    """Parse recipe YAML with ``yaml.safe_load`` (plain scalars, lists and mappings only)."""
    return yaml.safe_load(text)


def configs_dir() -> Traversable:
    """The installed ``configs/`` folder: the package ``egan_core.configs``.

    The recipes are package data, so a wheel, an editable install and a checkout all find
    them here, from any current directory.
    """
    return resources.files("egan_core.configs")


def resolve_recipe_path(path: str | Path) -> Path:
    """``path`` as given if it exists, else under the installed ``configs/`` folder."""
    given = Path(path)
    if given.is_file():
        return given
    folder = configs_dir()
    packaged = folder.joinpath(str(path))
    if packaged.is_file():
        return Path(str(packaged))
    shipped = ", ".join(f"recipes/{n}" for n in packaged_recipes()) or "(none shipped)"
    raise RecipeError(
        f"recipe '{path}' not found (looked in '{given.resolve()}' and in the installed configs"
        f" folder '{folder}'); give a path to a .yaml file or one of: {shipped}"
    )


def packaged_recipes() -> list[str]:
    """File names of the recipes shipped in ``configs/recipes``."""
    folder = configs_dir().joinpath("recipes")
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_recipe(
    path: str | Path | Mapping[str, Any],
    overrides: list[str] | Mapping[str, Any] | None = None,
    registries: Registries | None = None,
) -> Recipe:
    """Load, override, validate and resolve a recipe.

    Args:
        path: a YAML file (resolved as :func:`resolve_recipe_path` says) or a parsed dict.
        overrides: ``["a.b=c", ...]`` strings (values parsed as YAML) or a ``{"a.b": value}``.
        registries: where components are looked up (default: the installed plugins').

    Raises:
        RecipeError: unreadable YAML, unknown keys, wrong types or ranges.
        UnknownNameError: a component or object name nobody registered.
    """
    if isinstance(path, Mapping):
        raw, source, stem = copy.deepcopy(dict(path)), None, "recipe"
    else:
        file = resolve_recipe_path(path)
        try:
            raw = safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise RecipeError(f"cannot read recipe '{file}': {exc}") from exc
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            where = f" at line {line + 1}" if line is not None else ""
            raise RecipeError(f"recipe '{file}' is not valid YAML{where}: fix the syntax") from exc
        raw = {} if raw is None else raw
        source, stem = str(file), file.stem
    if not isinstance(raw, dict):
        raise RecipeError(f"a recipe must be a mapping of keys, got {type(raw).__name__}")
    parsed = parse_overrides(overrides)
    registries = registries or get_registries()
    for key, value in parsed:
        if key.startswith("losses.") and "losses" not in raw:
            # `--set losses.tv.weight=0.1` adds to the method's default losses rather than
            # replacing them (the method as the overrides before this one leave it)
            raw["losses"] = copy.deepcopy(thaw(method_defaults(raw, registries).get("losses", {})))
        set_path(raw, key, value)
    return parse_recipe(raw, registries, source=source, default_name=stem)


def parse_overrides(overrides: list[str] | Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """``["a.b=c", ...]`` (values parsed as YAML) or ``{"a.b": value}`` as ``(key, value)`` pairs."""
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return list(overrides.items())
    parsed = []
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or not all(p and not p.isspace() for p in key.split(".")):
            raise RecipeError(f"override '{item}' must look like key.path=value (e.g. train.lr=2e-4)")
        try:
            value = safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise RecipeError(
                f"override '{item}': the value is not valid YAML; quote it or fix the syntax"
            ) from exc
        parsed.append((key, value))
    return parsed


def set_path(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``raw[a][b][c] = value`` for ``dotted`` ``a.b.c``, creating missing mappings."""
    parts = dotted.split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise RecipeError(f"override '{dotted}': '{where}' is not a mapping")
        node = child
    node[parts[-1]] = value

"""Checks recipe kwargs against a component's signature and fills in its defaults."""

from __future__ import annotations

import difflib
import inspect
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from egan_core.errors import RecipeError

_MISSING = inspect.Parameter.empty


def parameters(factory: Any) -> tuple[dict[str, inspect.Parameter], dict[str, Any], bool]:
    """A factory's keyword-passable parameters, their type hints, and whether it takes
    ``**kwargs``; nothing (and ``**kwargs``) where Python cannot tell (builtins)."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return {}, {}, True
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable annotations: fall back to no type checks
        hints = {}
    params, var_kw = {}, False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            params[p.name] = p
    return params, hints, var_kw


def accepted(factory: Any) -> set[str]:
    """Names ``factory`` can be called with by keyword (empty where Python cannot tell)."""
    return set(parameters(factory)[0])


def component_kwargs(
    factory: Any,
    kwargs: Mapping[str, Any],
    where: str,
    what: str,
    injected: Iterable[str] = (),
    extra_valid: Iterable[str] = (),
) -> dict[str, Any]:
    """Validated kwargs for ``factory`` with every default filled in.

    Args:
        factory: a class or function registered as a component.
        kwargs: the recipe's kwargs for it.
        where: the recipe path of the section, for messages (``"losses.tv"``).
        what: how to name the component in messages (``"loss 'tv'"``).
        injected: parameter names the engine supplies (hidden from recipes).
        extra_valid: other keys valid in the same section (listed in messages).
    """
    params, hints, var_kw = parameters(factory)
    injected = set(injected)
    public = {n: p for n, p in params.items() if n not in injected}
    valid = sorted(set(public) | set(extra_valid))
    for key in kwargs:
        if key in injected:
            raise RecipeError(
                f"recipe key '{where}.{key}' is set by egan itself (from the recipe's"
                f" {'vgg.weights' if key == 'vgg_weights' else key}); remove it here"
            )
        if key not in public and not var_kw:
            raise RecipeError(unknown_key_message(f"recipe key '{where}.{key}'", key, valid, what))
    resolved: dict[str, Any] = {}
    for name, p in public.items():
        if name in kwargs:
            resolved[name] = check_type(kwargs[name], hints.get(name, _MISSING), f"{where}.{name}")
        elif p.default is not _MISSING:
            resolved[name] = p.default
        else:
            raise RecipeError(f"recipe key '{where}.{name}' is required by {what}")
    for key in kwargs:
        if key not in resolved:
            resolved[key] = kwargs[key]
    return resolved


def unknown_key_message(named: str, key: str, valid: Iterable[str], what: str) -> str:
    """The one-line "unknown key" error of recipes and enhancer options, with a guess.

    ``named`` is how the key is quoted (``"recipe key 'data.sise'"``); ``valid`` the keys
    that would have been accepted.
    """
    valid = sorted(valid)
    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
    guess = f" did you mean '{close[0]}'?" if close else ""
    return f"unknown {named} for {what};{guess} valid keys: {', '.join(valid) or '(none)'}"


def check_options(factory: Any, options: Mapping[str, Any], where: str, what: str,
                  injected: Iterable[str] = ()) -> dict[str, Any]:
    """Options given for ``factory`` outside a recipe (``--enhancer clahe:tiles=4``), checked
    as recipe kwargs are: known names, values of the annotated type (converted, e.g. 3 to
    3.0). Only the given options come back; the factory keeps its own defaults.

    Args:
        factory: a registered class or function.
        options: name -> value, as the user gave them.
        where: how the user wrote the owner (``"clahe"``), quoted as ``where:key``.
        what: how to name the component in messages (``"enhancer 'clahe'"``).
        injected: parameter names the engine supplies (refused here).

    Raises:
        RecipeError: an unknown or injected name, or a value of the wrong type.
    """
    params, hints, var_kw = parameters(factory)
    injected = set(injected)
    valid = sorted(n for n in params if n not in injected)
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key in injected:
            raise RecipeError(f"option '{where}:{key}' is set by egan itself; remove it")
        if key not in params and not var_kw:
            raise RecipeError(unknown_key_message(f"option '{where}:{key}'", key, valid, what))
        out[key] = check_type(value, hints.get(key, _MISSING), f"{where}:{key}")
    return out


def check_type(value: Any, annotation: Any, key: str) -> Any:
    """``value`` if it fits ``annotation`` (ints widen to float, lists to tuples), else raise."""
    if annotation is _MISSING or annotation is Any:
        return value
    ok, converted = _fits(value, annotation)
    if not ok:
        raise RecipeError(f"{key} must be {_describe(annotation)}, got {value!r}")
    return converted


_YAML11_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


def float_from_yaml(value: Any) -> Any:
    """``1e-4`` as a float: YAML 1.1 (PyYAML's ``safe_load``) reads it as a string, while
    everyone typing ``--set train.lr=1e-4`` means a number. Other values pass unchanged."""
    if isinstance(value, str) and _YAML11_FLOAT.match(value.strip()):
        return float(value.replace("_", ""))
    return value


def _fits(value: Any, ann: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(ann)
    if ann is type(None):
        return value is None, value
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(ann):
            ok, conv = _fits(value, arg)
            if ok:
                return True, conv
        return False, value
    if origin is typing.Literal:
        # type-exact, so True does not pass for Literal[1] nor 1.0 for Literal[1]
        return any(type(value) is type(a) and value == a for a in typing.get_args(ann)), value
    if ann is bool:
        return isinstance(value, bool), value
    if ann is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if ann is float:
        value = float_from_yaml(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, float(value)
        return False, value
    if ann is str:
        return isinstance(value, str), value
    if origin in (tuple, list) or ann in (tuple, list):
        if not isinstance(value, (list, tuple)):
            return False, value
        all_args = typing.get_args(ann)
        args = [a for a in all_args if a is not Ellipsis]
        if not args:
            return True, tuple(value)
        if origin is list or Ellipsis in all_args:
            per_item = [args[0]] * len(value)
        elif len(args) == len(value):  # tuple[int, int]: fixed length, one type per place
            per_item = args
        else:
            return False, value
        items = []
        for item, item_ann in zip(value, per_item, strict=True):
            ok, conv = _fits(item, item_ann)
            if not ok:
                return False, value
            items.append(conv)
        return True, tuple(items)
    if isinstance(ann, type):
        return isinstance(value, ann), value
    return True, value


def _describe(ann: Any) -> str:
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(ann))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(ann))
    if ann is type(None):
        return "null"
    words = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    if ann in words:
        return words[ann]
    if origin in (tuple, list) or ann in (tuple, list):
        args = typing.get_args(ann)
        if origin is tuple and args and Ellipsis not in args:
            return f"a list of {len(args)}: " + ", ".join(_describe(a) for a in args)
        return f"a list of {_describe(args[0])}" if args else "a list"
    return getattr(ann, "__name__", str(ann))

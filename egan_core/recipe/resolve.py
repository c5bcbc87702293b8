"""Raw recipe mapping -> :class:`Recipe`: key, type and range checks, then every component
looked up in its registry and its kwargs checked against its signature.

This runs before any tensor exists, so ``egan recipe show`` already reports a misspelt
loss or object. Components raise plain errors; the messages here carry the recipe key path.
"""

from __future__ import annotations

import copy
import difflib
import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from egan_core.errors import RecipeError
from egan_core.recipe.schema import (
    ADVERSARIAL_KEYS,
    AUTO_OR_BOOL,
    AUTO_OR_COUNT,
    DEFAULTS,
    DISCRIMINATOR_KEYS,
    GENERATOR_KEYS,
    INJECTED,
    LOSS_WEIGHT,
    TOP_KEYS,
    VGG_KEYS,
    Component,
    DataSpec,
    Key,
    LossSpec,
    Recipe,
    TrainSpec,
    ValidationSpec,
    freeze,
    section_keys,
    thaw,
)
from egan_core.registry import Entry, Registries
from egan_core.signature import component_kwargs, float_from_yaml


def parse_recipe(
    raw: Mapping[str, Any],
    registries: Registries,
    *,
    source: str | None = None,
    default_name: str = "recipe",
) -> Recipe:
    """Validate a raw recipe mapping and resolve every component in ``registries``."""
    _check_keys(raw, DEFAULTS, "")
    method = _method(raw, registries)
    method_cls = registries.methods.get(method.name)
    raw = with_defaults(raw, method_cls.defaults)
    name = raw.get("name") or default_name
    _check_name(name)
    seed = _value(raw.get("seed", TOP_KEYS["seed"].default), TOP_KEYS["seed"], "seed")

    data_raw = _section(raw, "data")
    data = _take(data_raw, section_keys(DataSpec), "data.")
    dataset = _component(registries, "datasets", data.pop("dataset"), data_raw, "data",
                         extra_valid=tuple(section_keys(DataSpec)))
    obj = dataset.kwargs.get("object")
    for label in (obj if isinstance(obj, tuple) else (obj,)):
        if isinstance(label, str):
            registries.find_object(label)

    model = _section(raw, "model")
    _check_keys(model, DEFAULTS["model"], "model.")
    gen_raw = _section(model, "generator", "model.")
    _need_name(gen_raw, "model.generator", "generator", method.name)
    gen = _take(gen_raw, GENERATOR_KEYS, "model.generator.")
    generator = _component(registries, "generators", gen["name"], gen_raw, "model.generator",
                           extra_valid=tuple(GENERATOR_KEYS))

    discriminator = None
    _check_discriminator_use(method_cls, method.name, model.get("discriminator") is not None)
    if "discriminator" not in model or model["discriminator"] is not None:
        d_raw = _section(model, "discriminator", "model.")
        _need_name(d_raw, "model.discriminator", "discriminator", method.name)
        d_name = _take(d_raw, DISCRIMINATOR_KEYS, "model.discriminator.")["name"]
        discriminator = _component(registries, "discriminators", d_name, d_raw,
                                   "model.discriminator", extra_valid=tuple(DISCRIMINATOR_KEYS))
        _check_patch_fits(dataset, discriminator)

    adv = _section(raw, "adversarial")
    _check_keys(adv, ADVERSARIAL_KEYS, "adversarial.")
    adversarial = _take(adv, ADVERSARIAL_KEYS, "adversarial.")
    for key, loss_name in adversarial.items():
        if loss_name is None:
            if discriminator is not None and method_cls.discriminator != "none":
                raise RecipeError(f"adversarial.{key}: method '{method.name}' names no default;"
                                  " set it to a registered adversarial loss")
            continue
        if _is_adversarial(registries.losses.get(loss_name)) is False:
            adv_names = [e.name for e in registries.losses if _is_adversarial(e.factory) is not False]
            raise RecipeError(
                f"adversarial.{key}: loss '{loss_name}' is not an adversarial loss;"
                f" adversarial losses: {', '.join(adv_names) or '(none registered)'}"
            )

    losses = _losses(raw.get("losses", DEFAULTS["losses"]), registries)

    vgg = _section(raw, "vgg")
    _check_keys(vgg, VGG_KEYS, "vgg.")
    vgg_weights = _take(vgg, VGG_KEYS, "vgg.")["weights"]

    train_raw = _section(raw, "train")
    _check_keys(train_raw, DEFAULTS["train"], "train.")
    train = TrainSpec(**_take(train_raw, section_keys(TrainSpec), "train."))

    validation = None
    if raw.get("validation") is not None:
        val_raw = _section(raw, "validation")
        val = _take(val_raw, section_keys(ValidationSpec), "validation.")
        val_comp = _component(registries, "datasets", val.pop("dataset"), val_raw, "validation",
                              extra_valid=tuple(section_keys(ValidationSpec)))
        validation = ValidationSpec(val_comp, **val)

    recipe = Recipe(
        name=name,
        seed=seed,
        data=DataSpec(dataset, **data),
        generator=generator,
        generator_init=gen["init"],
        discriminator=discriminator,
        adversarial=MappingProxyType(adversarial),
        losses=losses,
        vgg_weights=vgg_weights,
        train=train,
        source=source,
        validation=validation,
        method=method,
    )
    method_cls.check(recipe, method.name)
    _try_method(method_cls, method, registries.methods.entry(method.name))
    return recipe


def _check_discriminator_use(factory: Any, name: str, has_discriminator: bool) -> None:
    """The method's ``discriminator`` (required / none / optional) against the recipe's."""
    use = getattr(factory, "discriminator", "optional")
    if use == "required" and not has_discriminator:
        raise RecipeError(f"method '{name}' trains a discriminator: set model.discriminator"
                          " to a registered discriminator, or choose another method")
    if use == "none" and has_discriminator:
        raise RecipeError(f"method '{name}' trains no discriminator: set model.discriminator:"
                          " null, or choose another method")


def _try_method(factory: Any, method: Component, entry: Entry) -> None:
    """Build the method once, so a value it rejects fails with the recipe (methods hold no
    tensors: this is cheap); its message is keyed ``method.<kwarg>`` when it names one, and
    names the plugin that registered the method when it is not egan's own."""
    try:
        factory(**thaw(method.kwargs))
    except (TypeError, ValueError) as exc:
        message = str(exc)
        keyed = message.split(" ", 1)[0] in method.kwargs
        where = f"method.{message}" if keyed else f"method '{method.name}': {message}"
        raise RecipeError(where + entry.plugin_note()) from exc


def _method(raw: Mapping[str, Any], registries: Registries) -> Component:
    """The recipe's ``method:`` (a name or ``{name: ..., kwargs}``), or the inferred one."""
    spec = raw.get("method")
    if spec is None:
        return Component(infer_method(raw, registries), MappingProxyType({}))
    if isinstance(spec, str):
        name, kwargs = spec, {}
    elif isinstance(spec, Mapping):
        kwargs = dict(spec)
        name = kwargs.pop("name", None)
        if not isinstance(name, str):
            raise RecipeError(f"method.name must name a registered method, got {name!r};"
                              f" registered: {', '.join(registries.methods.names()) or '(none)'}")
    else:
        raise RecipeError(f"method must be a method name or a mapping with name: and its keys,"
                          f" got {spec!r}")
    return _component(registries, "methods", name, kwargs, "method", extra_valid=("name",))


def infer_method(raw: Mapping[str, Any], registries: Registries) -> str:
    """The first registered method (in name order) whose ``infer`` claims ``raw``."""
    for entry in registries.methods:
        infer = getattr(entry.factory, "infer", None)
        if callable(infer) and infer(raw):
            return entry.name
    names = ", ".join(registries.methods.names()) or "(none registered; see 'egan plugins')"
    raise RecipeError(f"method: no registered method trains this recipe by default; name one"
                      f" under method: (registered: {names})")


def method_defaults(raw: Mapping[str, Any], registries: Registries) -> Mapping[str, Any]:
    """The defaults of the method ``raw`` trains with (its ``losses`` are what ``--set
    losses.NAME...`` adds to when the recipe has no ``losses:`` section)."""
    return registries.methods.get(_method(raw, registries).name).defaults


def with_defaults(raw: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` with the sections it leaves out taken from a method's ``defaults``.

    A section the recipe writes is kept as written, down to the generator's and the
    discriminator's name and each adversarial key (``model.discriminator: null`` stays
    null); the method's default losses apply only to a recipe without ``losses:``.
    """
    out = dict(raw)
    d_model = defaults.get("model") or {}
    model = out.get("model")
    if model is None or isinstance(model, Mapping):
        model = dict(model or {})
        if "generator" in d_model:
            gen = model.get("generator")
            if gen is None:
                model["generator"] = copy.deepcopy(dict(d_model["generator"]))
            elif isinstance(gen, Mapping) and "name" not in gen:
                model["generator"] = {"name": d_model["generator"]["name"], **gen}
        if "discriminator" in d_model:
            default_disc = d_model["discriminator"]
            if "discriminator" not in model:
                model["discriminator"] = copy.deepcopy(None if default_disc is None else dict(default_disc))
            elif isinstance(model["discriminator"], Mapping) and "name" not in model["discriminator"] \
                    and default_disc is not None:
                model["discriminator"] = {"name": default_disc["name"], **model["discriminator"]}
        out["model"] = model
    if "adversarial" in defaults:
        adv = out.get("adversarial")
        if adv is None or isinstance(adv, Mapping):
            out["adversarial"] = {**defaults["adversarial"], **(adv or {})}
    if "losses" not in out and "losses" in defaults:
        out["losses"] = copy.deepcopy(thaw(defaults["losses"]))
    if "vgg" in defaults:
        vgg = out.get("vgg")
        if vgg is None or isinstance(vgg, Mapping):
            out["vgg"] = {**defaults["vgg"], **(vgg or {})}
    return out


def _need_name(section: Mapping[str, Any], where: str, kind: str, method: str) -> None:
    """A component section without ``name`` (and none from the method) fails naming both."""
    if section.get("name") is None:
        raise RecipeError(f"{where}.name: method '{method}' has no default {kind}; set {where}.name"
                          f" to a registered {kind} (see 'egan plugins')")


def _losses(losses_raw: Any, registries: Registries) -> tuple[LossSpec, ...]:
    if losses_raw is None:
        losses_raw = {}
    if not isinstance(losses_raw, Mapping):
        raise RecipeError("losses must map loss names to {weight: ..., kwargs}")
    losses = []
    for loss_name, spec in losses_raw.items():
        spec = {} if spec is None else spec
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            spec = {"weight": spec}
        if not isinstance(spec, Mapping):
            raise RecipeError(f"losses.{loss_name} must be a mapping like {{weight: 1.0}}")
        spec = dict(spec)
        weight = _take(spec, {"weight": LOSS_WEIGHT}, f"losses.{loss_name}.")["weight"]
        comp = _component(registries, "losses", str(loss_name), spec, f"losses.{loss_name}",
                          extra_valid=("weight",))
        if _is_adversarial(registries.losses.get(comp.name)) is True:
            raise RecipeError(
                f"losses.{loss_name} is an adversarial loss; choose it with"
                f" adversarial.global or adversarial.local instead"
            )
        losses.append(LossSpec(comp.name, weight, comp.kwargs))
    return tuple(losses)


def _take(raw: dict[str, Any], keys: Mapping[str, Key], prefix: str) -> dict[str, Any]:
    """Pop each fixed key out of ``raw`` (what is left are component kwargs), checked."""
    return {name: _value(raw.pop(name, k.default), k, prefix + name) for name, k in keys.items()}


def _value(value: Any, k: Key, where: str) -> Any:
    """A recipe value checked against its :class:`Key`; ``where`` is its key path, for messages."""
    if value is None and k.nullable:
        return None
    if k.kind == AUTO_OR_BOOL:
        if value == "auto" or isinstance(value, bool):
            return value
        raise RecipeError(f"{where} must be true, false or auto, got {value!r}")
    if k.kind == AUTO_OR_COUNT:
        if value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecipeError(f"{where} must be auto or a whole number, got {value!r}")
        return _ranged(value, k.low, where) if k.low is not None else value
    value = _typed(value, k.kind, where)
    if k.kind is float:
        value = float(value)
    if k.low is not None:
        value = _ranged(value, k.low, where)
    problem = k.check(value) if k.check is not None else None
    if problem is not None:
        raise RecipeError(f"{where} {problem}")
    return value


def _component(
    registries: Registries,
    kind: str,
    name: str,
    kwargs: dict[str, Any],
    where: str,
    extra_valid: tuple[str, ...] = (),
) -> Component:
    factory = getattr(registries, kind).get(name)
    resolved = component_kwargs(factory, kwargs, where, f"{getattr(registries, kind).singular} '{name}'",
                                INJECTED, extra_valid)
    return Component(name, MappingProxyType(freeze(resolved)))


def _check_patch_fits(dataset: Component, discriminator: Component) -> None:
    """The discriminator's patches are cropped from the training images: ``data.size`` must
    exceed ``model.discriminator.patch_size`` (crop offsets run over ``[0, size - s - 1]``)."""
    size, patch = dataset.kwargs.get("size"), discriminator.kwargs.get("patch_size")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (size, patch)):
        return
    if size <= patch:
        raise RecipeError(
            f"data.size ({size}) must be larger than model.discriminator.patch_size ({patch}):"
            " the patches are cropped from the training images; raise data.size or lower the patch size"
        )


def _is_adversarial(factory: Any) -> bool | None:
    """Whether a loss class follows the AdversarialLoss contract (``d_loss`` and ``g_loss``).

    ``None`` for a builder function: what it builds is only known when training starts.
    """
    if not inspect.isclass(factory):
        return None
    return callable(getattr(factory, "d_loss", None)) and callable(getattr(factory, "g_loss", None))


def _section(raw: Mapping[str, Any], key: str, prefix: str = "") -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RecipeError(f"{prefix}{key} must be a mapping, got {type(value).__name__} ({value!r})")
    return dict(value)


def _check_keys(raw: Mapping[str, Any], valid: Mapping[str, Any], prefix: str) -> None:
    for key in raw:
        if key not in valid:
            close = difflib.get_close_matches(str(key), list(valid), n=1, cutoff=0.6)
            guess = f" did you mean '{prefix}{close[0]}'?" if close else ""
            raise RecipeError(
                f"unknown recipe key '{prefix}{key}';{guess} valid keys here:"
                f" {', '.join(prefix + k for k in valid)}"
            )


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name or name in (".", "..") or any(c in name for c in "/\\\0:"):
        raise RecipeError(
            f"name must be a plain folder name (no '/', '\\', ':' or '..'), got {name!r}"
        )


_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _typed(value: Any, typ: type, key: str) -> Any:
    if typ is float:
        value = float_from_yaml(value)
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ is int and isinstance(value, bool):
        raise RecipeError(f"{key} must be an integer, got {value!r}")
    if not isinstance(value, typ):
        raise RecipeError(f"{key} must be {_TYPE_WORDS.get(typ, typ.__name__)}, got {value!r}")
    return value


def _ranged(value: Any, low: float, key: str) -> Any:
    if value < low:
        raise RecipeError(f"{key} must be >= {low}, got {value}")
    return value

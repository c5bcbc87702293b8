"""Recipes: YAML -> validated, fully resolved, frozen dataclasses.

A recipe is parsed once. Every component is looked up in its registry and every kwarg is
checked against the component's signature (defaults filled in) before any tensor exists,
so ``egan recipe show`` already reports a misspelt loss or object.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from egan_core.errors import EganError, RecipeError
from egan_core.plugins import get_registries
from egan_core.registry import Registries
from egan_core.signature import component_kwargs, float_from_yaml

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

#: Names a component may take that the engine injects; recipes never set them. ``section``
#: is the recipe path of the component's own block (``data``, ``validation``), for messages.
INJECTED = frozenset({"vgg_weights", "seed", "section"})

DEFAULTS: dict[str, Any] = {
    "name": None,  # default: the recipe file's stem
    "seed": 0,
    "data": {"dataset": "unpaired", "batch_size": 32, "workers": 2},
    "model": {
        "generator": {"name": "attention_unet", "init": None},
        "discriminator": {"name": "global_local"},
    },
    "adversarial": {"global": "ralsgan", "local": "lsgan"},
    "losses": {"relu5_1": {"weight": 1.0}},
    "vgg": {"weights": "imagenet"},
    "validation": None,  # or {dataset: NAME, every: STEPS, **dataset kwargs}
    "train": {
        "epochs": 100,
        "decay_epochs": 100,
        "lr": 1.0e-4,
        "beta1": 0.5,
        "beta2": 0.999,
        "weight_decay": 0.0,
        "grad_clip": None,
        "max_steps": None,
        "accumulate": 1,
        "precision": "auto",
        "save_every": 5,
        "sample_every": 100,
        "log_every": 10,
        "channels_last": "auto",
        "compile": False,
    },
}

#: One line of documentation per fixed key (shown by ``egan recipe keys`` and the README).
KEY_DOCS: dict[str, str] = {
    "name": "run name; output goes to OUT/<name>/ (default: the recipe file's stem)",
    "seed": "seed of every random choice (data order, crops, darkening, patches, init)",
    "data.dataset": "registered dataset; its own kwargs sit beside this key",
    "data.batch_size": "images per step (the paper: 32, the fork: 2)",
    "data.workers": "DataLoader worker processes (0 = load in the main process)",
    "model.generator.name": "registered generator; its kwargs sit beside this key",
    "model.generator.init": "start from weights: an original *_net_G_A.pth, an egan checkpoint or 'default'",
    "model.discriminator.name": "registered discriminator (model.discriminator: null = supervised training)",
    "adversarial.global": "adversarial loss of the whole-image discriminator",
    "adversarial.local": "adversarial loss of the patch discriminator",
    "losses.<name>.weight": "weight of a generator-side loss; its kwargs sit beside it",
    "vgg.weights": "VGG16 for feature losses: imagenet | none | <path>",
    "validation": "null, {dataset: paired, every: STEPS, ...}: val_psnr against paired targets, or"
                  " {dataset: noref, root: DIR, every: STEPS}: val_niqe, val_brightness and a sample"
                  " grid of a few low-light photos without targets",
    "train.epochs": "epochs at the full learning rate (the original keeps lr one more epoch)",
    "train.decay_epochs": "epochs of linear decay after that",
    "train.lr": "Adam learning rate of G and both Ds",
    "train.beta1": "Adam beta1",
    "train.beta2": "Adam beta2",
    "train.weight_decay": "Adam weight decay (L2 added to the gradients, torch.optim.Adam's); 0 = none",
    "train.grad_clip": "clip each optimizer's gradients to this total L2 norm before its step; null = none",
    "train.max_steps": "stop after this many iterations (smoke runs); null = no limit",
    "train.accumulate": "gradient accumulation steps per optimizer step",
    "train.precision": "auto | fp32 | bf16 | fp16 autocast; auto: bf16 only where native and"
                       " faster in a probe (cached per machine), else fp32",
    "train.save_every": "also keep a checkpoint every N epochs (the latest is always kept)",
    "train.sample_every": "write a sample grid every N steps (0 = never)",
    "train.log_every": "log metrics every N steps",
    "train.channels_last": "auto | true | false: channels_last memory format; auto measures it",
    "train.compile": "torch.compile the generator",
}

_PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Component:
    """A registered component chosen by a recipe, with its resolved kwargs."""

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LossSpec:
    """A generator-side loss with its weight."""

    name: str
    weight: float
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DataSpec:
    dataset: Component
    batch_size: int
    workers: int


@dataclass(frozen=True)
class ValidationSpec:
    """Data scored every ``every`` steps and at the end: PSNR against paired targets, or NIQE
    and brightness for a no-reference set (``noref``)."""

    dataset: Component
    every: int


@dataclass(frozen=True)
class TrainSpec:
    epochs: int
    decay_epochs: int
    lr: float
    beta1: float
    beta2: float
    max_steps: int | None
    accumulate: int
    precision: str
    save_every: int
    sample_every: int
    log_every: int
    channels_last: bool | str
    compile: bool
    weight_decay: float = 0.0
    grad_clip: float | None = None


@dataclass(frozen=True)
class Recipe:
    """A resolved recipe. ``as_dict()`` gives the YAML form (every default filled in)."""

    name: str
    seed: int
    data: DataSpec
    generator: Component
    generator_init: str | None
    discriminator: Component | None
    adversarial: Mapping[str, str]
    losses: tuple[LossSpec, ...]
    vgg_weights: str
    train: TrainSpec
    source: str | None = None
    validation: ValidationSpec | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict in recipe layout, loadable again by :func:`parse_recipe`."""
        disc = None
        if self.discriminator is not None:
            disc = {"name": self.discriminator.name, **_thaw(self.discriminator.kwargs)}
        return {
            "name": self.name,
            "seed": self.seed,
            "data": {
                "dataset": self.data.dataset.name,
                "batch_size": self.data.batch_size,
                "workers": self.data.workers,
                **_thaw(self.data.dataset.kwargs),
            },
            "model": {
                "generator": {
                    "name": self.generator.name,
                    "init": self.generator_init,
                    **_thaw(self.generator.kwargs),
                },
                "discriminator": disc,
            },
            "adversarial": dict(self.adversarial),
            "losses": {
                spec.name: {"weight": spec.weight, **_thaw(spec.kwargs)} for spec in self.losses
            },
            "vgg": {"weights": self.vgg_weights},
            "validation": None if self.validation is None else {
                "dataset": self.validation.dataset.name,
                "every": self.validation.every,
                **_thaw(self.validation.dataset.kwargs),
            },
            "train": {k: getattr(self.train, k) for k in DEFAULTS["train"]},
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.as_dict(), sort_keys=False)


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
            raise RecipeError(f"cannot read recipe '{file}': {exc}") from None
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            where = f" at line {line + 1}" if line is not None else ""
            raise RecipeError(f"recipe '{file}' is not valid YAML{where}: fix the syntax") from None
        raw = {} if raw is None else raw
        source, stem = str(file), file.stem
    if not isinstance(raw, dict):
        raise RecipeError(f"a recipe must be a mapping of keys, got {type(raw).__name__}")
    parsed = _parse_overrides(overrides)
    if "losses" not in raw and any(k.startswith("losses.") for k, _ in parsed):
        # `--set losses.tv.weight=0.1` adds to the default losses rather than replacing them
        raw["losses"] = copy.deepcopy(DEFAULTS["losses"])
    for key, value in parsed:
        _set_path(raw, key, value)
    return parse_recipe(raw, registries or get_registries(), source=source, default_name=stem)


def _parse_overrides(overrides: list[str] | Mapping[str, Any] | None) -> list[tuple[str, Any]]:
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
        except yaml.YAMLError:
            raise RecipeError(
                f"override '{item}': the value is not valid YAML; quote it or fix the syntax"
            ) from None
        parsed.append((key, value))
    return parsed


def _set_path(raw: dict[str, Any], dotted: str, value: Any) -> None:
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


def parse_recipe(
    raw: Mapping[str, Any],
    registries: Registries,
    *,
    source: str | None = None,
    default_name: str = "recipe",
) -> Recipe:
    """Validate a raw recipe mapping and resolve every component in ``registries``."""
    _check_keys(raw, DEFAULTS, "")
    name = raw.get("name") or default_name
    _check_name(name)
    seed = _ranged(_typed(raw.get("seed", DEFAULTS["seed"]), int, "seed"), 0, "seed")

    data_raw = _section(raw, "data")
    dataset_name = _typed(data_raw.pop("dataset", "unpaired"), str, "data.dataset")
    batch_size = _ranged(_typed(data_raw.pop("batch_size", 32), int, "data.batch_size"), 1, "data.batch_size")
    workers = _ranged(_typed(data_raw.pop("workers", 2), int, "data.workers"), 0, "data.workers")
    dataset = _component(registries, "datasets", dataset_name, data_raw, "data",
                         extra_valid=("dataset", "batch_size", "workers"))
    obj = dataset.kwargs.get("object")
    for label in (obj if isinstance(obj, tuple) else (obj,)):
        if isinstance(label, str):
            registries.find_object(label)

    model = _section(raw, "model")
    _check_keys(model, DEFAULTS["model"], "model.")
    gen_raw = _section(model, "generator", "model.")
    gen_name = _typed(gen_raw.pop("name", "attention_unet"), str, "model.generator.name")
    init = gen_raw.pop("init", None)
    if init is not None:
        init = _typed(init, str, "model.generator.init")
    generator = _component(registries, "generators", gen_name, gen_raw, "model.generator",
                           extra_valid=("name", "init"))

    discriminator = None
    if "discriminator" not in model or model["discriminator"] is not None:
        d_raw = _section(model, "discriminator", "model.")
        d_name = _typed(d_raw.pop("name", "global_local"), str, "model.discriminator.name")
        discriminator = _component(registries, "discriminators", d_name, d_raw,
                                   "model.discriminator", extra_valid=("name",))
        _check_patch_fits(dataset, discriminator)

    adv = _section(raw, "adversarial")
    _check_keys(adv, DEFAULTS["adversarial"], "adversarial.")
    adversarial = {k: _typed(adv.get(k, v), str, f"adversarial.{k}")
                   for k, v in DEFAULTS["adversarial"].items()}
    for key, loss_name in adversarial.items():
        if _is_adversarial(registries.losses.get(loss_name)) is False:
            adv_names = [e.name for e in registries.losses if _is_adversarial(e.factory) is not False]
            raise RecipeError(
                f"adversarial.{key}: loss '{loss_name}' is not an adversarial loss;"
                f" adversarial losses: {', '.join(adv_names) or '(none registered)'}"
            )

    losses_raw = raw.get("losses", DEFAULTS["losses"])
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
        weight = float(_typed(spec.pop("weight", 1.0), float, f"losses.{loss_name}.weight"))
        if not math.isfinite(weight):
            raise RecipeError(f"losses.{loss_name}.weight must be a finite number, got {weight}")
        comp = _component(registries, "losses", str(loss_name), spec, f"losses.{loss_name}",
                          extra_valid=("weight",))
        if _is_adversarial(registries.losses.get(comp.name)) is True:
            raise RecipeError(
                f"losses.{loss_name} is an adversarial loss; choose it with"
                f" adversarial.global or adversarial.local instead"
            )
        losses.append(LossSpec(comp.name, weight, comp.kwargs))

    vgg = _section(raw, "vgg")
    _check_keys(vgg, DEFAULTS["vgg"], "vgg.")
    vgg_weights = _typed(vgg.get("weights", "imagenet"), str, "vgg.weights")

    train_raw = _section(raw, "train")
    _check_keys(train_raw, DEFAULTS["train"], "train.")
    train = _train_spec(train_raw)

    validation = None
    if raw.get("validation") is not None:
        val_raw = _section(raw, "validation")
        val_name = _typed(val_raw.pop("dataset", "paired"), str, "validation.dataset")
        every = _ranged(_typed(val_raw.pop("every", 500), int, "validation.every"), 1,
                        "validation.every")
        val_comp = _component(registries, "datasets", val_name, val_raw, "validation",
                              extra_valid=("dataset", "every"))
        validation = ValidationSpec(val_comp, every)

    return Recipe(
        name=name,
        seed=seed,
        data=DataSpec(dataset, batch_size, workers),
        generator=generator,
        generator_init=init,
        discriminator=discriminator,
        adversarial=MappingProxyType(adversarial),
        losses=tuple(losses),
        vgg_weights=vgg_weights,
        train=train,
        source=source,
        validation=validation,
    )


def _auto_or_bool(value: Any, key: str) -> bool | str:
    if value == "auto" or isinstance(value, bool):
        return value
    raise RecipeError(f"{key} must be true, false or auto, got {value!r}")


def _train_spec(t: Mapping[str, Any]) -> TrainSpec:
    d = DEFAULTS["train"]

    def get(key: str, typ: type, low: float | None = None) -> Any:
        value = _typed(t.get(key, d[key]), typ, f"train.{key}")
        return value if low is None else _ranged(value, low, f"train.{key}")

    max_steps = t.get("max_steps", None)
    if max_steps is not None:
        max_steps = _ranged(_typed(max_steps, int, "train.max_steps"), 1, "train.max_steps")
    lr = float(get("lr", float))
    if lr <= 0:
        raise RecipeError(f"train.lr must be > 0, got {lr}")
    if not math.isfinite(lr):
        raise RecipeError(f"train.lr must be a finite number, got {lr}")
    precision = get("precision", str)
    if precision not in _PRECISIONS:
        raise RecipeError(f"train.precision must be one of {', '.join(_PRECISIONS)}, got '{precision}'")
    grad_clip = t.get("grad_clip", None)
    if grad_clip is not None:
        grad_clip = float(_typed(grad_clip, float, "train.grad_clip"))
        if not (grad_clip > 0 and math.isfinite(grad_clip)):
            raise RecipeError(f"train.grad_clip must be a positive number or null, got {grad_clip}")
    beta1, beta2 = float(get("beta1", float)), float(get("beta2", float))
    for key, beta in (("beta1", beta1), ("beta2", beta2)):
        if not 0 <= beta < 1:
            raise RecipeError(f"train.{key} must be in [0, 1), got {beta}")
    return TrainSpec(
        epochs=get("epochs", int, 0),
        decay_epochs=get("decay_epochs", int, 0),
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        max_steps=max_steps,
        accumulate=get("accumulate", int, 1),
        precision=precision,
        save_every=get("save_every", int, 0),
        sample_every=get("sample_every", int, 0),
        log_every=get("log_every", int, 1),
        channels_last=_auto_or_bool(t.get("channels_last", d["channels_last"]), "train.channels_last"),
        compile=get("compile", bool),
        weight_decay=_ranged(float(get("weight_decay", float)), 0, "train.weight_decay"),
        grad_clip=grad_clip,
    )


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
    return Component(name, MappingProxyType(_freeze(resolved)))


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


_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    return value


__all__ = ["Recipe", "Component", "LossSpec", "load_recipe", "parse_recipe", "EganError"]

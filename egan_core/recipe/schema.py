"""What a recipe holds: the resolved dataclasses and, on their fields, each fixed key's
default, documentation and bounds.

Every fixed key is declared once, as a :class:`Key`; ``DEFAULTS`` (the YAML layout that
``egan recipe show`` prints), ``KEY_DOCS`` (what ``egan recipe keys`` prints) and the
parser in :mod:`egan_core.recipe.resolve` are all derived from these declarations, so a
new key cannot be documented, defaulted and checked in three different ways.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

import yaml

#: Names a component may take that the engine injects; recipes never set them. ``section``
#: is the recipe path of the component's own block (``data``, ``validation``), for messages.
INJECTED = frozenset({"vgg_weights", "seed", "section"})

#: The values of ``train.precision`` (enhancement has its own set,
#: :data:`egan_core.enhance.forward_paths.ENHANCE_PRECISIONS`: no fp16 on the CPU).
TRAIN_PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: Former name of :data:`TRAIN_PRECISIONS`, kept for old imports.
PRECISIONS = TRAIN_PRECISIONS

#: ``Key.kind`` of a key that takes ``true``, ``false`` or ``auto``.
AUTO_OR_BOOL = "auto_or_bool"
#: ``Key.kind`` of a key that takes ``auto`` or a whole number (at least ``Key.low``).
AUTO_OR_COUNT = "auto_or_count"


@dataclass(frozen=True)
class Key:
    """One fixed recipe key: its default, one line of documentation and what it accepts.

    ``check`` returns what is wrong with an (already typed) value, phrased to follow the
    key's name (``"must be > 0, got -1.0"``), or ``None`` when the value is fine.
    """

    default: Any
    doc: str
    kind: type | str = str
    low: float | None = None
    nullable: bool = False
    check: Callable[[Any], str | None] | None = None


def key(default: Any, doc: str, kind: type | str = str, **rules: Any) -> Any:
    """A dataclass field whose default and :class:`Key` (in ``metadata["key"]``) agree.

    ``{default}`` in ``doc`` is replaced by the default, for keys whose default is not
    visible in ``egan recipe show`` (those of an optional section).
    """
    doc = doc.replace("{default}", str(default))
    return field(default=default, metadata={"key": Key(default, doc, kind, **rules)})


def component_key(default_name: str, doc: str) -> Any:
    """A field holding a :class:`Component`; the recipe key is its name (default ``default_name``)."""
    return field(metadata={"key": Key(default_name, doc.replace("{default}", default_name), str)})


def section_keys(cls: type) -> dict[str, Key]:
    """The fixed keys of a section dataclass, in field order (the order YAML shows them)."""
    return {f.name: f.metadata["key"] for f in fields(cls) if "key" in f.metadata}


def _positive_finite(value: float) -> str | None:
    if value <= 0:
        return f"must be > 0, got {value}"
    return None if math.isfinite(value) else f"must be a finite number, got {value}"


def _finite(value: float) -> str | None:
    return None if math.isfinite(value) else f"must be a finite number, got {value}"


def _positive_or_null(value: float) -> str | None:
    ok = value > 0 and math.isfinite(value)
    return None if ok else f"must be a positive number or null, got {value}"


def _unit(value: float) -> str | None:
    return None if 0 <= value < 1 else f"must be in [0, 1), got {value}"


def _precision(value: str) -> str | None:
    return (None if value in TRAIN_PRECISIONS
            else f"must be one of {', '.join(TRAIN_PRECISIONS)}, got '{value}'")


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
    """The ``data:`` section: the training dataset and how it is batched."""

    dataset: Component = component_key("unpaired", "registered dataset; its own kwargs sit beside this key")
    batch_size: int = key(32, "images per step (the paper: 32, the fork: 2)", int, low=1)
    workers: int | str = key("auto", "DataLoader worker processes (0 = load in the main process); auto:"
                                     " half the CPU cores of each training process, at most 8",
                             AUTO_OR_COUNT, low=0)
    max_bad_images: int = key(
        10, "unreadable training images skipped (each named once in the log, counted as bad_images"
            " in the metrics) before the run stops with their list; 0 = stop at the first", int, low=0)


@dataclass(frozen=True)
class ValidationSpec:
    """Data scored every ``every`` steps and at the end: PSNR against paired targets, or NIQE
    and brightness for a no-reference set (``noref``)."""

    dataset: Component = component_key(
        "paired", "registered dataset scored (default {default}, or noref); its kwargs sit beside this key")
    every: int = key(500, "score every N steps (default {default}) and at the end of training", int, low=1)


@dataclass(frozen=True)
class TrainSpec:
    """The ``train:`` section: schedule, optimizer and runtime switches."""

    epochs: int = key(100, "epochs at the full learning rate (the original keeps lr one more epoch)",
                      int, low=0)
    decay_epochs: int = key(100, "epochs of linear decay after that", int, low=0)
    lr: float = key(1.0e-4, "Adam learning rate of G and both Ds", float, check=_positive_finite)
    beta1: float = key(0.5, "Adam beta1", float, check=_unit)
    beta2: float = key(0.999, "Adam beta2", float, check=_unit)
    weight_decay: float = key(
        0.0, "Adam weight decay (L2 added to the gradients, torch.optim.Adam's); 0 = none", float, low=0)
    grad_clip: float | None = key(
        None, "clip each optimizer's gradients to this total L2 norm before its step; null = none",
        float, nullable=True, check=_positive_or_null)
    max_steps: int | None = key(None, "stop after this many iterations (smoke runs); null = no limit",
                                int, low=1, nullable=True)
    accumulate: int = key(1, "gradient accumulation steps per optimizer step", int, low=1)
    precision: str = key("auto", "auto | fp32 | bf16 | fp16 autocast; auto: bf16 only where native and"
                                 " faster in a probe (cached per machine), else fp32", str, check=_precision)
    save_every: int = key(5, "also keep a checkpoint every N epochs (the latest is always kept)", int, low=0)
    checkpoint_minutes: float = key(
        10.0, "also write the latest checkpoint mid-epoch once this many minutes passed since the"
              " last one (a kill loses at most that much); 0 = at epoch ends only", float, low=0,
        check=_finite)
    sample_every: int = key(100, "write a sample grid every N steps (0 = never)", int, low=0)
    log_every: int = key(10, "log metrics every N steps", int, low=1)
    channels_last: bool | str = key(
        "auto", "auto | true | false: channels_last memory format; auto measures it", AUTO_OR_BOOL)
    winograd: bool | str = key(
        "auto", "auto | true | false: 3x3 convolutions by Winograd's algorithm (NNPACK; fp32, CPU,"
                " not with train.compile); auto measures it", AUTO_OR_BOOL)
    compile: bool = key(False, "torch.compile the generator", bool)


#: Top-level scalar keys (``name`` defaults to the recipe file's stem).
TOP_KEYS: dict[str, Key] = {
    "name": Key(None, "run name; output goes to OUT/<name>/ (default: the recipe file's stem)"),
    "seed": Key(0, "seed of every random choice (data order, crops, darkening, patches, init)", int, low=0),
    "method": Key(None, "training method: a registered name or {name: NAME, its keys...}; default: the"
                        " first registered method that claims the recipe (enlightengan unless"
                        " model.discriminator is null); its defaults fill the model, adversarial and"
                        " losses sections left out", nullable=True),
}
GENERATOR_KEYS: dict[str, Key] = {
    "name": Key(None, "registered generator; its kwargs sit beside this key (default: the method's)"),
    "init": Key(None, "start from weights: an original *_net_G_A.pth, an egan checkpoint or 'default'",
                nullable=True),
}
DISCRIMINATOR_KEYS: dict[str, Key] = {
    "name": Key(None, "registered discriminator (default: the method's; model.discriminator: null ="
                      " the generator alone)"),
}
ADVERSARIAL_KEYS: dict[str, Key] = {
    "global": Key(None, "adversarial loss of the whole-image discriminator (default: the method's)",
                  nullable=True),
    "local": Key(None, "adversarial loss of the patch discriminator (default: the method's)",
                 nullable=True),
}
#: ``losses.<name>.weight``; the losses of a recipe without a ``losses:`` section.
LOSS_WEIGHT = Key(1.0, "weight of a generator-side loss; its kwargs sit beside it (default losses:"
                       " the method's)", float, check=_finite)
#: The engine's own default losses: none (a recipe without ``losses:`` gets its method's).
DEFAULT_LOSSES: dict[str, Any] = {}
VGG_KEYS: dict[str, Key] = {"weights": Key("imagenet", "VGG16 for feature losses: imagenet | none | <path>")}
VALIDATION = Key(None, "null, {dataset: paired, every: STEPS, ...}: val_psnr against paired targets, or"
                       " {dataset: noref, root: DIR, every: STEPS}: val_niqe, val_brightness and a sample"
                       " grid of a few low-light photos without targets")


def _defaults(keys: Mapping[str, Key]) -> dict[str, Any]:
    return {name: copy.deepcopy(k.default) for name, k in keys.items()}


#: The recipe layout with every default filled in, in the order ``egan recipe show`` prints.
DEFAULTS: dict[str, Any] = {
    **_defaults(TOP_KEYS),
    "data": _defaults(section_keys(DataSpec)),
    "model": {"generator": _defaults(GENERATOR_KEYS), "discriminator": _defaults(DISCRIMINATOR_KEYS)},
    "adversarial": _defaults(ADVERSARIAL_KEYS),
    "losses": copy.deepcopy(DEFAULT_LOSSES),
    "vgg": _defaults(VGG_KEYS),
    "validation": VALIDATION.default,
    "train": _defaults(section_keys(TrainSpec)),
}

_DOCUMENTED: tuple[tuple[str, Mapping[str, Key]], ...] = (
    ("", TOP_KEYS),
    ("data.", section_keys(DataSpec)),
    ("model.generator.", GENERATOR_KEYS),
    ("model.discriminator.", DISCRIMINATOR_KEYS),
    ("adversarial.", ADVERSARIAL_KEYS),
    ("losses.<name>.", {"weight": LOSS_WEIGHT}),
    ("vgg.", VGG_KEYS),
    ("", {"validation": VALIDATION}),
    ("validation.", section_keys(ValidationSpec)),
    ("train.", section_keys(TrainSpec)),
)
#: One line of documentation per fixed key (shown by ``egan recipe keys`` and the README).
KEY_DOCS: dict[str, str] = {prefix + name: k.doc for prefix, keys in _DOCUMENTED for name, k in keys.items()}


def freeze(value: Any) -> Any:
    """Lists to tuples and dicts to read-only mappings, so a resolved recipe cannot change."""
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    return value


def thaw(value: Any) -> Any:
    """The inverse of :func:`freeze`: plain lists and dicts, for YAML, JSON and factories."""
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    return value


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
    #: the training method (name and keyword arguments); parse_recipe always sets it
    method: Component | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict in recipe layout, loadable again by :func:`parse_recipe`."""
        disc = None
        if self.discriminator is not None:
            disc = {"name": self.discriminator.name, **thaw(self.discriminator.kwargs)}
        method = None if self.method is None else {"name": self.method.name, **thaw(self.method.kwargs)}
        return {
            "name": self.name,
            "seed": self.seed,
            "method": method,
            "data": {
                "dataset": self.data.dataset.name,
                "batch_size": self.data.batch_size,
                "workers": self.data.workers,
                "max_bad_images": self.data.max_bad_images,
                **thaw(self.data.dataset.kwargs),
            },
            "model": {
                "generator": {
                    "name": self.generator.name,
                    "init": self.generator_init,
                    **thaw(self.generator.kwargs),
                },
                "discriminator": disc,
            },
            "adversarial": dict(self.adversarial),
            "losses": {
                spec.name: {"weight": spec.weight, **thaw(spec.kwargs)} for spec in self.losses
            },
            "vgg": {"weights": self.vgg_weights},
            "validation": None if self.validation is None else {
                "dataset": self.validation.dataset.name,
                "every": self.validation.every,
                **thaw(self.validation.dataset.kwargs),
            },
            "train": {name: getattr(self.train, name) for name in section_keys(TrainSpec)},
        }

    def to_yaml(self) -> str:
        """The recipe as YAML text (what ``egan recipe show`` prints and runs save)."""
        return yaml.safe_dump(self.as_dict(), sort_keys=False)

"""Small typed registries, one per component kind."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from egan_core.errors import DuplicateNameError, UnknownNameError
from egan_core.objects import ObjectSpec

KINDS = ("generators", "discriminators", "losses", "datasets", "enhancers", "objects", "models", "methods")
#: Registered names appear in recipe keys and ``--set losses.<name>.weight=...`` paths.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_SINGULAR = {
    "generators": "generator",
    "discriminators": "discriminator",
    "losses": "loss",
    "datasets": "dataset",
    "enhancers": "enhancer",
    "objects": "object",
    "models": "model",
    "methods": "method",
}


#: Providers whose errors are egan's own: the built-ins and direct registrations.
OWN_PROVIDERS = frozenset({"egan", "<direct>", "<unknown>"})


@dataclass(frozen=True)
class Entry:
    """One registered component and who provided it."""

    name: str
    factory: Any
    provider: str

    def plugin_note(self) -> str:
        """`` (raised in plugin 'dist')`` when a third-party plugin registered this, else ''."""
        return "" if self.provider in OWN_PROVIDERS else f" (raised in plugin '{self.provider}')"


class Registry:
    """Name -> factory map of one kind, remembering the distribution behind each name."""

    def __init__(self, kind: str, owner: Registries | None = None) -> None:
        self.kind = kind
        self.singular = _SINGULAR.get(kind, kind)
        self._entries: dict[str, Entry] = {}
        self._owner = owner

    def register(self, name: str, factory: Any) -> None:
        """Register ``factory`` under ``name``; a name may be registered only once.

        Raises:
            ValueError: ``name`` is not a plain identifier-like string.
            TypeError: ``factory`` is not callable (for ``objects``: not an ObjectSpec; for
                ``models``: not a :class:`~egan_core.weights.WeightsRecord`).
            DuplicateNameError: ``name`` (or, for objects, a spelling) is already taken.
        """
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(
                f"{self.singular} name must be a non-empty string of letters, digits, '_' or '-'"
                f" (it is used in recipe keys), got {name!r}"
            )
        provider = self._owner.current_provider if self._owner else "<unknown>"
        if self.kind == "objects" and not isinstance(factory, ObjectSpec):
            raise TypeError(
                f"object '{name}' must be registered as egan_core.ObjectSpec,"
                f" got {type(factory).__name__}"
            )
        if self.kind == "models":
            self._check_model(name, factory)
        elif not callable(factory) and self.kind != "objects":
            raise TypeError(
                f"{self.singular} '{name}' must be callable (a class or function),"
                f" got {type(factory).__name__}"
            )
        if name in self._entries:
            raise DuplicateNameError(
                f"{self.singular} '{name}' is already registered by"
                f" '{self._entries[name].provider}'; '{provider}' tried to register it again"
            )
        if self.kind == "objects":
            self._check_object(name, factory, provider)
        self._entries[name] = Entry(name, factory, provider)

    def _check_object(self, name: str, spec: ObjectSpec, provider: str) -> None:
        if spec.name != name:
            raise ValueError(f"object registered as '{name}' has ObjectSpec name '{spec.name}'")
        for entry in self._entries.values():
            taken = [n for n in spec.names if entry.factory.matches(n)]
            if taken:  # an alias of another object: find_object would be ambiguous
                raise DuplicateNameError(
                    f"object '{name}': '{taken[0]}' already means object '{entry.name}',"
                    f" registered by '{entry.provider}'; '{provider}' tried to register it again"
                )

    def _check_model(self, name: str, record: Any) -> None:
        from egan_core.weights import WeightsRecord  # torch, only once a model is registered

        if not isinstance(record, WeightsRecord):
            raise TypeError(
                f"model '{name}' must be registered as egan_core.weights.WeightsRecord,"
                f" got {type(record).__name__}"
            )
        if record.name != name:
            raise ValueError(f"model registered as '{name}' has WeightsRecord name '{record.name}'")

    def get(self, name: str) -> Any:
        """The factory registered under ``name``, or a helpful :class:`UnknownNameError`."""
        try:
            return self._entries[name].factory
        except (KeyError, TypeError) as exc:  # TypeError: an unhashable "name" from a recipe
            raise UnknownNameError(self.singular, str(name), self.names(), self._hint()) from exc

    def entry(self, name: str) -> Entry:
        """The full :class:`Entry` of ``name`` (factory and provider)."""
        self.get(name)
        return self._entries[name]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def _keep_only(self, names: set[str]) -> None:
        for name in [n for n in self._entries if n not in names]:
            del self._entries[name]

    def _hint(self) -> str:
        broken = self._owner.broken if self._owner else {}
        if broken:
            parts = "; ".join(f"plugin '{p}' is broken: {why}" for p, why in broken.items())
            return f"{parts}; see 'egan plugins'"
        return "see 'egan plugins'"


class Registries:
    """The object handed to ``egan_register``: one :class:`Registry` per kind."""

    generators: Registry
    discriminators: Registry
    losses: Registry
    datasets: Registry
    enhancers: Registry
    objects: Registry
    #: the weights a distribution ships, one :class:`~egan_core.weights.WeightsRecord` each
    #: (``egan models`` lists them and prints their cards).
    models: Registry
    #: training procedures (:class:`~egan_core.training.method.Method` subclasses): what one
    #: step computes from a batch, chosen by the recipe's ``method:`` key
    methods: Registry

    def __init__(self) -> None:
        self.current_provider = "<direct>"
        self.broken: dict[str, str] = {}
        for kind in KINDS:
            setattr(self, kind, Registry(kind, self))

    def __iter__(self) -> Iterator[Registry]:
        return iter(getattr(self, k) for k in KINDS)

    @contextmanager
    def providing(self, provider: str) -> Iterator[None]:
        """Attribute registrations to ``provider``; undo those of this block if it raises.

        Only the names registered inside the block are removed, so an earlier plugin of the
        same distribution keeps its components.
        """
        before = {reg.kind: set(reg.names()) for reg in self}
        previous, self.current_provider = self.current_provider, provider
        try:
            yield
        except BaseException:
            for reg in self:
                reg._keep_only(before[reg.kind])
            raise
        finally:
            self.current_provider = previous

    def find_object(self, label: str) -> Any:
        """The :class:`~egan_core.ObjectSpec` whose name or alias is ``label``.

        Raises:
            UnknownNameError: no object has that spelling (closest name suggested).
        """
        if not isinstance(label, str):
            return self.objects.get(str(label))
        for entry in self.objects:
            if entry.factory.matches(label):
                return entry.factory
        return self.objects.get(label)


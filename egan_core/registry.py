"""Small typed registries, one per component kind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from egan_core.errors import DuplicateNameError, UnknownNameError

KINDS = ("generators", "discriminators", "losses", "datasets", "enhancers", "objects")
_SINGULAR = {
    "generators": "generator",
    "discriminators": "discriminator",
    "losses": "loss",
    "datasets": "dataset",
    "enhancers": "enhancer",
    "objects": "object",
}


@dataclass(frozen=True)
class Entry:
    """One registered component and who provided it."""

    name: str
    factory: Any
    provider: str


class Registry:
    """Name -> factory map of one kind, remembering the distribution behind each name."""

    def __init__(self, kind: str, owner: Registries | None = None) -> None:
        self.kind = kind
        self.singular = _SINGULAR.get(kind, kind)
        self._entries: dict[str, Entry] = {}
        self._owner = owner

    def register(self, name: str, factory: Any) -> None:
        """Register ``factory`` under ``name``; a name may be registered only once."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.singular} name must be a non-empty string, got {name!r}")
        if self.kind != "objects" and not callable(factory):
            raise TypeError(f"{self.singular} '{name}' must be callable, got {type(factory).__name__}")
        provider = self._owner.current_provider if self._owner else "<unknown>"
        if name in self._entries:
            raise DuplicateNameError(
                f"{self.singular} '{name}' is already registered by '{self._entries[name].provider}';"
                f" '{provider}' tried to register it again"
            )
        self._entries[name] = Entry(name, factory, provider)

    def get(self, name: str) -> Any:
        """The factory registered under ``name``, or a helpful :class:`UnknownNameError`."""
        try:
            return self._entries[name].factory
        except KeyError:
            raise UnknownNameError(self.singular, name, self.names(), self._hint()) from None

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

    def _remove_provider(self, provider: str) -> None:
        for name in [n for n, e in self._entries.items() if e.provider == provider]:
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

    def __init__(self) -> None:
        self.current_provider = "<direct>"
        self.broken: dict[str, str] = {}
        for kind in KINDS:
            setattr(self, kind, Registry(kind, self))

    def __iter__(self) -> Iterator[Registry]:
        return iter(getattr(self, k) for k in KINDS)

    @contextmanager
    def providing(self, provider: str) -> Iterator[None]:
        """Attribute registrations to ``provider``; undo them all if the block raises."""
        previous, self.current_provider = self.current_provider, provider
        try:
            yield
        except BaseException:
            for reg in self:
                reg._remove_provider(provider)
            raise
        finally:
            self.current_provider = previous

    def find_object(self, label: str) -> Any:
        """The :class:`~egan_core.ObjectSpec` whose name or alias is ``label``."""
        for entry in self.objects:
            if entry.factory.matches(label):
                return entry.factory
        return self.objects.get(label)


Factory = Callable[..., Any]

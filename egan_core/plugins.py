"""Loads ``egan.plugins`` entry points once, isolating plugins that fail."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from egan_core import hookspecs
from egan_core.registry import Registries

ENTRY_POINT_GROUP = "egan.plugins"
BUILTIN_DIST = "egan"


@dataclass
class PluginInfo:
    """One plugin as ``egan plugins`` shows it."""

    name: str
    dist: str
    version: str
    module: str
    error: str | None = None
    provides: dict[str, list[str]] = field(default_factory=dict)


class PluginManager:
    """Discovers plugins, calls their ``egan_register`` one by one, records failures.

    Args:
        entry_points: load the installed ``egan.plugins`` entry points.
        extra: more plugin modules or objects (used by tests and embedding code), as
            ``(provider_name, plugin)`` pairs, registered after the entry points.
    """

    def __init__(
        self, *, entry_points: bool = True, extra: list[tuple[str, Any]] | None = None
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.registries = Registries()
        self.plugins: list[PluginInfo] = []
        if entry_points:
            for ep in _sorted_entry_points():
                self._load_entry_point(ep)
        for provider, plugin in extra or []:
            info = PluginInfo(provider, provider, "", getattr(plugin, "__name__", repr(plugin)))
            self._add(info, plugin)

    def _load_entry_point(self, ep: metadata.EntryPoint) -> None:
        dist = ep.dist.name if ep.dist is not None else "<unknown>"
        version = ep.dist.version if ep.dist is not None else ""
        info = PluginInfo(ep.name, dist, version, ep.value)
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must not take the others down
            self._fail(info, f"import of '{ep.value}' failed: {type(exc).__name__}: {exc}")
            return
        self._add(info, plugin)

    def _add(self, info: PluginInfo, plugin: Any) -> None:
        provider = info.dist
        try:
            self.pm.register(plugin, name=f"{info.dist}:{info.name}")
        except Exception as exc:
            self._fail(info, f"{type(exc).__name__}: {exc}")
            return
        impls = [
            i for i in self.pm.hook.egan_register.get_hookimpls() if i.plugin is plugin
        ]
        before = {reg.kind: set(reg.names()) for reg in self.registries}
        try:
            with self.registries.providing(provider):
                for impl in impls:
                    impl.function(registries=self.registries)
        except Exception as exc:
            self.pm.unregister(plugin)
            self._fail(info, f"egan_register failed: {type(exc).__name__}: {exc}")
            return
        info.provides = {
            reg.kind: sorted(set(reg.names()) - before[reg.kind]) for reg in self.registries
        }
        self.plugins.append(info)

    def _fail(self, info: PluginInfo, reason: str) -> None:
        info.error = reason
        self.plugins.append(info)
        self.registries.broken[f"{info.dist}:{info.name}"] = reason


def _sorted_entry_points() -> list[metadata.EntryPoint]:
    eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    seen: set[tuple[str, str]] = set()
    unique = []
    for ep in eps:  # the same dist can show up twice on odd sys.paths
        key = (ep.name, ep.value)
        if key not in seen:
            seen.add(key)
            unique.append(ep)
    return sorted(unique, key=lambda e: (_dist(e) != BUILTIN_DIST, _dist(e), e.name))


def _dist(ep: metadata.EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else ""


_MANAGER: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, loading plugins lazily on first use."""
    global _MANAGER
    if _MANAGER is None:
        _MANAGER = PluginManager()
    return _MANAGER


def get_registries() -> Registries:
    """The registries filled by every installed plugin."""
    return get_plugin_manager().registries


def reset_plugins() -> None:
    """Forget loaded plugins (the next lookup discovers entry points again)."""
    global _MANAGER
    _MANAGER = None
    importlib.invalidate_caches()



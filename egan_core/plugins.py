"""Loads ``egan.plugins`` entry points once, isolating plugins that fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from egan_core import hookspecs
from egan_core.errors import folded
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
            # named after the module (or class), so one provider may bring several plugins
            module = getattr(plugin, "__name__", type(plugin).__name__)
            self._add(PluginInfo(module, provider, "", module), plugin)

    def _load_entry_point(self, ep: metadata.EntryPoint) -> None:
        dist = ep.dist.name if ep.dist is not None else "<unknown>"
        version = ep.dist.version if ep.dist is not None else ""
        info = PluginInfo(ep.name, dist, version, ep.value)
        try:
            plugin = ep.load()
        except _PLUGIN_FAILURES as exc:  # a broken plugin must not take the others down
            self._fail(info, f"import of '{ep.value}' failed: {_describe(exc)}")
            return
        self._add(info, plugin)

    def _add(self, info: PluginInfo, plugin: Any) -> None:
        try:
            self.pm.register(plugin, name=f"{info.dist}:{info.name}")
        except _PLUGIN_FAILURES as exc:
            self._fail(info, _describe(exc))
            return
        try:  # a misspelt hook name ("egan_regster") is an error, not a silent no-op
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(plugin)
            self._fail(info, _describe(exc))
            return
        # pluggy's own caller, narrowed to this plugin: its ordering and wrappers apply, and
        # a failure is this plugin's alone (its registrations are rolled back)
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        register = self.pm.subset_hook_caller("egan_register", remove_plugins=others)
        before = {reg.kind: set(reg.names()) for reg in self.registries}
        try:
            with self.registries.providing(info.dist):
                register(registries=self.registries)
        except _PLUGIN_FAILURES as exc:
            self.pm.unregister(plugin)
            self._fail(info, f"egan_register failed: {_describe(exc)}")
            return
        info.provides = {
            reg.kind: sorted(set(reg.names()) - before[reg.kind]) for reg in self.registries
        }
        self.plugins.append(info)

    def _fail(self, info: PluginInfo, reason: str) -> None:
        info.error = reason
        self.plugins.append(info)
        self.registries.broken[f"{info.dist}:{info.name}"] = reason


#: What a plugin may raise without taking egan down (``sys.exit()`` in a plugin included).
_PLUGIN_FAILURES = (Exception, SystemExit)


def _describe(exc: BaseException) -> str:
    """``Type: message`` on one line (reasons end up in one-line error messages)."""
    text = folded(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _sorted_entry_points() -> list[metadata.EntryPoint]:
    eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for ep in eps:  # the same dist can show up twice on odd sys.paths
        key = (_dist(ep), ep.name, ep.value)
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


"""Plugin manager: loading, isolation of broken plugins, and real entry-point discovery."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from egan_core import ObjectSpec, Registries, UnknownNameError, hookimpl, hookspecs, load_recipe
from egan_core.plugins import get_plugin_manager, get_registries
from egan_core.testing import PluginInstall, PluginManagerFactory, make_plugin

EXDARK = ["bicycle", "boat", "bottle", "bus", "car", "cat", "chair", "cup", "dog", "motorbike",
          "people", "table"]


class Loss:
    pass


def _scooter(regs: Registries) -> None:
    regs.losses.register("scoot_loss", Loss)
    regs.objects.register("scooter", ObjectSpec("scooter", aliases=("moped",)))


def _half_then_raise(regs: Registries) -> None:
    regs.losses.register("half_loss", Loss)
    raise RuntimeError("half way\nthrough")


HOOKSPECS = [name for name, fn in vars(hookspecs).items()
             if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT}_spec")]


def test_the_hook_list_is_known() -> None:
    assert HOOKSPECS == ["egan_register"]


@pytest.mark.parametrize("name", HOOKSPECS)
def test_every_hook_is_documented_and_implemented_by_the_builtins(
    name: str, plugin_manager: PluginManagerFactory
) -> None:
    spec = getattr(hookspecs, name)
    assert spec.__doc__ and spec.__doc__.strip().count("\n") == 0  # a one-line docstring
    pm = plugin_manager(entry_points=True)
    implementers = {impl.plugin_name for impl in getattr(pm.pm.hook, name).get_hookimpls()}
    assert "egan:builtins" in implementers


def test_hook_with_a_wrong_signature_is_reported(plugin_manager: PluginManagerFactory) -> None:
    class WrongArgs:
        @hookimpl
        def egan_register(self, registries: Registries, config: dict[str, Any]) -> None:
            raise AssertionError("never called")

    pm = plugin_manager(entry_points=False, extra=[("egan-wrong", WrongArgs())])
    error = pm.plugins[0].error or ""
    assert error.startswith("PluginValidationError") and "config" in error


def test_good_plugin_registers_and_is_listed(plugin_manager: PluginManagerFactory) -> None:
    pm = plugin_manager(entry_points=False, extra=[("egan-scooter", make_plugin(_scooter))])
    assert pm.registries.losses.entry("scoot_loss").provider == "egan-scooter"
    assert pm.registries.find_object("moped").name == "scooter"
    (info,) = pm.plugins
    assert info.dist == "egan-scooter" and info.error is None
    assert info.provides["losses"] == ["scoot_loss"] and info.provides["objects"] == ["scooter"]


def test_module_plugins_and_hooks_without_arguments(plugin_manager: PluginManagerFactory) -> None:
    calls: list[str] = []
    module = types.ModuleType("egan_noargs")

    @hookimpl
    def egan_register() -> None:  # pluggy lets an implementation take fewer arguments
        calls.append("called")

    module.egan_register = egan_register  # type: ignore[attr-defined]
    pm = plugin_manager(entry_points=False, extra=[("egan-noargs", module)])
    assert calls == ["called"]
    assert pm.plugins[0].error is None and pm.plugins[0].name == "egan_noargs"


def test_raising_hook_is_isolated_and_rolled_back(plugin_manager: PluginManagerFactory) -> None:
    pm = plugin_manager(
        entry_points=False,
        extra=[("egan-half", make_plugin(_half_then_raise)), ("egan-scooter", make_plugin(_scooter))],
    )
    assert "half_loss" not in pm.registries.losses  # partial registration undone
    assert "scoot_loss" in pm.registries.losses  # the next plugin still loads
    broken = [p for p in pm.plugins if p.error]
    assert [p.dist for p in broken] == ["egan-half"]
    assert broken[0].error == "egan_register failed: RuntimeError: half way through"
    with pytest.raises(UnknownNameError, match="plugin 'egan-half:Plugin' is broken: egan_register"):
        pm.registries.losses.get("half_loss")


def test_duplicate_between_plugins_names_both(plugin_manager: PluginManagerFactory) -> None:
    def first(regs: Registries) -> None:
        regs.losses.register("tv", Loss)

    def second(regs: Registries) -> None:
        regs.losses.register("second_only", Loss)
        regs.losses.register("tv", Loss)

    pm = plugin_manager(entry_points=False,
                        extra=[("egan-a", make_plugin(first)), ("egan-b", make_plugin(second))])
    assert pm.registries.losses.names() == ["tv"]
    assert pm.registries.losses.entry("tv").provider == "egan-a"
    error = pm.plugins[1].error or ""
    assert "DuplicateNameError" in error and "'egan-a'" in error and "'egan-b'" in error


def test_plugin_calling_sys_exit_does_not_stop_egan(plugin_manager: PluginManagerFactory) -> None:
    def leave(regs: Registries) -> None:
        sys.exit(3)

    pm = plugin_manager(entry_points=False, extra=[("egan-exit", make_plugin(leave)),
                                                   ("egan-scooter", make_plugin(_scooter))])
    assert pm.plugins[0].error == "egan_register failed: SystemExit: 3"
    assert "scoot_loss" in pm.registries.losses


def test_misspelt_hook_is_reported(plugin_manager: PluginManagerFactory) -> None:
    class Typo:
        @hookimpl
        def egan_regster(self, registries: Registries) -> None:
            raise AssertionError("never called")

    pm = plugin_manager(entry_points=False, extra=[("egan-typo", Typo())])
    assert "unknown hook 'egan_regster'" in (pm.plugins[0].error or "")


def test_builtins_come_through_the_entry_point(registries: Registries) -> None:
    # other installed plugins may add objects; egan's own are the 12 ExDark classes
    assert [e.name for e in registries.objects if e.provider == "egan"] == EXDARK
    assert registries.find_object("person").name == "people"
    assert registries.find_object("motorcycle").name == "motorbike"
    assert registries.find_object("dining table").name == "table"


def test_activate_sets_the_process_wide_manager(plugin_manager: PluginManagerFactory) -> None:
    pm = plugin_manager(entry_points=False, extra=[("egan-scooter", make_plugin(_scooter))],
                        activate=True)
    assert get_plugin_manager() is pm and get_registries() is pm.registries


# ---- real distributions, installed with pip into a --target folder (see conftest.py) ----


def _norm(dist: str) -> str:
    return dist.replace("_", "-").lower()


def test_installed_plugins_are_discovered_and_isolated(
    installed_plugins: PluginInstall, tmp_path: Path
) -> None:
    done = installed_plugins.egan("plugins", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    regs, plugins = out["registries"], {_norm(p["dist"]): p for p in out["plugins"]}

    # the good one: its loss and ObjectSpec, attributed to its distribution
    good = plugins["egan-test-good"]
    assert good["error"] is None and good["version"] == "0.0.1"
    assert _norm(regs["losses"]["good_loss"]) == "egan-test-good"
    assert _norm(regs["objects"]["zeppelin"]) == "egan-test-good"
    assert good["provides"]["objects"] == ["zeppelin"]

    # import error: reported with the reason; egan and the others still work
    broken = plugins["egan-test-broken-import"]
    assert broken["error"].startswith("import of 'egan_test_broken_import' failed: ImportError")
    assert "needs the frobnicate package" in broken["error"]
    assert [n for n in regs["objects"] if regs["objects"][n] == "egan"] == EXDARK

    # a hook that raises half way: reported, its partial registrations rolled back
    half = plugins["egan-test-hook-raises"]
    assert half["error"] == "egan_register failed: RuntimeError: half way through"
    assert "half_loss" not in regs["losses"] and "half_gen" not in regs["generators"]

    # a duplicate name: reported with both distributions, its other names rolled back
    dupe = plugins["egan-test-dupe"]
    assert "DuplicateNameError" in dupe["error"] and "'egan'" in dupe["error"]
    assert "egan-test-dupe" in _norm(dupe["error"])
    assert "dupe_loss" not in regs["losses"] and regs["objects"]["car"] == "egan"


def test_recipe_needing_a_broken_plugin_says_so(
    installed_plugins: PluginInstall, good_recipe: str, tmp_path: Path
) -> None:
    recipe = tmp_path / "needs_broken.yaml"
    recipe.write_text(good_recipe.replace("good_loss: {weight: 0.5}", "broken_loss: {weight: 1}"))
    done = installed_plugins.egan("recipe", "show", str(recipe), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: unknown loss 'broken_loss'")
    assert "egan-test-broken-import" in _norm(line) and "needs the frobnicate package" in line


def test_recipe_with_a_broken_plugin_in_process(
    plugin_manager: PluginManagerFactory, stub_plugin: Any, stub_recipe: dict[str, Any]
) -> None:
    pm = plugin_manager(entry_points=False, extra=[("egan-stub", stub_plugin),
                                                   ("egan-half", make_plugin(_half_then_raise))])
    stub_recipe["losses"] = {"half_loss": {"weight": 1.0}}
    with pytest.raises(UnknownNameError) as err:
        load_recipe(stub_recipe, registries=pm.registries)
    assert str(err.value).startswith("unknown loss 'half_loss'")
    assert "plugin 'egan-half:Plugin' is broken: egan_register failed: RuntimeError: half way" in str(
        err.value
    )


def test_the_hook_goes_through_pluggys_caller(plugin_manager: PluginManagerFactory) -> None:
    """A wrapper impl is a generator: called directly it would register nothing."""
    seen: list[str] = []

    class Wrapping:
        @hookimpl(wrapper=True)
        def egan_register(self, registries: Registries) -> Any:
            registries.losses.register("wrapped_loss", Loss)
            seen.append("before")
            result = yield
            seen.append("after")
            return result

    pm = plugin_manager(entry_points=False, extra=[("egan-wrapping", Wrapping())])
    assert seen == ["before", "after"]
    assert pm.registries.losses.get("wrapped_loss") is Loss
    assert pm.registries.losses.entry("wrapped_loss").provider == "egan-wrapping"


def test_a_plugin_hook_runs_once_and_sees_only_its_own_registrations(
        plugin_manager: PluginManagerFactory) -> None:
    calls: list[str] = []

    class First:
        @hookimpl
        def egan_register(self, registries: Registries) -> None:
            calls.append("first")
            registries.losses.register("first_loss", Loss)

    class Second:
        @hookimpl(tryfirst=True)
        def egan_register(self, registries: Registries) -> None:
            calls.append("second")
            registries.losses.register("second_loss", Loss)

    pm = plugin_manager(entry_points=False, extra=[("egan-a", First()), ("egan-b", Second())])
    assert calls == ["first", "second"]  # each plugin once, in load order
    assert {i.dist: i.provides["losses"] for i in pm.plugins} == {
        "egan-a": ["first_loss"], "egan-b": ["second_loss"]}

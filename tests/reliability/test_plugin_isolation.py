"""Plugins that register bad things: isolated, rolled back, reported with their distribution.

A raising hook and a duplicate name are covered in ``tests/egan_core/test_plugins.py``
(in process and as installed distributions); these add what a plugin can get wrong in
the registration call itself (a non-callable, a bad name, an object that is not an
ObjectSpec) and check that the failure reaches a recipe that needs the plugin.
"""

from __future__ import annotations

from typing import Any

import pytest

from egan_core import Registries, UnknownNameError, load_recipe
from egan_core.testing import PluginManagerFactory, make_plugin


class Loss:
    pass


def _fine(regs: Registries) -> None:
    regs.losses.register("fine_loss", Loss)


@pytest.mark.parametrize(("body", "reason"), [
    (lambda regs: (regs.losses.register("ok_first", Loss), regs.losses.register("bad", 42)),
     "egan_register failed: TypeError: loss 'bad' must be callable (a class or function), got int"),
    (lambda regs: (regs.losses.register("ok_first", Loss), regs.generators.register("a b", Loss)),
     "egan_register failed: ValueError: generator name must be"),
    (lambda regs: (regs.losses.register("ok_first", Loss), regs.objects.register("kite", "kite")),
     "egan_register failed: TypeError: object 'kite' must be registered as egan_core.ObjectSpec"),
])
def test_a_bad_registration_is_isolated_and_reported(plugin_manager: PluginManagerFactory,
                                                     body: Any, reason: str) -> None:
    pm = plugin_manager(entry_points=False, extra=[("egan-bad-dist", make_plugin(body)),
                                                   ("egan-fine-dist", make_plugin(_fine))])
    bad, fine = pm.plugins
    assert bad.dist == "egan-bad-dist" and (bad.error or "").startswith(reason)
    assert fine.error is None and "fine_loss" in pm.registries.losses  # the next one still loads
    assert "ok_first" not in pm.registries.losses  # the half-done registration is rolled back
    assert any(key.startswith("egan-bad-dist:") for key in pm.registries.broken)


def test_a_recipe_needing_the_bad_plugin_names_its_distribution(
    plugin_manager: PluginManagerFactory, tiny_recipe: dict[str, Any]
) -> None:
    def bad(regs: Registries) -> None:
        regs.losses.register("wanted_loss", Loss)
        regs.losses.register("oops", None)

    pm = plugin_manager(entry_points=True, extra=[("egan-bad-dist", make_plugin(bad))])
    tiny_recipe["losses"] = {"wanted_loss": {"weight": 1.0}}
    with pytest.raises(UnknownNameError) as err:
        load_recipe(tiny_recipe, registries=pm.registries)
    message = str(err.value)
    assert message.startswith("unknown loss 'wanted_loss'")
    assert "plugin 'egan-bad-dist:Plugin' is broken" in message and "must be callable" in message

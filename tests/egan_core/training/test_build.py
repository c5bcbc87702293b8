"""instantiate: recipe kwargs in, the component's own error out under its recipe key path."""

from __future__ import annotations

import pytest
from torch import nn

from egan_core.errors import RecipeError
from egan_core.registry import Registries
from egan_core.testing import PluginManagerFactory, make_plugin
from egan_core.training.build import instantiate


class _Strict(nn.Module):
    def __init__(self, strength: float = 1.0, depth: int = 1) -> None:
        super().__init__()
        if strength <= 0:
            raise ValueError(f"strength must be positive, got {strength}")
        if depth > 3:
            raise IndexError("list index out of range")


def _registries(plugin_manager: PluginManagerFactory) -> Registries:
    def register(regs: Registries) -> None:
        regs.losses.register("strict", _Strict)

    return plugin_manager(entry_points=False, extra=[("egan-strict", make_plugin(register))]).registries


def test_a_components_plain_error_gets_its_key_path_and_plugin(
        plugin_manager: PluginManagerFactory) -> None:
    entry = _registries(plugin_manager).losses.entry("strict")
    with pytest.raises(RecipeError) as err:
        instantiate(entry, {"strength": -1}, "losses.strict")
    assert str(err.value) == ("losses.strict.strength must be positive, got -1"
                              " (raised in plugin 'egan-strict')")
    assert isinstance(err.value.__cause__, ValueError)


def test_a_deep_failure_keeps_its_cause(plugin_manager: PluginManagerFactory) -> None:
    entry = _registries(plugin_manager).losses.entry("strict")
    with pytest.raises(RecipeError, match=r"^losses.strict: the component cannot be built .*"
                                          r"IndexError: list index out of range") as err:
        instantiate(entry, {"depth": 9}, "losses.strict")
    assert isinstance(err.value.__cause__, IndexError)


def test_builtin_components_name_no_plugin() -> None:
    from egan_core import get_registries

    with pytest.raises(RecipeError) as err:
        instantiate(get_registries().generators.entry("attention_unet"), {"base_channels": 0},
                    "model.generator")
    assert str(err.value) == "model.generator.base_channels must be >= 1, got 0"

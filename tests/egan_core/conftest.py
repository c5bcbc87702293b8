"""Stand-in components and real throwaway plugin distributions for the core tests.

The stand-ins use their own names (``stub_*``), so they never collide with the built-ins
that land in ``egan_plugins``; recipes in these tests name every component explicitly.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

import pytest
import torch
from torch import nn

from egan_core import hookimpl
from egan_core.losses import AdversarialLoss, LossContext
from egan_core.registry import Registries
from egan_core.testing import (
    PluginInstall,
    PluginManagerFactory,
    install_plugin_packages,
    make_plugin_package,
)
from egan_plugins import methods as builtin_methods
from egan_plugins import objects as exdark_objects


class StubGenerator(nn.Module):
    def __init__(self, width: int = 8, align_corners: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 3, 1)

    def forward(self, image: torch.Tensor, attention: torch.Tensor) -> tuple[torch.Tensor, ...]:
        latent = self.conv(torch.cat([image, attention], 1)) * attention
        return image + latent, latent


class StubDiscriminator(nn.Module):
    def __init__(self, patches: int = 5, patch_size: int = 32, sizes: tuple[int, int] = (3, 4)) -> None:
        super().__init__()
        self.num_patches, self.patch_size = 1 + patches, patch_size


class StubDataset(torch.utils.data.Dataset):
    def __init__(self, root: str = "data", object: str | None = None, size: int = 256,
                 zoom: tuple[float, ...] = (1.0,), seed: int = 0) -> None:
        self.root, self.object, self.size, self.zoom, self.seed = root, object, size, zoom, seed


class StubAdversarial(AdversarialLoss):
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return ((real - 1) ** 2).mean() + (fake**2).mean()

    def g_loss(self, real: torch.Tensor | None, fake: torch.Tensor) -> torch.Tensor:
        return ((fake - 1) ** 2).mean()


class StubFeatureLoss(nn.Module):
    def __init__(self, layer: Literal["relu5_1", "relu5_3"] = "relu5_1", scale: float = 1.0,
                 vgg_weights: str = "imagenet") -> None:
        super().__init__()
        self.layer, self.scale, self.vgg_weights = layer, scale, vgg_weights

    def forward(self, ctx: LossContext) -> torch.Tensor:
        return (ctx.enhanced - ctx.low).pow(2).mean() * self.scale


class StubPlugin:
    """A plugin object (pluggy accepts instances as well as modules)."""

    @hookimpl
    def egan_register(self, registries: Registries) -> None:
        exdark_objects.register(registries)  # the real ExDark list, without the networks
        builtin_methods.register(registries)  # the training procedures, which name no stub
        registries.generators.register("stub_gen", StubGenerator)
        registries.discriminators.register("stub_disc", StubDiscriminator)
        registries.datasets.register("stub_data", StubDataset)
        registries.losses.register("stub_adv", StubAdversarial)
        registries.losses.register("stub_feat", StubFeatureLoss)


#: A recipe naming only stand-ins; tests copy it with :func:`stub_recipe`.
STUB_RECIPE: dict[str, Any] = {
    "name": "stub",
    "data": {"dataset": "stub_data", "batch_size": 2},
    "model": {"generator": {"name": "stub_gen"}, "discriminator": {"name": "stub_disc"}},
    "adversarial": {"global": "stub_adv", "local": "stub_adv"},
    "losses": {"stub_feat": {"weight": 1.0}},
}


@pytest.fixture
def stub_recipe() -> dict[str, Any]:
    """A fresh copy of :data:`STUB_RECIPE`."""
    return copy.deepcopy(STUB_RECIPE)


@pytest.fixture
def stub_plugin() -> StubPlugin:
    """A plugin object registering the stand-ins (``stub_*``) and the ExDark objects."""
    return StubPlugin()


@pytest.fixture
def stub_registries(plugin_manager: PluginManagerFactory) -> Registries:
    """Registries with only the stand-ins and the ExDark objects (no entry points)."""
    return plugin_manager(entry_points=False, extra=[("egan-stub", StubPlugin())]).registries


@pytest.fixture
def stub_cli(plugin_manager: PluginManagerFactory) -> Registries:
    """Make the stand-ins the process-wide plugins (what the CLI sees) for one test."""
    return plugin_manager(
        entry_points=False, extra=[("egan-stub", StubPlugin())], activate=True
    ).registries


# ---- real throwaway distributions, pip-installed once per session into a --target folder --

GOOD_PLUGIN = '''
from egan_core import ObjectSpec, hookimpl


class GoodLoss:
    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale


class GoodAdversarial:
    def d_loss(self, real, fake):
        return 0.0

    def g_loss(self, real, fake):
        return 0.0


class GoodGenerator:
    def __init__(self, width: int = 8) -> None:
        self.width = width


class GoodDiscriminator:
    def __init__(self, patches: int = 5) -> None:
        self.patches = patches


class GoodDataset:
    def __init__(self, root: str = "data", object: str = "zeppelin", seed: int = 0) -> None:
        self.root = root


@hookimpl
def egan_register(registries):
    registries.losses.register("good_loss", GoodLoss)
    registries.losses.register("good_adv", GoodAdversarial)
    registries.generators.register("good_gen", GoodGenerator)
    registries.discriminators.register("good_disc", GoodDiscriminator)
    registries.datasets.register("good_data", GoodDataset)
    registries.objects.register("zeppelin", ObjectSpec("zeppelin", aliases=("airship",)))
'''

BROKEN_IMPORT_PLUGIN = '''
raise ImportError("needs the frobnicate package")
'''

HOOK_RAISES_PLUGIN = '''
from egan_core import hookimpl


class Half:
    pass


@hookimpl
def egan_register(registries):
    registries.losses.register("half_loss", Half)
    registries.generators.register("half_gen", Half)
    raise RuntimeError("half way through")
'''

DUPLICATE_PLUGIN = '''
from egan_core import ObjectSpec, hookimpl


class Dupe:
    pass


@hookimpl
def egan_register(registries):
    registries.losses.register("dupe_loss", Dupe)
    registries.objects.register("car", ObjectSpec("car"))
'''

#: Recipe (YAML) that uses only the good plugin's components.
GOOD_RECIPE = """\
name: good
data: {dataset: good_data, batch_size: 1}
model:
  generator: {name: good_gen}
  discriminator: {name: good_disc}
adversarial: {global: good_adv, local: good_adv}
losses: {good_loss: {weight: 0.5}}
"""


@pytest.fixture
def good_recipe() -> str:
    """YAML of a recipe that needs only the installed good plugin's components."""
    return GOOD_RECIPE


@pytest.fixture(scope="session")
def installed_plugins(tmp_path_factory: pytest.TempPathFactory) -> PluginInstall:
    """Four real plugin distributions installed with pip into a private --target folder.

    ``egan-test-good`` (a loss, an adversarial loss, a generator, a discriminator, a
    dataset and the object ``zeppelin``), ``egan-test-broken-import`` (raises on import),
    ``egan-test-hook-raises`` (raises after registering two names) and ``egan-test-dupe``
    (registers ``dupe_loss``, then the built-in object ``car`` again).
    """
    src = tmp_path_factory.mktemp("plugin_src")
    packages = [
        make_plugin_package(src, "egan-test-good", GOOD_PLUGIN, "good"),
        make_plugin_package(src, "egan-test-broken-import", BROKEN_IMPORT_PLUGIN, "broken"),
        make_plugin_package(src, "egan-test-hook-raises", HOOK_RAISES_PLUGIN, "halfway"),
        make_plugin_package(src, "egan-test-dupe", DUPLICATE_PLUGIN, "dupe"),
    ]
    return install_plugin_packages(packages, tmp_path_factory.mktemp("plugin_target"))

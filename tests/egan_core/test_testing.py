"""egan_core.testing: the fixtures and helpers plugin authors get."""

from __future__ import annotations

from pathlib import Path

import torch

from egan_core.losses import LossContext
from egan_core.plugins import get_plugin_manager
from egan_core.registry import Registries
from egan_core.testing import PluginManagerFactory, make_plugin_package, make_tiny_batch


def test_tiny_batch_follows_the_loss_contract(tiny_batch: LossContext) -> None:
    for image in (tiny_batch.low, tiny_batch.input, tiny_batch.normal, tiny_batch.enhanced):
        assert image.shape == (2, 3, 32, 32) and image.min() >= -1 and image.max() <= 1
    assert tiny_batch.attention.shape == (2, 1, 32, 32)
    assert torch.allclose(tiny_batch.enhanced, tiny_batch.input + tiny_batch.latent)
    assert tiny_batch.num_patches == 2
    for patches in (tiny_batch.enhanced_patches, tiny_batch.normal_patches, tiny_batch.low_patches):
        assert patches is not None and patches.shape == (4, 3, 16, 16)
    # patch-major: patch 0 of both images, then patch 1; the second sits at the far corner
    assert torch.equal(tiny_batch.low_patches[3], tiny_batch.low[1, :, 16:, 16:])  # type: ignore[index]
    assert torch.equal(tiny_batch.low_patches[0], tiny_batch.low[0, :, :16, :16])  # type: ignore[index]
    assert tiny_batch.enhanced_patches is not None
    loss = (tiny_batch.enhanced - tiny_batch.low).abs().mean() + tiny_batch.enhanced_patches.mean()
    loss.backward()
    assert tiny_batch.latent.grad is not None and tiny_batch.latent.grad.abs().sum() > 0


def test_tiny_batches_are_seeded() -> None:
    a, b, c = make_tiny_batch(seed=1), make_tiny_batch(seed=1), make_tiny_batch(seed=2)
    assert torch.equal(a.low, b.low) and not torch.equal(a.low, c.low)


def test_registries_fixture_is_fresh_each_time(registries: Registries) -> None:
    assert registries is not get_plugin_manager().registries
    assert "car" in registries.objects


def test_plugin_manager_factory(plugin_manager: PluginManagerFactory) -> None:
    bare = plugin_manager(entry_points=False)
    assert bare.plugins == [] and all(len(reg) == 0 for reg in bare.registries)
    assert plugin_manager(entry_points=False) is not bare


def test_make_plugin_package_writes_an_installable_layout(tmp_path: Path) -> None:
    folder = make_plugin_package(tmp_path, "egan-my-thing", "X = 1\n", "thing")
    meta = (folder / "pyproject.toml").read_text()
    assert 'name = "egan-my-thing"' in meta
    assert '[project.entry-points."egan.plugins"]\nthing = "egan_my_thing"' in meta
    assert (folder / "egan_my_thing.py").read_text() == "X = 1\n"

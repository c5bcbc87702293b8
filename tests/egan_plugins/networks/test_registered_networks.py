"""Forward/backward smoke test of every registered generator and discriminator."""

from __future__ import annotations

import inspect

import pytest
import torch

from egan_core import get_registries
from egan_core.tensors import attention_map

REGISTRIES = get_registries()


def _build(factory: type) -> torch.nn.Module:
    injected = {"seed": 0, "vgg_weights": "none"}
    params = inspect.signature(factory).parameters
    return factory(**{k: v for k, v in injected.items() if k in params})


def _image(n: int = 2, size: int = 64) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_the_builtins_are_registered() -> None:
    assert "attention_unet" in REGISTRIES.generators
    assert "global_local" in REGISTRIES.discriminators


@pytest.mark.parametrize("name", REGISTRIES.generators.names())
def test_generator_forward_backward(name: str) -> None:
    model = _build(REGISTRIES.generators.get(name))
    x = _image()
    out, latent = model(x, attention_map(x))
    assert out.shape == latent.shape == x.shape
    torch.testing.assert_close(out - x, latent)
    out.mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", REGISTRIES.discriminators.names())
def test_discriminator_forward_backward(name: str) -> None:
    model = _build(REGISTRIES.discriminators.get(name))
    x = _image()
    pred = model.global_d(x)
    assert pred.dim() == 4 and pred.shape[:2] == (2, 1)
    loss = pred.mean()
    if model.local_d is not None:
        coords = model.sample_patches(64, 64, torch.Generator().manual_seed(0))
        assert coords.shape == (model.num_patches, 2)
        patches = model.crop(x, coords)
        s = model.patch_size
        assert patches.shape == (model.num_patches * 2, 3, s, s)
        loss = loss + model.local_d(patches).mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())

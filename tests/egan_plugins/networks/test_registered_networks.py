"""Forward/backward smoke test of every registered generator and discriminator."""

from __future__ import annotations

import inspect

import pytest
import torch

from egan_core import get_registries
from egan_core.generator_io import attention_map, enhance_with, value_range

REGISTRIES = get_registries()


def _build(factory: type) -> torch.nn.Module:
    injected = {"seed": 0, "vgg_weights": "none"}
    params = inspect.signature(factory).parameters
    return factory(**{k: v for k, v in injected.items() if k in params})


def _image(n: int = 2, size: int = 64) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_the_builtins_are_registered() -> None:
    for name in ("attention_unet", "zero_dce", "zero_dce_pp", "sci"):
        assert name in REGISTRIES.generators
    assert "global_local" in REGISTRIES.discriminators


@pytest.mark.parametrize("name", REGISTRIES.generators.names())
def test_generator_forward_backward(name: str) -> None:
    model = _build(REGISTRIES.generators.get(name))
    x = _image()
    out, aux = enhance_with(model, x, signed=True)
    assert out.shape == x.shape
    if "latent" in aux:  # attention generators: output = input + latent
        torch.testing.assert_close(out - x, aux["latent"])
    if "attention" in aux:
        torch.testing.assert_close(aux["attention"], attention_map(x))
    out.mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("height,width", [(37, 53), (13, 9), (64, 31)])
@pytest.mark.parametrize("name", REGISTRIES.generators.names())
def test_generator_any_size_in_eval(name: str, height: int, width: int) -> None:
    """Every generator (the next one the day it is registered) takes odd sizes in eval mode
    on [0, 1] images through the one helper every caller uses, and gives a finite image."""
    model = _build(REGISTRIES.generators.get(name)).eval()
    x = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(1)) * 0.5
    assert value_range(model) in ("unit", "signed")
    with torch.no_grad():
        out, aux = enhance_with(model, x)
    assert out.shape == x.shape and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    clamped = out.clamp(0, 1)
    assert 0 <= clamped.min() and clamped.max() <= 1
    for value in aux.values():
        assert torch.isfinite(value).all()


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


@pytest.mark.parametrize("name", REGISTRIES.generators.names())
def test_generator_precision_probe(name: str) -> None:
    """``train.precision: auto``'s timing probe runs every generator as the trainer does."""
    from egan_core.training.precision import _probe

    timings = _probe(_build(REGISTRIES.generators.get(name)), torch.device("cpu"),
                     [("fp32", False, False), ("fp32", True, False), ("fp32", False, True)], size=40)
    assert set(timings) == {"fp32", "fp32+channels_last", "fp32+winograd"}
    assert all(t > 0 for t in timings.values())

"""Forward/backward smoke test of every registered loss (``vgg_weights="none"``)."""

from __future__ import annotations

import inspect

import pytest
import torch

from egan_core import get_registries
from egan_core.losses import AdversarialLoss
from egan_core.testing import make_tiny_batch

REGISTRIES = get_registries()


def _build(factory: type) -> torch.nn.Module:
    injected = {"seed": 0, "vgg_weights": "none"}
    params = inspect.signature(factory).parameters
    return factory(**{k: v for k, v in injected.items() if k in params})


def test_the_builtins_are_registered() -> None:
    for name in ("ralsgan", "lsgan", "relu5_1", "relu5_3", "stylefeat"):
        assert name in REGISTRIES.losses


@pytest.mark.parametrize("name", REGISTRIES.losses.names())
def test_loss_forward_backward(name: str) -> None:
    loss = _build(REGISTRIES.losses.get(name))
    if isinstance(loss, AdversarialLoss):
        gen = torch.Generator().manual_seed(0)
        real = torch.randn(2, 1, 5, 5, generator=gen).requires_grad_()
        fake = torch.randn(2, 1, 5, 5, generator=gen).requires_grad_()
        d = loss.d_loss(real, fake)
        g = loss.g_loss(real if loss.uses_real_in_g else None, fake)
        assert d.dim() == g.dim() == 0
        (d + g).backward()
        assert fake.grad is not None and torch.isfinite(fake.grad).all()
    else:
        ctx = make_tiny_batch(batch=2, size=64, patch_size=32)
        value = loss(ctx)
        assert value.dim() == 0 and torch.isfinite(value)
        value.backward()
        assert ctx.latent.grad is not None and torch.isfinite(ctx.latent.grad).all()

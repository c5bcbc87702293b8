"""Values of the paired pixel losses, checked against the metric they stand for."""

from __future__ import annotations

import dataclasses
import math

import torch

from egan_core import get_registries
from egan_core.generator_io import from_model_range
from egan_core.losses import LossContext
from egan_core.metrics.psnr import psnr01
from egan_core.testing import make_tiny_batch


def _context(enhanced: torch.Tensor, normal: torch.Tensor) -> LossContext:
    """The tiny batch with ``enhanced`` and ``normal`` swapped for the given images."""
    size = enhanced.shape[-1]
    tiny = make_tiny_batch(batch=enhanced.shape[0], size=size, patch_size=size // 2)
    return dataclasses.replace(tiny, enhanced=enhanced, normal=normal)


def test_mse_is_the_error_psnr_measures() -> None:
    """PSNR in [0, 1] of the pair equals 10 log10(4 / mse) for the loss in [-1, 1]."""
    ctx = make_tiny_batch(size=8, patch_size=4)
    mse = get_registries().losses.get("mse")()(ctx).detach()
    expected = psnr01(from_model_range(ctx.enhanced.detach()), from_model_range(ctx.normal))
    assert math.isclose(10 * math.log10(4 / float(mse)), expected, rel_tol=1e-5)


def test_mse_weighs_large_errors_more_than_l1() -> None:
    """One pixel off by 1 vs every pixel off by 1/64: same l1, 64x the mse."""
    losses = get_registries().losses
    normal = torch.zeros(1, 3, 8, 8)
    spike, spread = normal.clone(), normal + 1 / 64
    spike[..., 0, 0] = 1.0
    l1, mse = losses.get("l1")(), losses.get("mse")()
    assert math.isclose(float(l1(_context(spike, normal))), float(l1(_context(spread, normal))))
    ratio = float(mse(_context(spike, normal))) / float(mse(_context(spread, normal)))
    assert math.isclose(ratio, 64.0, rel_tol=1e-5)


def test_mse_backward_is_finite_in_bf16() -> None:
    """The loss is taken in float32, so bf16 autocast outputs still give usable gradients."""
    enhanced = torch.full((1, 3, 4, 4), 0.5, dtype=torch.bfloat16, requires_grad=True)
    normal = torch.zeros(1, 3, 4, 4, dtype=torch.bfloat16)
    loss = get_registries().losses.get("mse")()(_context(enhanced, normal))
    assert loss.dtype == torch.float32
    loss.backward()
    assert enhanced.grad is not None and torch.isfinite(enhanced.grad.float()).all()

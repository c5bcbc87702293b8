"""``ralsgan`` and ``lsgan`` against values worked out by hand."""

from __future__ import annotations

import pytest
import torch

from egan_core.losses import AdversarialLoss
from egan_plugins.losses import LSGAN, RelativisticAverageLSGAN

# Two images, 1x2 prediction maps: D(real) = 1, 0.5 | 0, 2 ; D(fake) = 0, -1 | 0.5, 0.5.
REAL = torch.tensor([1.0, 0.5, 0.0, 2.0]).view(2, 1, 1, 2)
FAKE = torch.tensor([0.0, -1.0, 0.5, 0.5]).view(2, 1, 1, 2)
MEAN_REAL = (1.0 + 0.5 + 0.0 + 2.0) / 4  # one scalar over batch and positions: 0.875
MEAN_FAKE = (0.0 - 1.0 + 0.5 + 0.5) / 4  # 0.0


def _mean_sq(values: list[float]) -> float:
    return sum(v * v for v in values) / len(values)


def test_ralsgan_d_loss_by_hand() -> None:
    real_term = _mean_sq([r - MEAN_FAKE - 1 for r in (1.0, 0.5, 0.0, 2.0)])  # 0.5625
    fake_term = _mean_sq([f - MEAN_REAL for f in (0.0, -1.0, 0.5, 0.5)])  # 1.140625
    expected = 0.5 * (real_term + fake_term)
    assert expected == pytest.approx(0.8515625)
    got = RelativisticAverageLSGAN().d_loss(REAL, FAKE)
    assert got.dim() == 0 and got.item() == pytest.approx(expected)


def test_ralsgan_g_loss_by_hand() -> None:
    real_term = _mean_sq([r - MEAN_FAKE for r in (1.0, 0.5, 0.0, 2.0)])  # 1.3125
    fake_term = _mean_sq([f - MEAN_REAL - 1 for f in (0.0, -1.0, 0.5, 0.5)])  # 3.890625
    expected = 0.5 * (real_term + fake_term)
    assert expected == pytest.approx(2.6015625)
    assert RelativisticAverageLSGAN().g_loss(REAL, FAKE).item() == pytest.approx(expected)
    assert RelativisticAverageLSGAN.uses_real_in_g
    with pytest.raises(ValueError):
        RelativisticAverageLSGAN().g_loss(None, FAKE)


def test_lsgan_by_hand() -> None:
    d_expected = 0.5 * (_mean_sq([0.0, -0.5, -1.0, 1.0]) + _mean_sq([0.0, -1.0, 0.5, 0.5]))
    assert d_expected == pytest.approx(0.46875)
    assert LSGAN().d_loss(REAL, FAKE).item() == pytest.approx(d_expected)
    g_expected = _mean_sq([-1.0, -2.0, -0.5, -0.5])  # (D(f) - 1)^2
    assert g_expected == pytest.approx(1.375)
    assert LSGAN().g_loss(None, FAKE).item() == pytest.approx(g_expected)
    assert not LSGAN.uses_real_in_g


def test_lsgan_on_patch_major_batches_is_the_mean_over_patches() -> None:
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(6 * 2, 1, 5, 5, generator=gen), torch.randn(12, 1, 5, 5, generator=gen)
    loss = LSGAN()
    for objective in (loss.d_loss, lambda r, f: loss.g_loss(None, f)):
        per_patch = [objective(real[p * 2:(p + 1) * 2], fake[p * 2:(p + 1) * 2]) for p in range(6)]
        torch.testing.assert_close(objective(real, fake), torch.stack(per_patch).mean())


def test_both_are_adversarial_losses_with_gradients() -> None:
    for loss in (RelativisticAverageLSGAN(), LSGAN()):
        assert isinstance(loss, AdversarialLoss)
        real, fake = REAL.clone().requires_grad_(), FAKE.clone().requires_grad_()
        (loss.d_loss(real, fake) + loss.g_loss(real, fake)).backward()
        assert fake.grad is not None and torch.isfinite(fake.grad).all()

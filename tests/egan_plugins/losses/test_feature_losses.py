"""``relu5_1``, ``relu5_3`` and ``stylefeat``: formulas, patches, weights, batching."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from egan_core.testing import make_tiny_batch
from egan_plugins.losses import Relu51Loss, Relu53Loss, SelfFeatureLoss, StyleFeatureLoss
from egan_plugins.losses.feature import gram, normalised_mse
from egan_plugins.losses.vgg import shared_vgg

LOSSES = [Relu51Loss, Relu53Loss, StyleFeatureLoss]


def _pair(n: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, size, size, generator=gen) * 2 - 1,
            torch.rand(n, 3, size, size, generator=gen) * 2 - 1)


def test_gram_normalisation_by_hand() -> None:
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # N=1, C=2, H=1, W=2
    # F Fᵀ = [[1+4, 3+8], [3+8, 9+16]], divided by C·H·W = 4.
    expected = torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4
    torch.testing.assert_close(gram(f), expected)


def test_normalised_mse_by_hand() -> None:
    f = torch.tensor([[[[1.0, 3.0]]]])  # one channel: mean 2, variance 1
    t = torch.full_like(f, 7.0)  # constant: normalises to 0
    expected = ((1 / (1 + 1e-5) ** 0.5) ** 2 + (1 / (1 + 1e-5) ** 0.5) ** 2) / 2
    assert normalised_mse(f, t).item() == pytest.approx(expected, rel=1e-6)


def test_self_feature_loss_is_normalised_mse_against_low_not_normal() -> None:
    loss = Relu51Loss(vgg_weights="none")
    ctx = dataclasses.replace(make_tiny_batch(), enhanced_patches=None, low_patches=None)
    vgg = shared_vgg("none")
    ((fe,), (fl,)) = vgg(ctx.enhanced, ("relu5_1",)), vgg(ctx.low, ("relu5_1",))
    norm = torch.nn.functional.instance_norm
    expected = ((norm(fe) - norm(fl)) ** 2).mean()
    torch.testing.assert_close(loss(ctx), expected)
    other = dataclasses.replace(ctx, normal=torch.zeros_like(ctx.normal))
    torch.testing.assert_close(loss(other), loss(ctx))
    assert Relu53Loss(vgg_weights="none").layer == "relu5_3"


@pytest.mark.parametrize("cls", LOSSES)
def test_image_term_plus_patch_term(cls: type) -> None:
    loss = cls(vgg_weights="none")
    ctx = make_tiny_batch()
    with torch.no_grad():
        image = loss.term(ctx.enhanced, ctx.low)
        patches = loss.term(ctx.enhanced_patches, ctx.low_patches)
        torch.testing.assert_close(loss(ctx), image + patches)
        no_patches = dataclasses.replace(ctx, enhanced_patches=None, low_patches=None)
        torch.testing.assert_close(loss(no_patches), image)


@pytest.mark.parametrize("cls", LOSSES)
def test_batched_patches_equal_the_per_patch_loop(cls: type) -> None:
    loss, n, p = cls(vgg_weights="none"), 2, 3
    fake, target = _pair(p * n, 16, seed=1)  # patch-major (P * N, 3, s, s)
    with torch.no_grad():
        batched = loss.term(fake, target)
        looped = torch.stack([loss.term(fake[i * n:(i + 1) * n], target[i * n:(i + 1) * n])
                              for i in range(p)]).mean()
    torch.testing.assert_close(batched, looped, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("cls", LOSSES)
def test_one_batched_vgg_call_per_term(cls: type) -> None:
    loss = cls(vgg_weights="none")
    calls: list[int] = []
    handle = loss.vgg.register_forward_hook(lambda m, args, out: calls.append(args[0].shape[0]))
    try:
        with torch.no_grad():
            loss(make_tiny_batch(batch=2))
    finally:
        handle.remove()
    assert calls == [4, 8]  # image: 2 enhanced + 2 low; patches: 2 x (2 patches x 2 images)


def test_stylefeat_is_content_plus_weighted_gram_style() -> None:
    fake, target = _pair(2, 32, seed=2)
    vgg = shared_vgg("none")
    layers = ("relu3_3", "relu4_3", "relu5_3")
    with torch.no_grad():
        ff, tf = vgg(fake, layers), vgg(target, layers)
        styles = []
        for a, b in zip(ff, tf, strict=True):
            n, c, h, w = a.shape
            ga = torch.einsum("nci,ndi->ncd", a.flatten(2), a.flatten(2)) / (c * h * w)
            gb = torch.einsum("nci,ndi->ncd", b.flatten(2), b.flatten(2)) / (c * h * w)
            styles.append(((ga - gb) ** 2).mean())
        style = sum(styles) / 3
        content = SelfFeatureLoss("relu3_3", vgg_weights="none").term(fake, target)
        got_content, got_style = StyleFeatureLoss(vgg_weights="none").content_and_style(fake,
                                                                                        target)
        torch.testing.assert_close(got_content, content)
        torch.testing.assert_close(got_style, style, rtol=1e-4, atol=0)
        total = StyleFeatureLoss(vgg_weights="none").term(fake, target)
        torch.testing.assert_close(total, content + 1e-5 * style, rtol=1e-5, atol=0)
        heavier = StyleFeatureLoss(vgg_weights="none", style_weight=1.0).term(fake, target)
        torch.testing.assert_close(heavier, got_content + got_style)
        assert heavier > total


@pytest.mark.parametrize("cls", LOSSES)
def test_gradient_reaches_the_generator_only(cls: type) -> None:
    ctx = make_tiny_batch()
    cls(vgg_weights="none")(ctx).backward()
    assert ctx.latent.grad is not None and ctx.latent.grad.abs().sum() > 0
    assert all(p.grad is None for p in shared_vgg("none").parameters())


def test_unknown_layer_is_refused() -> None:
    with pytest.raises(ValueError, match="relu5_1"):
        SelfFeatureLoss("relu9_9", vgg_weights="none")


@pytest.mark.parametrize("cls", LOSSES)
def test_training_path_matches_the_batched_call_in_value_and_gradient(cls: type) -> None:
    """With a gradient to compute, the (constant) target goes through the VGG separately."""
    loss = cls(vgg_weights="none")
    fake, target = _pair(2, 32, seed=3)
    with torch.no_grad():
        batched = loss.term(fake, target)  # one batched call
    leaf = fake.clone().requires_grad_(True)
    split = loss.term(leaf, target)
    torch.testing.assert_close(split.detach(), batched, rtol=1e-5, atol=1e-7)
    split.backward()
    reference = fake.clone().requires_grad_(True)
    n = reference.shape[0]
    layers = ("relu3_3", "relu4_3", "relu5_3") if cls is StyleFeatureLoss else (loss.layer,)
    feats = loss.vgg(torch.cat((reference, target), 0), layers)
    pairs = [(f[:n], f[n:]) for f in feats]
    if cls is StyleFeatureLoss:
        content = normalised_mse(*pairs[0])
        style = torch.stack([torch.mean((gram(f) - gram(t)) ** 2) for f, t in pairs]).mean()
        expected = content + loss.style_weight * style
    else:
        expected = normalised_mse(*pairs[0])
    expected.backward()
    assert leaf.grad is not None and reference.grad is not None
    torch.testing.assert_close(leaf.grad, reference.grad, rtol=1e-4, atol=1e-9)


def test_normalised_mse_is_computed_in_float32() -> None:
    fake, target = _pair(2, 8, seed=4)
    low = normalised_mse(fake.bfloat16(), target.bfloat16())
    assert low.dtype == torch.float32
    torch.testing.assert_close(low, normalised_mse(fake.bfloat16().float(),
                                                   target.bfloat16().float()))

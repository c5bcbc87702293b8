"""EnlightenGAN's self feature preserving losses: ``relu5_1``, ``relu5_3`` and ``stylefeat``.

Each compares VGG16 features of the enhanced image with those of the (un-darkened) LOW
input, never the normal-light image: on the whole image, plus the mean over the patches
when the discriminator takes patches. Patch tensors are patch-major batches, so the
batched loss is the mean of the per-patch losses.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from egan_core.losses import LossContext
from egan_plugins.losses.vgg import VGG16Features, check_layers, shared_vgg


def normalised_mse(fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of instance-normalised (no affine, eps 1e-5) features.

    Computed in float32 whatever the features' dtype (autocast leaves ``instance_norm``
    in bf16 on the CPU; the statistics and the small differences want float32).
    """
    fake, target = fake.float(), target.float()
    return torch.mean((F.instance_norm(fake, eps=1e-5) - F.instance_norm(target, eps=1e-5)) ** 2)


def gram(features: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` -> ``(N, C, C)`` Gram matrices ``F Fᵀ / (C·H·W)``, in float32."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w).float()
    return flat @ flat.transpose(1, 2) / (c * h * w)


def paired_features(vgg: VGG16Features, fake: torch.Tensor, target: torch.Tensor,
                    layers: Sequence[str]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """VGG features of ``fake`` and ``target``: ``[(f, t), ...]``.

    Without a gradient to compute, one batched call. When ``fake`` needs one (training),
    ``target`` (the low-light input, a constant) goes through the VGG on its own under
    ``torch.no_grad``: the backward pass then runs through the fake half only instead of
    computing and discarding the gradient of the target half too.
    """
    target = target.to(fake.dtype)
    if torch.is_grad_enabled() and fake.requires_grad and not target.requires_grad:
        with torch.no_grad():
            targets = vgg(target, layers)
        return list(zip(vgg(fake, layers), targets, strict=True))
    n = fake.shape[0]
    feats = vgg(torch.cat((fake, target), 0), layers)
    return [(f[:n], f[n:]) for f in feats]


class FeatureLossBase(nn.Module):
    """Image term plus patch term of a per-batch :meth:`term`; holds the shared VGG16."""

    def __init__(self, vgg_weights: str = "imagenet") -> None:
        super().__init__()
        self.vgg = shared_vgg(vgg_weights)

    def term(self, fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of ``fake`` against ``target`` (two ``(N, 3, H, W)`` batches)."""
        raise NotImplementedError

    def forward(self, ctx: LossContext) -> torch.Tensor:
        """``term(enhanced, low)`` + ``term(enhanced_patches, low_patches)`` (if patches)."""
        loss = self.term(ctx.enhanced, ctx.low)
        if ctx.enhanced_patches is not None and ctx.low_patches is not None:
            loss = loss + self.term(ctx.enhanced_patches, ctx.low_patches)
        return loss


class SelfFeatureLoss(FeatureLossBase):
    """Self feature preserving loss on one VGG16 layer.

    Args:
        layer: the VGG16 tap (``relu5_1`` in the paper).
        vgg_weights: ``vgg.weights`` of the recipe (injected).
    """

    def __init__(self, layer: str = "relu5_1", vgg_weights: str = "imagenet") -> None:
        check_layers([layer])
        super().__init__(vgg_weights)
        self.layer = layer

    def term(self, fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Instance-normalised feature MSE at :attr:`layer`."""
        ((f, t),) = paired_features(self.vgg, fake, target, (self.layer,))
        return normalised_mse(f, t)


class Relu51Loss(SelfFeatureLoss):
    """The paper's self feature preserving loss, on relu5_1 (registered ``relu5_1``)."""

    def __init__(self, vgg_weights: str = "imagenet") -> None:
        super().__init__("relu5_1", vgg_weights)


class Relu53Loss(SelfFeatureLoss):
    """Self feature preserving loss on relu5_3 (registered ``relu5_3``)."""

    def __init__(self, vgg_weights: str = "imagenet") -> None:
        super().__init__("relu5_3", vgg_weights)


class StyleFeatureLoss(FeatureLossBase):
    """Content (normalised relu3_3 MSE) + ``style_weight`` · Gram style (``stylefeat``).

    Style is the mean over relu3_3, relu4_3 and relu5_3 of ``mean((G(f) − G(t))²)``, with
    Gram matrices of the raw (not normalised) features.

    Args:
        vgg_weights: ``vgg.weights`` of the recipe (injected).
        style_weight: weight of the style term relative to the content term.
    """

    content_layer = "relu3_3"
    style_layers = ("relu3_3", "relu4_3", "relu5_3")

    def __init__(self, vgg_weights: str = "imagenet", style_weight: float = 1e-5) -> None:
        super().__init__(vgg_weights)
        self.style_weight = style_weight

    def content_and_style(self, fake: torch.Tensor,
                          target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The unweighted ``(content, style)`` terms of ``fake`` against ``target``."""
        pairs = paired_features(self.vgg, fake, target, self.style_layers)
        content = normalised_mse(*pairs[self.style_layers.index(self.content_layer)])
        style = torch.stack([torch.mean((gram(f) - gram(t)) ** 2) for f, t in pairs]).mean()
        return content, style

    def term(self, fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``content + style_weight · style``."""
        content, style = self.content_and_style(fake, target)
        return content + self.style_weight * style

"""Tensor conventions shared by every component.

Models work on images in [-1, 1] (``x * 2 - 1`` of the [0, 1] image), NCHW.
"""

from __future__ import annotations

import torch
from torch import nn

from egan_core.contracts import DeclaresAttention, DeclaresValueRange, ValueRange

#: Luma weights of ITU-R BT.601 (R, G, B), as EnlightenGAN's attention map uses them.
LUMA = (0.299, 0.587, 0.114)


def to_model_range(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] image -> [-1, 1]."""
    return x * 2 - 1


def from_model_range(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] image -> [0, 1] (not clipped)."""
    return (x + 1) / 2


def attention_map(x: torch.Tensor) -> torch.Tensor:
    """EnlightenGAN's attention map ``1 - Y/2`` of an image in [-1, 1].

    Args:
        x: ``(N, 3, H, W)`` RGB in [-1, 1].

    Returns:
        ``(N, 1, H, W)``: ``1 - (0.299 (r+1) + 0.587 (g+1) + 0.114 (b+1)) / 2``; dark
        pixels get weights near 1, bright ones near 0.
    """
    r, g, b = x[:, 0:1] + 1, x[:, 1:2] + 1, x[:, 2:3] + 1
    return 1.0 - (LUMA[0] * r + LUMA[1] * g + LUMA[2] * b) / 2.0


#: What a generator may declare about its input and output range (class attribute
#: ``value_range``): ``signed`` = [-1, 1] (EnlightenGAN's convention, the default),


def unwrap(generator: nn.Module) -> nn.Module:
    """The module inside DDP (``module``) and ``torch.compile`` (``_orig_mod``) wrappers:
    what declares a network's conventions, and what runs without DDP's gradient sync."""
    for _ in range(8):
        inner = getattr(generator, "_orig_mod", None)
        if inner is None:
            inner = getattr(generator, "module", None)
        if not isinstance(inner, nn.Module):
            break
        generator = inner
    return generator


def value_range(generator: nn.Module) -> ValueRange:
    """The generator's declared ``value_range`` (``signed`` when it declares none)."""
    core = unwrap(generator)
    found = core.value_range if isinstance(core, DeclaresValueRange) else "signed"
    if found not in ("unit", "signed"):
        raise ValueError(f"generator {type(unwrap(generator)).__name__} declares value_range "
                         f"{found!r}; declare 'unit' ([0, 1]) or 'signed' ([-1, 1])")
    return found


def needs_attention(generator: nn.Module) -> bool:
    """Whether the generator takes EnlightenGAN's attention map (default: yes)."""
    core = unwrap(generator)
    return bool(core.needs_attention) if isinstance(core, DeclaresAttention) else True


def enhance_with(generator: nn.Module, x: torch.Tensor, *, signed: bool = False,
                 dtype: torch.dtype | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Run any registered generator: the one place that knows the generator contract.

    Every caller (training step, sample grid, validation, enhancement backends, export)
    goes through here, so a generator only declares what it needs (``value_range``,
    ``needs_attention``) and works everywhere.

    Args:
        generator: a generator (or a DDP / compiled wrapper of one).
        x: ``(N, 3, H, W)`` image in [0, 1], or in [-1, 1] when ``signed``.
        signed: the range of ``x`` and of the returned image.
        dtype: run the generator in this dtype (e.g. bf16 weights): the range conversion
            and the attention map are computed in ``x``'s precision, then cast.

    Returns:
        ``(enhanced, aux)``: the enhanced image in the range of ``x`` (not clipped) and
        the generator's auxiliary outputs. For attention generators ``aux`` holds
        ``attention`` and ``latent`` ([-1, 1] convention); ``unit`` generators return
        their own (e.g. Zero-DCE's ``curves``, SCI's ``illumination``).
    """
    if value_range(generator) == "signed":
        img = x if signed else to_model_range(x)
        if needs_attention(generator):
            att = attention_map(img)
            if dtype is None:
                out, latent = generator(img, att)
            else:
                out, latent = generator(img.to(dtype), att.to(dtype))
            aux = {"attention": att, "latent": latent}
        else:
            out, latent = generator(img if dtype is None else img.to(dtype))
            aux = {"latent": latent}
        return (out if signed else from_model_range(out)), aux
    img = from_model_range(x) if signed else x
    cast = img if dtype is None else img.to(dtype)
    if needs_attention(generator):
        att = attention_map(to_model_range(img))
        out, aux = generator(cast, att if dtype is None else att.to(dtype))
    else:
        out, aux = generator(cast)
    return (to_model_range(out) if signed else out), dict(aux)


def check_image(height: int, width: int | None = None, batch: int = 1, seed: int = 0) -> torch.Tensor:
    """A deterministic dark ``(batch, 3, H, W)`` image in [0, 1], gradients plus texture:
    what speed probes time and agreement checks compare on (no file, no download)."""
    width = height if width is None else width
    gen = torch.Generator().manual_seed(seed)
    yy = torch.linspace(0, 1, height)[:, None].expand(height, width)
    xx = torch.linspace(0, 1, width)[None, :].expand(height, width)
    base = torch.stack([xx, yy, 0.5 * (xx + yy)]) * 0.4
    texture = 0.06 * torch.sin(37 * xx + 23 * yy) * torch.cos(29 * yy - 11 * xx)
    noise = 0.03 * torch.randn(batch, 3, height, width, generator=gen)
    return (base + texture + noise).clamp(0, 1)

"""The ``attention_unet`` generator: size, structure, padding, residual and original keys."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from egan_core.errors import CheckpointError
from egan_core.generator_io import attention_map
from egan_plugins.networks import AttentionUNet, GlobalLocalDiscriminator, init_weights

# The original Unet_resize_conv's parameterised submodules (self_attention, use_norm=1).
ORIGINAL_NAMES = (
    [f"{kind}{level}_{i}" for level in range(1, 6) for i in (1, 2) for kind in ("conv", "bn")]
    + [f"deconv{k}" for k in range(5, 9)]
    + [f"{kind}{level}_{i}" for level in range(6, 9) for i in (1, 2) for kind in ("conv", "bn")]
    + ["conv9_1", "bn9_1", "conv9_2", "conv10"]
)


def _image(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _run(model: AttentionUNet, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        return model(x, attention_map(x))


def test_parameter_count_matches_the_paper_model() -> None:
    assert sum(p.numel() for p in AttentionUNet().parameters()) == 8_636_675


def test_submodule_names_are_the_originals() -> None:
    names = {k.rsplit(".", 1)[0] for k in AttentionUNet(base_channels=8).state_dict()}
    assert names == set(ORIGINAL_NAMES)
    assert not hasattr(AttentionUNet(base_channels=8), "bn9_2")  # last conv: no BatchNorm


def test_output_is_input_plus_attention_times_constant_latent() -> None:
    model = AttentionUNet(base_channels=8).eval()
    bias = torch.tensor([0.1, -0.2, 0.3])
    with torch.no_grad():
        model.conv10.weight.zero_()
        model.conv10.bias.copy_(bias)
    x = _image(2, 40, 24)
    out, latent = _run(model, x)
    expected_latent = bias.view(1, 3, 1, 1) * attention_map(x)
    torch.testing.assert_close(latent, expected_latent)
    torch.testing.assert_close(out, x + expected_latent)


def test_latent_is_the_residual_and_vanishes_where_attention_does() -> None:
    model = AttentionUNet(base_channels=8, seed=1).eval()
    x = _image(1, 32, 32)
    x[..., :8, :8] = 1.0  # white: attention 0
    out, latent = _run(model, x)
    torch.testing.assert_close(out - x, latent)
    assert latent[..., :8, :8].abs().max() < 1e-5
    assert latent.abs().max() > 1e-3  # no tanh/clamp made it trivial


def test_odd_size_comes_back_at_its_exact_size() -> None:
    x = _image(1, 333, 501)
    out, latent = _run(AttentionUNet(base_channels=8).eval(), x)
    assert out.shape == latent.shape == (1, 3, 333, 501)


def test_padding_is_reflection_with_floor_on_the_left() -> None:
    model = AttentionUNet(base_channels=8).eval()
    x = _image(1, 21, 35)
    out, _ = _run(model, x)
    # 21 -> 32: top 5, bottom 6; 35 -> 48: left 6, right 7.
    padded = F.pad(x, (6, 7, 5, 6), mode="reflect")
    out_p, _ = _run(model, padded)  # already a multiple of 16: no further padding
    torch.testing.assert_close(out, out_p[..., 5:26, 6:41])


def test_tiny_images_still_work() -> None:
    out, _ = _run(AttentionUNet(base_channels=8).eval(), _image(1, 5, 7))
    assert out.shape == (1, 3, 5, 7)


def test_align_corners_is_a_kwarg_variant() -> None:
    a = AttentionUNet(base_channels=8, align_corners=False).eval()
    b = AttentionUNet(base_channels=8, align_corners=True).eval()
    b.load_state_dict(a.state_dict())
    x = _image(1, 32, 32)
    assert not torch.allclose(_run(a, x)[0], _run(b, x)[0])


def test_freeze_norm_trains_on_running_statistics_and_never_updates_them() -> None:
    frozen = AttentionUNet(base_channels=8, freeze_norm=True).train()
    plain = AttentionUNet(base_channels=8).train()
    x = _image(2, 32, 32, seed=3) * 0.5
    stats = {k: v.clone() for k, v in frozen.state_dict().items() if "running" in k}
    out, _ = frozen(x, attention_map(x))
    out.abs().mean().backward()
    assert all(torch.equal(v, frozen.state_dict()[k]) for k, v in stats.items())
    assert frozen.bn1_1.weight.grad is not None  # the affine part still learns
    assert frozen.training and not frozen.bn1_1.training
    evaluated = _run(frozen.eval(), x)[0]
    assert torch.allclose(out.detach(), evaluated, atol=1e-6)  # training == inference
    plain.load_state_dict(frozen.state_dict())
    assert not torch.allclose(plain(x, attention_map(x))[0].detach(), evaluated, atol=1e-3)
    assert AttentionUNet(base_channels=8, freeze_norm=True).train().bn5_2.training is False
    # frozen from construction on, before anything calls train(): a trainer need not
    assert AttentionUNet(base_channels=8, freeze_norm=True).bn1_1.training is False


def test_init_is_the_originals_and_reproducible() -> None:
    a, b = AttentionUNet(base_channels=8, seed=3), AttentionUNet(base_channels=8, seed=3)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    assert not torch.equal(AttentionUNet(base_channels=8, seed=4).conv1_1.weight, a.conv1_1.weight)
    big = AttentionUNet()
    assert abs(big.conv5_2.weight.std().item() - 0.02) < 1e-3
    assert abs(big.conv5_2.weight.mean().item()) < 1e-3
    assert abs(big.bn5_2.weight.mean().item() - 1.0) < 5e-3
    assert abs(big.bn5_2.weight.std().item() - 0.02) < 5e-3
    assert torch.count_nonzero(big.bn5_2.bias) == 0
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    w1 = init_weights(AttentionUNet(base_channels=8), g1).conv10.bias.clone()
    w2 = init_weights(AttentionUNet(base_channels=8, seed=9), g2).conv10.bias
    assert torch.equal(w1, w2)


def _original_format(model: AttentionUNet, prefix: str, keep_counts: bool) -> dict:
    return {prefix + k: v.clone() for k, v in model.state_dict().items()
            if keep_counts or not k.endswith("num_batches_tracked")}


@pytest.mark.parametrize(("base", "prefix", "keep_counts"),
                         [(32, "module.", False), (8, "", True), (8, "module.", True)])
def test_original_state_dict_reproduces_the_forward(base: int, prefix: str,
                                                     keep_counts: bool) -> None:
    model = AttentionUNet(base_channels=base, seed=5)
    model.train()
    model(_image(2, 16, 16), attention_map(_image(2, 16, 16)))  # move BN running stats
    model.eval()
    loaded = AttentionUNet.from_foreign_state_dict(_original_format(model, prefix, keep_counts))
    loaded.eval()
    x = _image(1, 24, 40, seed=2)
    for got, want in zip(_run(loaded, x), _run(model, x), strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_base_width_is_read_from_the_state_dict() -> None:
    sd = _original_format(AttentionUNet(base_channels=8), "module.", False)
    assert AttentionUNet.from_foreign_state_dict(sd).conv1_1.out_channels == 8


def test_other_architectures_give_a_one_line_checkpoint_error() -> None:
    with pytest.raises(CheckpointError) as err:
        AttentionUNet.from_foreign_state_dict(GlobalLocalDiscriminator().state_dict())
    msg = str(err.value)
    assert "\n" not in msg
    assert "missing keys conv1_1.weight, conv1_1.bias, bn1_1.weight (+" in msg
    assert "unexpected keys global_d.model.0.weight" in msg
    # The original's generator without self-attention: 3 input channels.
    sd = _original_format(AttentionUNet(base_channels=8), "", False)
    sd["conv1_1.weight"] = sd["conv1_1.weight"][:, :3]
    with pytest.raises(CheckpointError, match=r"wrong shapes conv1_1\.weight \[8, 3, 3, 3\]"):
        AttentionUNet.from_foreign_state_dict(sd)
    with pytest.raises(CheckpointError):
        AttentionUNet.from_foreign_state_dict({"conv1_1.weight": "not a tensor"})


def test_autocast_keeps_the_gated_skips_in_the_activation_dtype() -> None:
    """Under bf16 autocast the attention products stay bf16 (no float32 round trip)."""
    model = AttentionUNet(base_channels=8).eval()
    x = _image(1, 32, 32)
    seen: list[torch.dtype] = []
    handle = model.conv6_1.register_forward_pre_hook(lambda m, args: seen.append(args[0].dtype))
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            out, latent = model(x, attention_map(x))
    finally:
        handle.remove()
    assert seen == [torch.bfloat16]  # cat(deconv5 output, conv4 * att4)
    assert out.dtype == latent.dtype == torch.float32
    reference, _ = _run(model, x)
    torch.testing.assert_close(out, reference, rtol=0, atol=0.1)


def test_the_declared_receptive_field_bounds_what_an_output_pixel_depends_on() -> None:
    """With the shipped weights, a crop on the padding grid gives the whole frame's output
    from ``receptive_field`` inside its edges, and not from a little less (the figure is
    tight; random weights respond too weakly far out to show it)."""
    from egan_core.model_loading import load_generator
    from egan_core.scenes import dark_scene
    from egan_plugins.shipped import DEFAULT_MODEL

    model = load_generator(DEFAULT_MODEL.file).float().eval()
    reach, grid = AttentionUNet.receptive_field, AttentionUNet.pad_multiple
    rng = torch.Generator().manual_seed(3)
    scene = torch.from_numpy(dark_scene(2 * reach + 128, 2 * reach + 96)).permute(2, 0, 1)[None].float() / 255
    x = (scene + 0.03 * torch.randn(scene.shape, generator=rng)).clamp(0, 1) * 2 - 1
    whole = _run(model, x)[0]
    top, left = reach - 2 * grid, reach  # the crop's top and left edges are inside the image
    crop = _run(model, x[..., top:, left:])[0]
    inside = whole[..., top + reach:, left + reach:] - crop[..., reach:, reach:]
    assert inside.abs().max() < 1e-4  # float rounding of other convolution sizes
    less = reach - 2 * grid
    near = whole[..., top + less:, left + less:] - crop[..., less:, less:]
    assert near.abs().max() > 1e-3

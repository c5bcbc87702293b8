"""The inference-only ``attention_unet`` (folded BatchNorms, fused activations): same function."""

from __future__ import annotations

import pytest
import torch

from egan_core import winograd
from egan_core.generator_io import attention_map, from_model_range, to_model_range
from egan_core.generator_io import check_image as probe_image
from egan_core.metrics.psnr import psnr01 as psnr
from egan_core.testing import requires_native_bf16
from egan_plugins.networks import AttentionUNet, unet_fused
from egan_plugins.networks.unet_fused import FusedAttentionUNet


def _calibrated(seed: int = 3, align_corners: bool = False) -> AttentionUNet:
    """Width 8, BatchNorm statistics of a dark batch, a visible residual; eval mode."""
    model = AttentionUNet(base_channels=8, align_corners=align_corners, seed=seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None
    x = probe_image(64).repeat(2, 1, 1, 1) * 2 - 1
    with torch.no_grad():
        model.train()(x, attention_map(x))
        model.conv10.weight.mul_(5.0)
    return model.eval()


def _reference(model: AttentionUNet, x: torch.Tensor) -> torch.Tensor:
    img = to_model_range(x)
    with torch.no_grad():
        return from_model_range(model(img, attention_map(img))[0])


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 40, 56), (1, 3, 37, 61), (1, 3, 5, 7)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_fp32_form_equals_the_plain_forward(shape: tuple[int, ...], align_corners: bool) -> None:
    model = _calibrated(align_corners=align_corners)
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(1)) * 0.4
    with torch.inference_mode():
        out = FusedAttentionUNet(model, torch.float32)(x)
    assert out.dtype == torch.float32 and out.shape == x.shape
    torch.testing.assert_close(out, _reference(model, x), rtol=0, atol=2e-5)


@pytest.mark.skipif(not winograd.available(), reason="this PyTorch build has no NNPACK (or no AVX2)")
@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 37, 61), (1, 3, 5, 7)])
def test_winograd_form_equals_the_plain_forward(shape: tuple[int, ...]) -> None:
    model = _calibrated()
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(2)) * 0.4
    form = FusedAttentionUNet(model, torch.float32, winograd=True)
    assert form.winograd and form.layout == torch.contiguous_format
    with torch.inference_mode():
        out = form(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, _reference(model, x), rtol=0, atol=1e-4)
    # bf16 has no Winograd form: the oneDNN one is built
    assert not FusedAttentionUNet(model, torch.bfloat16, winograd=True).winograd


@requires_native_bf16
def test_bf16_form_stays_within_40_db() -> None:
    model = _calibrated()
    x = probe_image(96)
    with torch.inference_mode():
        out = FusedAttentionUNet(model, torch.bfloat16)(x)
    assert out.dtype == torch.float32
    assert psnr(out.clamp(0, 1), _reference(model, x).clamp(0, 1)) >= 40.0


def test_batchnorms_that_cannot_be_folded_run_as_a_pass() -> None:
    model = _calibrated()
    with torch.no_grad():
        model.bn1_1.weight[0] = 0.0  # s = 0: no margin value -t/s exists
        model.bn5_2.weight[1] = 0.0  # the deconvolution behind it keeps its own weights
    fused = FusedAttentionUNet(model, torch.float32)
    assert [level.folded for level in fused.levels] == [False, True, True, True]
    assert [fix is None for _, _, fix, _ in fused.steps] == [True, False, False, False]
    x = torch.rand(1, 3, 48, 40, generator=torch.Generator().manual_seed(2)) * 0.4
    with torch.inference_mode():
        torch.testing.assert_close(fused(x), _reference(model, x), rtol=0, atol=2e-5)


def test_without_onednn_the_plain_convolutions_do_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _calibrated()
    monkeypatch.setattr(unet_fused, "mkldnn_ok", lambda device: False)
    fused = FusedAttentionUNet(model, torch.float32)
    x = torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(4)) * 0.4
    with torch.inference_mode():
        torch.testing.assert_close(fused(x), _reference(model, x), rtol=0, atol=2e-5)


def test_inference_form_only_for_an_eval_model_on_the_cpu() -> None:
    model = _calibrated()
    assert isinstance(model.inference_form(torch.float32, "cpu"), FusedAttentionUNet)
    assert model.inference_form(torch.float32, "meta") is None
    model.train()
    assert model.inference_form(torch.float32, "cpu") is None
    with pytest.raises(ValueError, match="eval mode"):
        FusedAttentionUNet(model, torch.float32)


def test_the_form_is_a_snapshot_of_the_weights() -> None:
    model = _calibrated()
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5)) * 0.4
    fused = FusedAttentionUNet(model, torch.float32)
    before = _reference(model, x)
    with torch.no_grad():
        model.conv10.weight.mul_(2.0)
    with torch.inference_mode():
        torch.testing.assert_close(fused(x), before, rtol=0, atol=2e-5)

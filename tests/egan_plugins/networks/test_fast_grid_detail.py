"""``fast_grid``'s detail branch (``fast`` v2): its formula, and every inference path
(banded float, channels-last, uint8, Y'CbCr video planes, ONNX) giving the whole-frame result."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from egan_core import load_enhancer
from egan_core.checkpoint import generator_metadata, save_safetensors
from egan_core.model_loading import load_generator
from egan_core.scenes import dark_scene
from egan_plugins.networks.fast_grid import BAND_PIXELS, DETAIL_EPS, FastGridNet

KWARGS = {"size": 256, "width": 16, "detail": [1, 2, 4], "detail_width": 8}


def _model(seed: int = 0, detail: tuple[int, ...] = (1, 2, 4)) -> FastGridNet:
    """A detail model whose branch is not zero (a trained branch starts from zero)."""
    net = FastGridNet(seed=seed, **(KWARGS | {"detail": list(detail)})).eval()
    gen = torch.Generator().manual_seed(seed)
    assert net.detail is not None
    with torch.no_grad():
        for p in net.detail[2].parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return net


def _noisy_dark(height: int, width: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(dark_scene(width, height) + rng.normal(0, 4, (height, width, 3)), 0, 255).astype(np.uint8)


def _float(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None]


def test_a_new_branch_adds_nothing_and_v1_weights_fit_the_rest() -> None:
    v1 = FastGridNet(width=16, seed=3).eval()
    v2 = FastGridNet(width=16, seed=3, detail=(1, 2, 4)).eval()
    missing = v2.load_state_dict(v1.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("detail.") for k in missing)
    x = _float(_noisy_dark(40, 56))
    with torch.no_grad():
        assert torch.equal(v2.enhance(x), v1.enhance(x))
    with pytest.raises(ValueError, match="increasing radii"):
        FastGridNet(detail=(2, 1))
    with pytest.raises(ValueError, match="increasing radii"):
        FastGridNet(detail=(0, 2))


def test_the_residual_is_the_documented_sum_of_blur_differences() -> None:
    net = _model()
    x = _float(_noisy_dark(30, 44))
    with torch.no_grad():
        out = net.enhance(x, detail=False)
        got = net.detail_residual(x, out)[0].numpy()
    rgb = x[0].permute(1, 2, 0).numpy().astype(np.float64)
    lum = rgb @ np.array([0.299, 0.587, 0.114])
    luma = np.array([0.299, 0.587, 0.114])
    lum_out = np.clip(out[0].permute(1, 2, 0).numpy(), 0, 1).astype(np.float64) @ luma
    first, last = net.detail[0], net.detail[2]
    w1, b1 = (t.detach().double().numpy() for t in (first.weight[:, :, 0, 0], first.bias))
    w2, b2 = (t.detach().double().numpy() for t in (last.weight[:, :, 0, 0], last.bias))
    feats = np.stack([np.log((lum_out + DETAIL_EPS) / (lum + DETAIL_EPS)), lum_out, np.sqrt(lum)], -1)
    gains = np.maximum(feats @ w1.T + b1, 0) @ w2.T + b2  # (H, W, 6): 3 luma, 3 colour

    def box(a: np.ndarray, r: int) -> np.ndarray:
        padded = np.pad(a, [(r, r), (r, r)] + [(0, 0)] * (a.ndim - 2), mode="edge")
        h, w = a.shape[:2]
        window = [padded[i:i + h, j:j + w] for i in range(2 * r + 1) for j in range(2 * r + 1)]
        return np.mean(window, axis=0)

    colour = rgb - lum[..., None]
    expected = np.zeros_like(rgb)
    finer_lum, finer_colour = lum, colour
    for i, r in enumerate((1, 2, 4)):
        low_lum, low_colour = box(lum, r), box(colour, r)
        expected += ((gains[..., i] * (finer_lum - low_lum))[..., None]
                     + gains[..., 3 + i, None] * (finer_colour - low_colour))
        finer_lum, finer_colour = low_lum, low_colour
    np.testing.assert_allclose(got.transpose(1, 2, 0), expected, atol=2e-5)


@pytest.mark.parametrize(("shape", "detail"), [((301, 280), (1, 2, 4)), ((997, 211), (1, 2, 4)),
                                               ((301, 280), (3,))])  # bands end mid-image, odd heights
def test_every_banded_path_equals_the_whole_frame(shape: tuple[int, int], detail: tuple[int, ...]) -> None:
    net = _model(detail=detail)
    image = _noisy_dark(*shape)
    assert shape[0] * shape[1] > BAND_PIXELS
    x = _float(image)
    with torch.no_grad():
        whole = net.enhance(x)
        assert (whole - net.enhance(x, detail=False)).abs().max() > 0.02  # the branch does something
        banded = net.enhance_banded(x.contiguous())
        last = net.enhance_banded(x.contiguous(memory_format=torch.channels_last))
    bands: dict[int, torch.Tensor] = {}
    net.enhance_uint8(image[None], lambda n, a, b, band: bands.__setitem__(a, band.clone()))
    uint8 = torch.cat([bands[k] for k in sorted(bands)], 1)[None]
    for got in (banded, last, uint8):
        torch.testing.assert_close(got, whole, atol=2e-5, rtol=0)


def _saved(tmp_path: Path) -> Path:
    path = tmp_path / "fast_v2.safetensors"
    save_safetensors(path, _model().state_dict(), generator_metadata("fast_grid", KWARGS))
    return path


def test_weights_load_by_their_metadata_and_video_planes_match_rgb(tmp_path: Path) -> None:
    from egan_core.video.io import i420_planes, i420_to_rgb, rgb_to_i420, ycc_matrices

    path = _saved(tmp_path)
    loaded = load_generator(path)
    assert isinstance(loaded, FastGridNet) and loaded.detail_radii == (1, 2, 4)
    enhancer = load_enhancer("fast", checkpoint=str(path), device="cpu")
    image = _noisy_dark(360, 640)
    i420 = rgb_to_i420(image, "itu709")
    to_rgb, from_rgb = ycc_matrices("itu709", False)
    got = enhancer.enhance_frame_ycc(i420_planes(i420), to_rgb, from_rgb)
    expected = rgb_to_i420(enhancer.enhance_frame(i420_to_rgb(i420, "itu709", False)), "itu709")
    error = got.astype(np.float64) - expected
    assert 10 * np.log10(255**2 / np.mean(error**2)) >= 45.0


def test_onnx_export_matches_pytorch(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime", reason="onnx export is the optional extra egan[onnx]")
    pytest.importorskip("onnx", reason="onnx export is the optional extra egan[onnx]")
    from egan_core.export import export_model
    from egan_core.metrics.psnr import psnr01

    path = _saved(tmp_path)
    out = tmp_path / "fast_v2.onnx"
    export_model(path, None, "onnx", out)
    x = _float(cv2.resize(_noisy_dark(200, 300), (333, 250)))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(session.run(None, {"image": x.numpy()})[0])
    with torch.no_grad():
        expected = load_generator(path).enhance(x).clamp(0, 1)
    assert psnr01(got, expected) >= 40.0

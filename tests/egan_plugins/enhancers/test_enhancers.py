"""The built-in enhancers: registration, CLAHE, denoising, the gan factory."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from egan_core.enhance.generator_runner import GeneratorRunner
from egan_core.errors import EganError, UsageError
from egan_plugins.enhancers import gan as gan_module
from egan_plugins.enhancers.classic import Clahe, Denoise


def _dark(seed: int = 0, noise: float = 6.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:64].astype(np.float32)
    base = np.stack([xx, yy, xx + yy], axis=2) * 0.6
    return np.clip(base + rng.normal(0, noise, base.shape), 0, 255).astype(np.uint8)


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array).permute(2, 0, 1)[None].float() / 255


def test_builtins_are_registered(registries) -> None:
    assert {"gan", "clahe", "denoise"} <= set(registries.enhancers.names())


def test_clahe_matches_opencv_on_the_lab_lightness() -> None:
    array = _dark()
    lab = cv2.cvtColor(array, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(2, 2)).apply(lab[..., 0].copy())
    expected = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    out = Clahe()(_tensor(array))
    assert out.shape == (1, 3, 48, 64)
    got = (out[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    assert np.array_equal(got, expected)
    assert got.mean() > array.mean()  # brighter


def test_clahe_options_and_batches() -> None:
    batch = torch.cat([_tensor(_dark(s)) for s in range(3)])
    strong = Clahe(clip_limit=4.0, tiles=4)(batch)
    assert strong.shape == batch.shape and not torch.equal(strong, Clahe()(batch))
    with pytest.raises(UsageError):
        Clahe(clip_limit=0)


def test_denoise_removes_noise() -> None:
    clean = _dark(noise=0.0)
    noisy = _dark(noise=12.0)
    out = Denoise(h=10.0)(_tensor(noisy))[0].permute(1, 2, 0).numpy() * 255
    assert np.abs(out - clean).mean() < np.abs(noisy.astype(float) - clean).mean()
    assert torch.equal(Denoise(h=0.0)(_tensor(clean)), _tensor(clean))  # h=0: untouched
    with pytest.raises(UsageError):
        Denoise(h=-1)


def test_gan_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from egan_plugins.networks.unet import AttentionUNet

    path = tmp_path / "x_net_G_A.pth"
    torch.save(AttentionUNet(base_channels=8).state_dict(), path)
    stage = gan_module.gan_enhancer(checkpoint=str(path), precision="fp32", tile=64,
                                    device=torch.device("cpu"))
    assert isinstance(stage, GeneratorRunner) and stage.tile == 64
    assert stage(torch.rand(1, 3, 20, 30)).shape == (1, 3, 20, 30)
    monkeypatch.setattr(gan_module, "DEFAULT_WEIGHTS", tmp_path / "missing.safetensors")
    with pytest.raises(EganError, match="no default model is shipped yet"):
        gan_module.gan_enhancer()


def _photo(seed: int = 5, size: int = 192) -> np.ndarray:
    """A dim, real-looking photo: a procedural scene (gradients, textured shapes, shading)."""
    from egan_plugins.data.scenes import render_scene

    return np.round(render_scene(np.random.default_rng(seed), size) * 0.35 * 255).astype(np.uint8)


def _high_freq_noise(image: np.ndarray, clean: np.ndarray) -> float:
    """Std of the high-frequency part of ``image - clean`` (what the eye sees as grain)."""
    residual = image.astype(np.float32) - clean.astype(np.float32)
    return float((residual - cv2.GaussianBlur(residual, (0, 0), 2.0)).std())


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse)


def test_noise_estimate_recovers_sigma() -> None:
    from egan_plugins.enhancers.classic import estimate_noise

    clean = _photo()
    for sigma in (5.0, 12.0, 20.0):
        noise = np.random.default_rng(1).normal(0, sigma, clean.shape)
        noisy = np.clip(clean + noise, 0, 255).round().astype(np.uint8)
        assert abs(estimate_noise(noisy) - sigma) < 0.15 * sigma
    assert estimate_noise(clean) < 1.5


def test_denoise_at_its_defaults_removes_the_noise_clahe_amplified() -> None:
    """clahe then denoise on a noisy dim photo (sigma 12): the denoiser measures the noise
    CLAHE amplified and removes most of it; a fixed strength of 5 left it all."""
    import egan_core

    clean = _photo()
    noise = np.random.default_rng(1).normal(0, 12.0, clean.shape)
    noisy = np.clip(clean + noise, 0, 255).round().astype(np.uint8)
    clahe = egan_core.load_enhancer("clahe", device="cpu")
    target = clahe(clean)  # the clean photo, enhanced
    alone = clahe(noisy)
    chained = egan_core.load_enhancer(["clahe", "denoise"], device="cpu")(noisy)
    assert _high_freq_noise(chained, target) <= 0.7 * _high_freq_noise(alone, target)
    assert _psnr(chained, target) > _psnr(alone, target) + 1.0
    # a strength set by hand is still used as given
    assert Denoise(h=3.0, h_color=2.0).strengths(alone) == (3.0, 2.0)


def test_the_gan_enhancer_offers_every_backend() -> None:
    """``--enhancer gan:backend=NAME`` is checked against the factory's signature, so its
    choices must be the runner's (a new backend once went missing here)."""
    import typing

    from egan_core.enhance.forward_paths import BACKENDS
    from egan_plugins.enhancers.gan import gan_enhancer

    choices = typing.get_args(typing.get_type_hints(gan_enhancer)["backend"])
    assert set(choices) == set(BACKENDS)


def _gains(image: np.ndarray, gains: tuple[float, float]) -> np.ndarray:
    """``image`` (uint8) with its left half multiplied by one gain and its right by another."""
    gain = np.ones(image.shape)
    gain[:, : image.shape[1] // 2], gain[:, image.shape[1] // 2:] = gains
    return np.clip(image * gain, 0, 255).round().astype(np.uint8)


@pytest.mark.parametrize("sigma", [2.0, 4.0])
def test_chained_denoise_cleans_the_input_before_the_gain_multiplies_it(sigma: float) -> None:
    """After a brightening that multiplies one half by 2 and the other by 6, ``denoise``
    removes most of the noise in both halves: it cleans the dark input at a strength set
    by the input's own noise, so what each region loses is multiplied by its gain."""
    from egan_core.enhance.pipeline import Enhancer

    clean = np.round(_photo(2, 192) * 0.3).astype(np.uint8)
    noise = np.random.default_rng(2).normal(0, sigma, clean.shape)
    dark = np.clip(clean + noise, 0, 255).round().astype(np.uint8)
    gains = (2.0, 6.0)

    def brighten(x: torch.Tensor) -> torch.Tensor:
        return _tensor(_gains((x[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8), gains))

    target, bright = _gains(clean, gains), _gains(dark, gains)
    denoise = Denoise()
    chained = Enhancer([brighten, denoise])(dark)
    for half in (slice(8, 88), slice(104, 184)):
        before = _high_freq_noise(bright[:, half], target[:, half])
        assert _high_freq_noise(chained[:, half], target[:, half]) <= 0.6 * before
    assert _psnr(chained, target) > _psnr(bright, target) + 2.0
    # the pipeline ran it on the input, first
    first = (denoise.clean_input(_tensor(dark))[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(chained, Enhancer([brighten])(first))


def test_a_strength_set_by_hand_works_in_the_stages_own_place() -> None:
    """``h`` is in the enhanced image's levels: chained, such a ``denoise`` runs after the
    brightening, as it is written; alone it behaves as it always did."""
    from egan_core.enhance.pipeline import Enhancer

    dark = _dark(3, 4.0)
    triple = lambda x: (x * 3).clamp(0, 1)  # noqa: E731
    fixed = Denoise(h=6.0)
    assert fixed.clean_input(_tensor(dark)) is None
    assert np.array_equal(Enhancer([triple, fixed])(dark), Enhancer([fixed])(Enhancer([triple])(dark)))
    alone = (Denoise()(_tensor(dark))[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(Enhancer([Denoise()])(dark), alone)

"""PairLIE: size, the generator contract, and the released weights' format (official key
names and shapes) rendering as the official evaluation does, through ``--checkpoint`` too.

The official state dicts here are built from the official layout (``{N,L,R}_net.{N,L,R}_net
.{1,4,7,10,13}.{weight,bias}``) with seeded random values; the oracle is the official
``eval.py`` formula written with ``torch.nn.functional`` alone."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from egan_core.checkpoint import save_checkpoint
from egan_core.errors import CheckpointError
from egan_core.generator_io import check_image, enhance_with, needs_attention, value_range
from egan_core.model_loading import load_generator
from egan_plugins.networks import PairLIE, ZeroDCE

#: (official sub-network, output channels); each: 3 -> 64 -> 64 -> 64 -> 64 -> out.
SUBNETS = (("N_net", 3), ("L_net", 1), ("R_net", 3))
CONV_INDICES = (1, 4, 7, 10, 13)  # after each ReflectionPad2d in the official nn.Sequential
WIDTH = 64


def _widths(c_out: int, width: int = WIDTH) -> list[int]:
    return [3, width, width, width, width, c_out]


def _official_state_dict(seed: int = 0, width: int = WIDTH) -> dict[str, torch.Tensor]:
    """Random weights in the official layout, scaled so that activations stay O(1)."""
    gen = torch.Generator().manual_seed(seed)
    sd = {}
    for name, c_out in SUBNETS:
        widths = _widths(c_out, width)
        for index, a, b in zip(CONV_INDICES, widths[:-1], widths[1:], strict=True):
            scale = 1.4 / math.sqrt(9 * a)
            sd[f"{name}.{name}.{index}.weight"] = torch.randn(b, a, 3, 3, generator=gen) * scale
            sd[f"{name}.{name}.{index}.bias"] = torch.randn(b, generator=gen) * 0.1
    return sd


def _oracle(sd: dict[str, torch.Tensor], x: torch.Tensor, gamma: float = 0.2) -> torch.Tensor:
    """The official eval: ``L, R, X = net(input)``; ``I = L ** 0.2 * R``."""
    def subnet(name: str, t: torch.Tensor) -> torch.Tensor:
        for i, index in enumerate(CONV_INDICES):
            w, b = sd[f"{name}.{name}.{index}.weight"], sd[f"{name}.{name}.{index}.bias"]
            t = F.conv2d(F.pad(t, (1, 1, 1, 1), mode="reflect"), w, b)
            if i < len(CONV_INDICES) - 1:
                t = F.relu(t)
        return torch.sigmoid(t)

    x_denoised = subnet("N_net", x)
    light, reflectance = subnet("L_net", x_denoised), subnet("R_net", x_denoised)
    return torch.pow(light, gamma) * reflectance


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.double() - b.double()) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def test_parameter_count_is_the_papers() -> None:
    expected = sum(a * b * 9 + b for _, c_out in SUBNETS
                   for a, b in zip(_widths(c_out)[:-1], _widths(c_out)[1:], strict=True))
    assert expected == 341_767  # the paper's "0.34 M"
    assert sum(p.numel() for p in PairLIE().parameters()) == expected
    assert sum(v.numel() for v in _official_state_dict().values()) == expected


def test_declarations_and_checked_kwargs() -> None:
    model = PairLIE()
    assert value_range(model) == "unit" and not needs_attention(model)
    assert model.gamma == 0.2
    with pytest.raises(ValueError, match=r"^gamma must be > 0, got -1"):
        PairLIE(gamma=-1)
    with pytest.raises(ValueError, match=r"^gamma"):
        PairLIE(gamma=0)
    with pytest.raises(ValueError, match=r"^channels must be >= 1, got 0"):
        PairLIE(channels=0)


def test_same_seed_same_weights() -> None:
    a, b, c = PairLIE(channels=8, seed=3), PairLIE(channels=8, seed=3), PairLIE(channels=8, seed=4)
    for (_, p), (_, q), (_, r) in zip(a.state_dict().items(), b.state_dict().items(), c.state_dict().items(),
                                      strict=True):
        assert torch.equal(p, q) and not torch.equal(p, r)


def test_forward_is_the_retinex_product_at_odd_sizes() -> None:
    model = PairLIE.from_foreign_state_dict(_official_state_dict()).eval()
    x = check_image(37, 53, batch=2)
    with torch.no_grad():
        out, aux = model(x)
        light, reflectance, denoised = model.decompose(x)
    assert set(aux) == {"illumination", "reflectance", "denoised"}
    assert out.shape == aux["reflectance"].shape == aux["denoised"].shape == (2, 3, 37, 53)
    assert aux["illumination"].shape == (2, 1, 37, 53)
    assert torch.equal(out, aux["illumination"].pow(0.2) * aux["reflectance"])
    for got, want in ((light, "illumination"), (reflectance, "reflectance"), (denoised, "denoised")):
        assert torch.equal(got, aux[want])
    for t in (out, *aux.values()):
        assert 0 <= t.min() and t.max() <= 1
    # gamma is the exponent of the illumination only
    model.gamma = 0.14
    with torch.no_grad():
        brighter, _ = model(x)
    assert torch.equal(brighter, aux["illumination"].pow(0.14) * aux["reflectance"])
    assert brighter.mean() > out.mean()


def test_tiny_and_signed_inputs_and_gradients() -> None:
    model = PairLIE(channels=8)
    with torch.no_grad():
        out, _ = model(check_image(1, 7))  # a side too short to reflect: replicated
    assert out.shape == (1, 3, 1, 7) and torch.isfinite(out).all()
    x = check_image(16, 20) * 2 - 1
    out, aux = enhance_with(model, x, signed=True)  # the training step's call
    assert out.shape == x.shape and set(aux) == {"illumination", "reflectance", "denoised"}
    (out.mean() + aux["denoised"].mean()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_official_weights_render_as_the_official_eval() -> None:
    sd = _official_state_dict(seed=1)
    model = PairLIE.from_foreign_state_dict(sd).eval()
    assert model.gamma == 0.2
    x = check_image(64, 80)
    with torch.no_grad():
        want = _oracle(sd, x)
        got, _ = model(x)
    assert _psnr(x, want) < 30  # the weights really change the image
    assert _psnr(got, want) >= 45


def test_prefix_and_width_are_read_from_the_weights() -> None:
    sd = _official_state_dict(seed=2, width=16)
    model = PairLIE.from_foreign_state_dict({f"module.{k}": v for k, v in sd.items()}).eval()
    assert model.denoise.convs[0].out_channels == 16
    x = check_image(24, 30)
    with torch.no_grad():
        assert _psnr(model(x)[0], _oracle(sd, x)) >= 45


def test_other_weights_are_refused_in_one_line() -> None:
    sd = _official_state_dict()
    cases = {
        "another network": ZeroDCE().state_dict(),
        "wrong shape": {**sd, "L_net.L_net.13.weight": torch.zeros(3, WIDTH, 3, 3)},
        "missing key": {k: v for k, v in sd.items() if k != "R_net.R_net.7.bias"},
        "extra key": {**sd, "head.weight": torch.zeros(1)},
        "not tensors": {k: 1.0 for k in sd},
    }
    for why, bad in cases.items():
        with pytest.raises(CheckpointError) as info:
            PairLIE.from_foreign_state_dict(bad)
        assert "\n" not in str(info.value), why
    with pytest.raises(CheckpointError, match=r"L_net\.L_net\.13\.weight \[3, 64, 3, 3\]"):
        PairLIE.from_foreign_state_dict(cases["wrong shape"])


def test_checkpoint_file_loads_with_no_flag(tmp_path: Path) -> None:
    sd = _official_state_dict(seed=3)
    path = tmp_path / "PairLIE.pth"
    torch.save(sd, path)
    model = load_generator(path)  # recognised from the keys and shapes, as --checkpoint does
    assert type(model) is PairLIE and not model.training and model.gamma == 0.2
    x = check_image(64, 80)
    with torch.no_grad():
        want = _oracle(sd, x)
        got, _ = enhance_with(model, x)
    assert _psnr(got, want) >= 45
    # egan's own format keeps gamma and the width
    egan_path = save_checkpoint(tmp_path / "egan.pt", {"generator": {
        "name": "pairlie", "kwargs": {"gamma": 0.14}, "state_dict": model.state_dict()}})
    again = load_generator(egan_path)
    assert again.gamma == 0.14
    with torch.no_grad():
        assert _psnr(enhance_with(again, x)[0], _oracle(sd, x, gamma=0.14)) >= 45


def test_cli_enhances_with_the_official_file(tmp_path: Path) -> None:
    sd = _official_state_dict(seed=4)
    weights = tmp_path / "PairLIE.pth"
    torch.save(sd, weights)
    image = (check_image(40, 56)[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    source = tmp_path / "dark.png"
    Image.fromarray(image).save(source)
    out_dir = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "egan_core", "enhance", str(source), "--checkpoint",
                           str(weights), "--out", str(out_dir), "--device", "cpu", "--backend", "eager",
                           "--precision", "fp32"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    written = np.asarray(Image.open(out_dir / "dark.png").convert("RGB"))
    assert written.shape == image.shape and not np.array_equal(written, image)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        want = (_oracle(sd, x)[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    assert np.abs(written.astype(int) - want.astype(int)).max() <= 1


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_any_size(fmt: str, tmp_path: Path) -> None:
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    from egan_core.export import export_model

    sd = _official_state_dict(seed=5, width=8)
    weights = tmp_path / "PairLIE.pth"
    torch.save(sd, weights)
    report = export_model(weights, None, fmt, tmp_path / f"pairlie.{fmt}")
    assert report.psnr >= 45

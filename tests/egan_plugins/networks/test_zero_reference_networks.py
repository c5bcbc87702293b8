"""Zero-DCE, Zero-DCE++ and SCI: sizes, the generator contract, and the released weights'
format (official key names and shapes) loading with no flag."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from egan_core.checkpoint import save_checkpoint
from egan_core.errors import CheckpointError
from egan_core.generator_io import enhance_with, needs_attention, value_range
from egan_core.model_loading import load_generator
from egan_plugins.networks import SCI, AttentionUNet, ZeroDCE, ZeroDCEPlusPlus
from egan_plugins.networks.zero_dce import apply_curves


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_counts_match_the_papers() -> None:
    assert _count(ZeroDCE()) == 79_416
    assert _count(ZeroDCEPlusPlus()) == 10_561
    assert _count(SCI()) == 258  # inference: the illumination network alone
    assert _count(SCI(calibrate=True)) == 258 + 5_619  # plus the training-only calibration


def test_declarations() -> None:
    for model in (ZeroDCE(), ZeroDCEPlusPlus(), SCI()):
        assert value_range(model) == "unit" and not needs_attention(model)
    unet = AttentionUNet(base_channels=4)
    assert value_range(unet) == "signed" and needs_attention(unet)


def test_curve_iteration_by_hand() -> None:
    x = torch.full((1, 3, 1, 1), 0.5)
    a = torch.full((1, 3, 1, 1), -1.0)
    # x + a (x^2 - x) with a = -1: 0.5 -> 0.75 -> 0.9375 ... eight times
    expected = 0.5
    for _ in range(8):
        expected = expected - (expected**2 - expected)
    assert apply_curves(x, a)[0, 0, 0, 0].item() == pytest.approx(expected)
    per_step = torch.cat([a] * 8, dim=1)
    assert torch.allclose(apply_curves(x, per_step), apply_curves(x, a))


# -- official-format state dicts, from the official key names and shapes -------------------

def _official_zero_dce(gen: torch.Generator) -> dict[str, torch.Tensor]:
    shapes = {1: (32, 3), 2: (32, 32), 3: (32, 32), 4: (32, 32), 5: (32, 64), 6: (32, 64), 7: (24, 64)}
    sd = {}
    for i, (c_out, c_in) in shapes.items():
        sd[f"e_conv{i}.weight"] = torch.randn(c_out, c_in, 3, 3, generator=gen) * 0.05
        sd[f"e_conv{i}.bias"] = torch.randn(c_out, generator=gen) * 0.05
    return sd


def _official_zero_dce_pp(gen: torch.Generator) -> dict[str, torch.Tensor]:
    shapes = {1: (3, 32), 2: (32, 32), 3: (32, 32), 4: (32, 32), 5: (64, 32), 6: (64, 32), 7: (64, 3)}
    sd = {}
    for i, (c_in, c_out) in shapes.items():
        sd[f"e_conv{i}.depth_conv.weight"] = torch.randn(c_in, 1, 3, 3, generator=gen) * 0.2
        sd[f"e_conv{i}.depth_conv.bias"] = torch.randn(c_in, generator=gen) * 0.05
        sd[f"e_conv{i}.point_conv.weight"] = torch.randn(c_out, c_in, 1, 1, generator=gen) * 0.2
        sd[f"e_conv{i}.point_conv.bias"] = torch.randn(c_out, generator=gen) * 0.05
    return sd


def _bn(prefix: str, c: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    return {f"{prefix}.weight": 1 + 0.1 * torch.randn(c, generator=gen),
            f"{prefix}.bias": 0.1 * torch.randn(c, generator=gen),
            f"{prefix}.running_mean": 0.1 * torch.randn(c, generator=gen),
            f"{prefix}.running_var": 1 + 0.1 * torch.rand(c, generator=gen),
            f"{prefix}.num_batches_tracked": torch.tensor(7)}


def _conv(prefix: str, c_out: int, c_in: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    return {f"{prefix}.weight": 0.3 * torch.randn(c_out, c_in, 3, 3, generator=gen),
            f"{prefix}.bias": 0.1 * torch.randn(c_out, generator=gen)}


def _official_sci(gen: torch.Generator, calibrate: bool = True) -> dict[str, torch.Tensor]:
    """SCI's ``Network`` state dict: ``blocks.k`` repeats ``conv`` / ``convs`` (shared modules)."""
    sd = {**_conv("enhance.in_conv.0", 3, 3, gen), **_conv("enhance.conv.0", 3, 3, gen),
          **_bn("enhance.conv.1", 3, gen)}
    sd.update({k.replace("enhance.conv.", "enhance.blocks.0."): v for k, v in list(sd.items())
               if k.startswith("enhance.conv.")})
    sd.update(_conv("enhance.out_conv.0", 3, 3, gen))
    if calibrate:
        cal = {**_conv("calibrate.in_conv.0", 16, 3, gen), **_bn("calibrate.in_conv.1", 16, gen),
               **_conv("calibrate.convs.0", 16, 16, gen), **_bn("calibrate.convs.1", 16, gen),
               **_conv("calibrate.convs.3", 16, 16, gen), **_bn("calibrate.convs.4", 16, gen)}
        for k in range(3):
            cal.update({key.replace("calibrate.convs.", f"calibrate.blocks.{k}."): v
                        for key, v in list(cal.items()) if key.startswith("calibrate.convs.")})
        cal.update(_conv("calibrate.out_conv.0", 3, 16, gen))
        sd.update(cal)
    return sd


def _curve_maps(conv: Callable[[int, torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The seven-layer curve estimator both official networks share (skips 3-4, 2-5, 1-6),
    ``conv(i, t)`` being layer ``i``: tanh of the last layer, the curve maps."""
    x1 = conv(1, x).relu()
    x2 = conv(2, x1).relu()
    x3 = conv(3, x2).relu()
    x4 = conv(4, x3).relu()
    x5 = conv(5, torch.cat([x3, x4], 1)).relu()
    x6 = conv(6, torch.cat([x2, x5], 1)).relu()
    return torch.tanh(conv(7, torch.cat([x1, x6], 1)))


def _reference_zero_dce(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The official forward written out from the state dict (plain functional ops)."""
    def conv(i: int, t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, sd[f"e_conv{i}.weight"], sd[f"e_conv{i}.bias"], padding=1)

    r = _curve_maps(conv, x)
    for a in torch.split(r, 3, dim=1):
        x = x + a * (x**2 - x)
    return x


def _reference_zero_dce_pp(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The official Zero-DCE++ test forward (``scale_factor`` 12) written out from the state
    dict, with the resampling spelled out instead of taken from the model.

    The curve map is estimated on the image shrunk 12 times (bilinear, half-pixel centres:
    at exactly 1/12 each small pixel is the mean of the 2 x 2 pixels at its block's centre),
    brought back with ``align_corners=True`` bilinear upsampling, and the one map is applied
    at all 8 iterations. The curve is the official code's ``x + a (x^2 - x)`` (the paper's
    ``LE(x) = x + alpha x (1 - x)`` with ``alpha = -a``).
    """
    scale = 12

    def conv(i: int, t: torch.Tensor) -> torch.Tensor:
        p = f"e_conv{i}"
        t = F.conv2d(t, sd[f"{p}.depth_conv.weight"], sd[f"{p}.depth_conv.bias"], padding=1,
                     groups=t.shape[1])
        return F.conv2d(t, sd[f"{p}.point_conv.weight"], sd[f"{p}.point_conv.bias"])

    def upsample(n_in: int, n_out: int) -> torch.Tensor:
        """Linear interpolation weights, output ``o`` at input position ``o (n_in-1)/(n_out-1)``."""
        m = torch.zeros(n_out, n_in)
        for o in range(n_out):
            pos = o * (n_in - 1) / (n_out - 1)
            i = min(int(pos), n_in - 2)
            m[o, i], m[o, i + 1] = 1 - (pos - i), pos - i
        return m

    h, w = x.shape[-2:]
    assert h % scale == 0 and w % scale == 0  # the official test crops to multiples
    lo, hi = scale // 2 - 1, scale // 2
    small = (x[..., lo::scale, lo::scale] + x[..., lo::scale, hi::scale]
             + x[..., hi::scale, lo::scale] + x[..., hi::scale, hi::scale]) / 4
    a = _curve_maps(conv, small)
    a = upsample(h // scale, h) @ a @ upsample(w // scale, w).T
    for _ in range(8):
        x = x + a * (x * x - x)
    return x


def _reference_sci(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    def conv(prefix: str, t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, sd[f"{prefix}.weight"], sd[f"{prefix}.bias"], padding=1)

    def bn(prefix: str, t: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(t, sd[f"{prefix}.running_mean"], sd[f"{prefix}.running_var"],
                            sd[f"{prefix}.weight"], sd[f"{prefix}.bias"], training=False)

    fea = conv("enhance.in_conv.0", x).relu()
    fea = fea + bn("enhance.conv.1", conv("enhance.conv.0", fea)).relu()
    illu = (torch.sigmoid(conv("enhance.out_conv.0", fea)) + x).clamp(0.0001, 1)
    return (x / illu).clamp(0, 1)


def _image(h: int = 36, w: int = 48, seed: int = 1) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed)) * 0.4


@pytest.mark.parametrize("kind", ["zero_dce", "zero_dce_pp", "sci", "sci_finetune"])
def test_official_format_loads_from_keys_and_shapes(tmp_path: Path, kind: str) -> None:
    gen = torch.Generator().manual_seed(0)
    sd, cls = {
        "zero_dce": (_official_zero_dce(gen), ZeroDCE),
        "zero_dce_pp": (_official_zero_dce_pp(gen), ZeroDCEPlusPlus),
        "sci": (_official_sci(gen), SCI),
        "sci_finetune": (_official_sci(gen, calibrate=False), SCI),
    }[kind]
    path = tmp_path / ("Epoch99.pth" if kind.startswith("zero") else "medium.pt")
    torch.save(sd, path)
    model = load_generator(path)  # no flag: recognised from the keys and shapes
    assert type(model) is cls and not model.training
    # the same weights in egan's own format give the same output
    kwargs = {"calibrate": True} if kind == "sci" else {}
    egan_path = save_checkpoint(tmp_path / "egan.pt", {"generator": {
        "name": kind.removesuffix("_finetune"), "kwargs": kwargs, "state_dict": model.state_dict()}})
    again = load_generator(egan_path)
    x = _image()
    with torch.no_grad():
        out = enhance_with(model, x)[0]
        assert torch.equal(out, enhance_with(again, x)[0])
        if kind == "zero_dce":
            assert torch.allclose(out, _reference_zero_dce(sd, x), atol=1e-6)
        if kind == "zero_dce_pp":
            assert torch.allclose(out, _reference_zero_dce_pp(sd, x), atol=1e-6)
        if kind.startswith("sci"):
            assert torch.allclose(out, _reference_sci(sd, x), atol=1e-6)


def test_zero_dce_pp_matches_official_test_on_multiples_and_pads_otherwise() -> None:
    gen = torch.Generator().manual_seed(0)
    sd = _official_zero_dce_pp(gen)
    model = ZeroDCEPlusPlus.from_foreign_state_dict(sd).eval()
    assert model.scale_factor == 12
    x = _image(36, 48)
    with torch.no_grad():
        out, aux = model(x)
        assert torch.allclose(out, _reference_zero_dce_pp(sd, x), atol=1e-6)
        odd = _image(37, 50)
        got, aux = model(odd)
    assert got.shape == odd.shape and aux["curves"].shape == odd.shape


def test_file_of_no_known_architecture_lists_what_was_tried(tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    torch.save({"foo.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(CheckpointError) as info:
        load_generator(path)
    message = str(info.value)
    assert "\n" not in message
    for name in ("attention_unet", "zero_dce", "zero_dce_pp", "sci"):
        assert f"{name}:" in message


def test_sci_training_stages_feed_the_losses() -> None:
    model = SCI(stages=3, calibrate=True).train()
    x = _image(16, 20)
    out, aux = model(x)
    assert aux["stage_inputs"].shape == aux["stage_illuminations"].shape == (3, 3, 16, 20)
    assert torch.equal(aux["stage_inputs"][:1], x)
    model.eval()
    _, aux = model(x)
    assert set(aux) == {"illumination"}  # the calibration never runs at inference

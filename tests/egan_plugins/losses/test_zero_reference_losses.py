"""Zero-DCE's and SCI's losses pinned to values worked out by hand on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch

from egan_core import get_registries
from egan_core.errors import TrainingError
from egan_core.generator_io import to_model_range
from egan_core.losses import LossContext


def _ctx(input01: torch.Tensor, enhanced01: torch.Tensor | None = None,
         aux: dict[str, torch.Tensor] | None = None) -> LossContext:
    """A context from [0, 1] images (losses see them in [-1, 1], as in training)."""
    inp = to_model_range(input01)
    out = to_model_range(input01 if enhanced01 is None else enhanced01)
    return LossContext(low=inp, input=inp, enhanced=out, normal=inp, attention=inp[:, :1],
                       latent=out - inp, aux=aux or {})


def _loss(name: str, **kwargs: object) -> torch.nn.Module:
    return get_registries().losses.get(name)(**kwargs)


def test_color_constancy_by_hand() -> None:
    # channel means r=0.5, g=0.3, b=0.1: Drg=0.04, Drb=0.16, Dgb=0.04 -> sqrt(0.0016+0.0256+0.0016)
    img = torch.tensor([0.5, 0.3, 0.1]).view(1, 3, 1, 1).expand(1, 3, 2, 2).clone()
    value = _loss("color_constancy")(_ctx(img, img))
    assert value.item() == pytest.approx(math.sqrt(0.0288), rel=1e-5)


def test_spatial_consistency_by_hand() -> None:
    # input black; output 4x8 pooled by 4 to two regions a=0.5 | b=0.25 (zero beyond the border):
    # region a: (a-0)^2 + (a-b)^2 + (a-0)^2 + (a-0)^2; region b: (b-a)^2 + 3 b^2 -> mean 0.53125
    low = torch.zeros(1, 3, 4, 8)
    out = torch.cat([torch.full((1, 3, 4, 4), 0.5), torch.full((1, 3, 4, 4), 0.25)], dim=3)
    assert _loss("spatial_consistency")(_ctx(low, out)).item() == pytest.approx(0.53125, rel=1e-5)
    assert _loss("spatial_consistency")(_ctx(out, out)).item() == pytest.approx(0.0, abs=1e-7)


def test_exposure_squared_by_hand() -> None:
    # one 16x16 region of mean 0.2: |0.2 - 0.6| = 0.4 (paper), 0.16 squared (official code)
    img = torch.full((1, 3, 16, 16), 0.2)
    assert _loss("exposure")(_ctx(img, img)).item() == pytest.approx(0.4, rel=1e-5)
    assert _loss("exposure", squared=True)(_ctx(img, img)).item() == pytest.approx(0.16, rel=1e-5)


def test_illumination_smoothness_by_hand() -> None:
    # curves [[0, 1], [2, 4]]: sum dy^2 = 4 + 9 over (H-1) W = 2, sum dx^2 = 1 + 4 over H (W-1) = 2
    # -> 2 * (6.5 + 2.5) / N=1 = 18
    curves = torch.tensor([[0.0, 1.0], [2.0, 4.0]]).view(1, 1, 2, 2)
    img = torch.zeros(1, 3, 2, 2)
    assert _loss("illumination_smoothness")(_ctx(img, aux={"curves": curves})).item() == pytest.approx(18.0)


def test_illumination_smoothness_needs_curves() -> None:
    img = torch.zeros(1, 3, 2, 2)
    with pytest.raises(TrainingError, match="needs the generator's 'curves'"):
        _loss("illumination_smoothness")(_ctx(img))


def test_sci_fidelity_by_hand() -> None:
    # one stage: illumination 0.5 everywhere, input 0.25 -> mean (0.25)^2 = 0.0625;
    # three stacked stages sum three such means
    img = torch.full((1, 3, 2, 2), 0.25)
    illumination = torch.full((1, 3, 2, 2), 0.5)
    assert _loss("sci_fidelity")(_ctx(img, aux={"illumination": illumination})).item() == \
        pytest.approx(0.0625)
    staged = {"stage_inputs": img.repeat(3, 1, 1, 1), "stage_illuminations": illumination.repeat(3, 1, 1, 1),
              "illumination": illumination}
    assert _loss("sci_fidelity")(_ctx(img, aux=staged)).item() == pytest.approx(3 * 0.0625)


def test_sci_smoothness_by_hand() -> None:
    # a flat input gives every weight exp(0) = 1; illumination = column index in all 3 channels,
    # so each L1 difference is 3 |dx|; the 12 offsets' |dx| sum to 15, each counted twice: 90
    img = torch.full((1, 3, 3, 3), 0.3)
    illumination = torch.arange(3.0).view(1, 1, 1, 3).expand(1, 3, 3, 3).clone()
    loss = _loss("sci_smoothness", per_pixel=True)
    assert loss(_ctx(img, aux={"illumination": illumination})).item() == pytest.approx(90.0)


def test_sci_smoothness_official_layout_by_hand() -> None:
    # the official view(-1, 3) takes each row of 3 values of one channel as a "pixel": a flat
    # 0.3 becomes, along every row, (0.3 * 0.919 + 16/255, 128/255, 128/255) (the matrix's
    # column sums are 0.919, 0, 0). Only pairs touching column 0 differ, by D in 3 channels:
    # w = exp(-3 D^2 / 200). |dx| = 1 offsets average 3 (w + 1) / 2, |dx| = 2 ones 6 w:
    # 2 * (5 * 3 (w + 1) / 2 + 5 * 6 w) = 15 + 75 w
    img = torch.full((1, 3, 3, 3), 0.3)
    illumination = torch.arange(3.0).view(1, 1, 1, 3).expand(1, 3, 3, 3).clone()
    d = 128 / 255 - (0.3 * 0.919 + 16 / 255)
    w = math.exp(-3 * d * d / 200)
    loss = _loss("sci_smoothness")
    assert loss(_ctx(img, aux={"illumination": illumination})).item() == pytest.approx(15 + 75 * w, rel=1e-6)


def test_sci_smoothness_weight_by_hand() -> None:
    # input red = column index, per pixel: an offset dx changes YCbCr by dx * (0.257, -0.148,
    # 0.439), weight exp(-dx^2 d2 / (2 sigma^2)); illumination = column index in every channel
    # (L1 3 |dx|). Offsets with |dx| = 1: 5, |dx| = 2: 5, each counted twice.
    img = torch.zeros(1, 3, 3, 3)
    img[:, 0] = torch.arange(3.0)
    illumination = torch.arange(3.0).view(1, 1, 1, 3).expand(1, 3, 3, 3).clone()
    d2, sigma = 0.257**2 + 0.148**2 + 0.439**2, 0.5
    expected = 2 * 3 * (5 * 1 * math.exp(-d2 / (2 * sigma**2)) + 5 * 2 * math.exp(-4 * d2 / (2 * sigma**2)))
    loss = _loss("sci_smoothness", sigma=sigma, per_pixel=True)
    assert loss(_ctx(img, aux={"illumination": illumination})).item() == pytest.approx(expected, rel=1e-5)

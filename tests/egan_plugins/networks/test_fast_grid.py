"""``fast_grid``: any size runs, the banded pass equals the whole-frame one, cost scaling."""

from __future__ import annotations

import pytest
import torch

from egan_core import get_registries
from egan_core.errors import RecipeError
from egan_core.generator_io import enhance_with
from egan_core.training.build import instantiate
from egan_plugins.networks.fast_grid import BAND_PIXELS, FastGridNet, interpolation_matrix
from egan_plugins.networks.fast_grid_flops import count_flops


def _model() -> FastGridNet:
    """A random model whose coefficients vary a lot over the image (not near the identity)."""
    model = FastGridNet(seed=1)
    with torch.no_grad():
        model.head.weight.normal_(0.0, 0.05, generator=torch.Generator().manual_seed(2))
    return model.eval()


def _image(h: int, w: int, n: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(h * w)) * 0.3


def test_registered_and_declares_its_contract() -> None:
    assert get_registries().generators.get("fast_grid") is FastGridNet
    assert FastGridNet.value_range == "unit" and not FastGridNet.needs_attention
    with pytest.raises(ValueError, match="^size must be a multiple of 64"):
        FastGridNet(size=100)  # a plain error; the engine names the recipe key (below)
    with pytest.raises(RecipeError, match=r"^model.generator.size must be a multiple of 64"):
        instantiate(get_registries().generators.entry("fast_grid"), {"size": 100}, "model.generator")


@pytest.mark.parametrize("shape", [(1, 5, 7), (2, 37, 53), (1, 129, 64), (1, 333, 251)])
def test_forward_any_size(shape: tuple[int, int, int]) -> None:
    n, h, w = shape
    x = _image(h, w, n)
    with torch.no_grad():
        out, aux = enhance_with(_model(), x)
    assert out.shape == x.shape and aux == {}
    assert torch.isfinite(out).all()


def test_new_model_is_near_the_identity() -> None:
    x = _image(40, 60)
    with torch.no_grad():
        out, _ = FastGridNet()(x)
    assert (out - x).abs().max() < 0.05


def test_backward_reaches_every_parameter() -> None:
    model = _model().train()
    out, _ = model(_image(48, 80, 2))
    out.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_training_and_inference_interpolation_agree() -> None:
    """The matrix-product upsampling used with gradients equals ``F.interpolate``."""
    model, x = _model(), _image(71, 103)
    with_grad = model.enhance(x)
    with torch.no_grad():
        without = model.enhance(x)
    torch.testing.assert_close(with_grad.detach(), without, atol=1e-5, rtol=0)
    weights = interpolation_matrix(7, 3)
    torch.testing.assert_close(weights.sum(1), torch.ones(7))


@pytest.mark.parametrize("shape", [(300, 301), (1000, 70), (257, 640)])
def test_banded_pass_equals_whole_frame(shape: tuple[int, int]) -> None:
    h, w = shape
    assert h * w > BAND_PIXELS  # otherwise the banded pass is the whole-frame one
    model, x = _model(), _image(h, w)
    with torch.no_grad():
        whole, banded = model.enhance(x), model.enhance_banded(x)
    torch.testing.assert_close(banded, whole, atol=1e-5, rtol=0)


def test_cost_low_res_part_is_constant_full_res_part_linear() -> None:
    model = _model()
    one = count_flops(model, 512, 512)
    two = count_flops(model, 1024, 512)
    four = count_flops(model, 1024, 1024)
    assert one["low_res"] == two["low_res"] == four["low_res"] > 0
    assert two["full_res"] == pytest.approx(2 * one["full_res"], rel=0.05)
    assert four["full_res"] == pytest.approx(4 * one["full_res"], rel=0.05)
    per_pixel = four["full_res"] / (1024 * 1024)
    assert 10 <= per_pixel <= 60  # "a few tens of operations" per full-resolution pixel


@pytest.mark.parametrize("matrix", ["itu709", "dense", "sparse"])
def test_ycc_planes_are_read_as_the_matrix_says(matrix: str) -> None:
    """``enhance_ycc`` converts each band of planes to RGB itself (OpenCV's weighted sums of
    the planes each channel depends on): the same as the matrix product, clipped, then the
    transform; also where every channel depends on every plane, or on one or none."""
    import numpy as np

    from egan_core.video.io import ycc_matrices

    to_rgb = ycc_matrices("itu709")[0]
    if matrix == "dense":  # no zero: every channel takes all three planes
        to_rgb = to_rgb + np.array([[0, 0.05, 0, 0], [0, 0, 0, 0], [0, 0, -0.04, 0]])
    if matrix == "sparse":  # red from the luma alone, blue a constant
        to_rgb = to_rgb.copy()
        to_rgb[0, 2] = 0.0
        to_rgb[2] = [0.0, 0.0, 0.0, 40.0]
    h, w = 300, BAND_PIXELS // 100  # several bands, rows not a multiple of a band
    rng = np.random.default_rng(5)
    planes = [rng.integers(0, 256, (h, w), dtype=np.uint8) for _ in range(3)]
    model = _model()
    rgb = np.einsum("cj,jhw->chw", to_rgb[:, :3], np.stack(planes).astype(np.float64)) + to_rgb[:, 3:, None]
    x = torch.from_numpy(np.clip(rgb / 255, 0.0, 1.0)).float()[None]
    grid = model.grid(x)
    got = torch.empty(3, h, w)

    def finish(n: int, start: int, stop: int, band: torch.Tensor) -> None:
        got[:, start:stop] = band

    model.enhance_ycc(planes, to_rgb, grid, finish)
    torch.testing.assert_close(got, model.enhance(x, grid)[0], atol=2e-5, rtol=0)

"""The Enhancer: input kinds, strength, chaining, clipping, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from egan_core.enhance.pipeline import Enhancer
from egan_core.errors import EganError, UsageError


def brighten(x: torch.Tensor) -> torch.Tensor:
    """A stand-in stage with an irregular output (not a multiple of the input)."""
    return torch.sqrt(x) * 0.9 + 0.013


def test_pil_numpy_and_tensor_come_back_as_given(dark) -> None:
    enhancer = Enhancer([brighten], names=["b"])
    array = dark(30, 41)
    pil = enhancer(Image.fromarray(array))
    assert isinstance(pil, Image.Image) and pil.size == (41, 30) and pil.mode == "RGB"
    out = enhancer(array)
    assert out.dtype == np.uint8 and out.shape == array.shape
    assert np.array_equal(np.asarray(pil), out)
    expected = brighten(torch.from_numpy(array).float() / 255).numpy()
    assert np.abs(out.astype(float) - expected * 255).max() <= 0.5 + 1e-3  # rounded
    x = torch.rand(2, 3, 12, 17, dtype=torch.float64)
    y = enhancer(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.allclose(y, brighten(x.float()).double().clamp(0, 1), atol=1e-6)
    assert enhancer(x[0]).shape == (3, 12, 17)
    grey = enhancer(Image.fromarray(array[..., 0]))
    assert grey.mode == "RGB" and grey.size == (41, 30)


def test_strength_zero_is_the_input_and_one_the_output() -> None:
    x = torch.rand(1, 3, 9, 11)
    assert torch.equal(Enhancer([brighten], strength=0.0)(x), x)
    assert torch.equal(Enhancer([brighten], strength=1.0)(x), brighten(x).clamp(0, 1))
    half = Enhancer([brighten], strength=0.5)(x)
    assert torch.allclose(half, (x + 0.5 * (brighten(x) - x)).clamp(0, 1), atol=1e-6)
    array = (np.random.default_rng(0).random((5, 6, 3)) * 255).astype(np.uint8)
    assert np.array_equal(Enhancer([brighten], strength=0.0)(array), array)


def test_stages_chain_in_order_with_strength_per_stage() -> None:
    x = torch.full((1, 3, 4, 4), 0.2)

    def add(t: torch.Tensor) -> torch.Tensor:
        return t + 0.1

    def double(t: torch.Tensor) -> torch.Tensor:
        return t * 2

    assert torch.allclose(Enhancer([add, double])(x), torch.full_like(x, 0.6))
    assert torch.allclose(Enhancer([double, add])(x), torch.full_like(x, 0.5))
    # strength 0.5 per stage: 0.2 -> 0.25 -> 0.375
    assert torch.allclose(Enhancer([add, double], strength=0.5)(x), torch.full_like(x, 0.375))
    assert Enhancer([double, double, double])(torch.full((1, 3, 2, 2), 0.4)).max() == 1.0  # clipped


def test_errors() -> None:
    with pytest.raises(UsageError, match="strength"):
        Enhancer([brighten], strength=3.0)
    with pytest.raises(UsageError):
        Enhancer([brighten])("not an image")
    with pytest.raises(UsageError, match=r"\(H, W, 3\)"):
        Enhancer([brighten])(np.zeros((4, 4), np.uint8))
    with pytest.raises(EganError, match="non-finite"):
        Enhancer([lambda t: t / 0 - t / 0], names=["nan"])(torch.rand(1, 3, 4, 4))
    with pytest.raises(EganError, match="returned shape"):
        Enhancer([lambda t: t[..., :2]], names=["crop"])(torch.rand(1, 3, 4, 4))


def test_stages_with_a_tile_attribute_are_tiled() -> None:
    class Tiled:
        tile = 32

        def __init__(self) -> None:
            self.shapes: list[tuple[int, ...]] = []

        def __call__(self, t: torch.Tensor) -> torch.Tensor:
            self.shapes.append(tuple(t.shape[-2:]))
            return t * 0.5

    stage = Tiled()
    out = Enhancer([stage])(torch.ones(1, 3, 50, 60))
    assert set(stage.shapes) == {(32, 32)}
    assert torch.allclose(out, torch.full_like(out, 0.5))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_any_non_finite_value_is_reported(bad: float) -> None:
    def poison(t: torch.Tensor) -> torch.Tensor:
        out = t.clone()
        out[0, 1, 2, 3] = bad
        return out

    with pytest.raises(EganError, match="non-finite"):
        Enhancer([poison], names=["poison"])(torch.rand(1, 3, 4, 5))


def test_full_strength_returns_the_clipped_stage_output() -> None:
    x = torch.rand(2, 3, 5, 6)
    y = x * 3 - 1
    torch.testing.assert_close(Enhancer([lambda t: t * 3 - 1])(x), y.clamp(0, 1), rtol=0, atol=0)
    torch.testing.assert_close(Enhancer([lambda t: t * 3 - 1], strength=0.5)(x),
                               torch.lerp(x, y, 0.5).clamp(0, 1), rtol=0, atol=0)


class _BandStage:
    """A stage with the uint8 fast path: ``sqrt`` as a float callable and band by band."""

    def __init__(self, rows: int = 7, poison: float | None = None) -> None:
        self.rows, self.poison, self.uint8_calls = rows, poison, 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return brighten(x)

    def enhance_uint8(self, image: np.ndarray, finish) -> None:  # type: ignore[no-untyped-def]
        self.uint8_calls += 1
        for n, frame in enumerate(image):
            for start in range(0, frame.shape[0], self.rows):
                stop = min(start + self.rows, frame.shape[0])
                band = torch.from_numpy(frame[start:stop]).permute(2, 0, 1).float() / 255
                band = brighten(band).contiguous()
                if self.poison is not None:
                    band[1, -1, -1] = self.poison
                finish(n, start, stop, band)


def test_the_uint8_band_path_gives_what_the_float_path_gives(dark) -> None:
    array = dark(45, 61)
    stage = _BandStage()
    via_bands = Enhancer([stage], names=["b"])(array)
    assert stage.uint8_calls == 1
    assert np.array_equal(via_bands, Enhancer([brighten], names=["b"])(array))
    # not for chains, other strengths or tensors: those take the float path
    Enhancer([stage, brighten])(array)
    Enhancer([stage], strength=0.5)(array)
    Enhancer([stage])(torch.rand(1, 3, 8, 8))
    assert stage.uint8_calls == 1


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_the_uint8_band_path_reports_non_finite_values(dark, bad: float) -> None:
    with pytest.raises(EganError, match="^enhancer 'b' produced non-finite values"):
        Enhancer([_BandStage(poison=bad)], names=["b"])(dark(20, 30))

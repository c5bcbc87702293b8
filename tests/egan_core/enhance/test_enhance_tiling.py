"""Overlapping tiles: coverage, exact blending of pointwise functions, seam-free networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from egan_core.enhance.generator_runner import GeneratorRunner
from egan_core.enhance.tiling import DEFAULT_TILE, resolve_tile, run_tiled, tile_starts
from egan_core.metrics.psnr import psnr01 as psnr
from egan_core.scenes import dark_scene


@pytest.mark.parametrize("size,tile,overlap", [(100, 32, 8), (64, 64, 8), (513, 512, 64), (47, 16, 4)])
def test_tiles_cover_the_axis_with_the_overlap(size: int, tile: int, overlap: int) -> None:
    starts = tile_starts(size, tile, overlap)
    assert starts[0] == 0 and starts[-1] + min(tile, size) == size
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:], strict=False))


def test_resolve_tile() -> None:
    assert resolve_tile(None, 480, 640) == 0  # small: whole frame
    assert resolve_tile(None, 4000, 6000) == DEFAULT_TILE
    assert resolve_tile(0, 4000, 6000) == 0
    assert resolve_tile(256, 100, 100) == 256


def test_pointwise_functions_blend_exactly() -> None:
    x = torch.rand(2, 3, 70, 90)
    out = run_tiled(lambda t: t * 2 + 1, x, tile=32)
    assert torch.allclose(out, x * 2 + 1, atol=1e-5)
    assert run_tiled(lambda t: t.sum(1, keepdim=True), x, 32).shape == (2, 1, 70, 90)


def test_whole_frame_when_tile_is_zero_or_large() -> None:
    calls: list[tuple[int, ...]] = []

    def fn(t: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(t.shape))
        return t

    x = torch.rand(1, 3, 40, 50)
    run_tiled(fn, x, 0)
    run_tiled(fn, x, 64)
    assert calls == [(1, 3, 40, 50)] * 2
    calls.clear()
    run_tiled(fn, x, 32)
    assert set(calls) == {(1, 3, 32, 32)} and len(calls) == 4  # every tile the same size


def test_tiled_network_within_40db_of_whole_frame(small_model, dark) -> None:
    torch.manual_seed(0)
    runner = GeneratorRunner(small_model(), precision="fp32")
    x = torch.from_numpy(dark(96, 160, seed=5)).permute(2, 0, 1)[None].float() / 255
    whole = runner(x).clamp(0, 1)
    tiled = run_tiled(runner, x, 64).clamp(0, 1)
    assert (whole - x).abs().mean() > 0.02  # the network does change the image
    assert psnr(whole, tiled) >= 40.0


def _flat_noisy_textured(height: int, width: int) -> np.ndarray:
    """Black flat area, a noisy dark patch and the textured night scene, side by side."""
    rng = np.random.default_rng(7)
    image = dark_scene(width, height, 4).astype(np.float64)
    image[:, : width // 3] = 2.0  # flat, nearly black
    third = width // 3
    image[: height // 2, third: 2 * third] = 12 + rng.normal(0, 6, (height // 2, third, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def test_context_tiles_equal_the_whole_frame_with_the_shipped_model() -> None:
    """The default model in tiles gives what it gives in one whole-frame pass, to the 8-bit
    level everywhere (flat, noisy and textured regions): no grid can show."""
    from egan_core import load_enhancer

    image = _flat_noisy_textured(420, 562)  # neither side a multiple of the padding grid
    whole = load_enhancer("gan", device="cpu", precision="fp32", tile=0)(image).astype(int)
    seen: list[tuple[int, int]] = []
    tiled = load_enhancer("gan", device="cpu", precision="fp32", tile=384)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    out = tiled.process(x, progress=lambda done, total: seen.append((done, total)))
    got = (out[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(int)
    assert seen == [(k, 6) for k in range(1, 7)]  # 2 rows x 3 columns of tiles
    assert np.abs(got - whole).max() <= 1 and (got != whole).mean() < 1e-4


def test_context_tile_cores_partition_the_image_and_keep_their_distance() -> None:
    """A function of each pixel's neighbourhood within ``context`` (a box sum) comes out
    the same in tiles; tiles start on the padding grid."""
    context, multiple = 16, 8
    box = torch.nn.Conv2d(1, 1, 2 * context + 1, padding=context, bias=False, padding_mode="zeros")
    torch.nn.init.constant_(box.weight, 1.0)
    starts: list[tuple[int, int]] = []

    def fn(t: torch.Tensor) -> torch.Tensor:
        starts.append(tuple(t.shape[-2:]))
        with torch.no_grad():
            return box(t)

    x = torch.rand(1, 1, 101, 157)
    whole = fn(torch.nn.functional.pad(x, (1, 2, 1, 2), mode="reflect"))[..., 1:102, 1:158]
    starts.clear()
    tiled = run_tiled(fn, x, 64, context=context, multiple=multiple)
    assert len(starts) > 4 and set(starts) == {(64, 64)}
    assert torch.allclose(tiled, whole, atol=1e-4)

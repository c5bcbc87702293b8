"""Overlapping tiles: coverage, exact blending of pointwise functions, seam-free networks."""

from __future__ import annotations

import pytest
import torch

from egan_core.enhance.generator_runner import GeneratorRunner
from egan_core.enhance.tiling import DEFAULT_TILE, resolve_tile, run_tiled, tile_starts
from egan_core.metrics.psnr import psnr01 as psnr


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

"""Overlapping fixed-size tiles, blended with feathered weights, so memory stays bounded.

A tiled run processes ``tile x tile`` windows that overlap their neighbours by
``overlap`` pixels; inside an overlap each tile's weight falls off with a raised cosine
(towards image borders it stays 1), and the weighted sum is divided by the summed
weights, so no seam shows. Every tile has the same size (the last row and column are
shifted back to end at the border), so a compiled or cached graph is reused.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

#: Tile size used when ``tile`` is None and the image is large.
DEFAULT_TILE = 512
#: With ``tile=None`` images of at most this many pixels run as a whole frame.
WHOLE_FRAME_PIXELS = 1024 * 1024


def resolve_tile(tile: int | None, height: int, width: int) -> int:
    """The tile size to use: 0 (whole frame) or a size in pixels.

    ``None`` means automatic: whole frame up to :data:`WHOLE_FRAME_PIXELS`, else
    :data:`DEFAULT_TILE`.
    """
    if tile is None:
        return 0 if height * width <= WHOLE_FRAME_PIXELS else DEFAULT_TILE
    return max(0, int(tile))


def overlap_for(tile: int) -> int:
    """Default overlap of neighbouring tiles: tile / 8, between 8 and 64 pixels."""
    return max(8, min(64, tile // 8))


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets along one axis; consecutive tiles overlap by at least ``overlap``."""
    if size <= tile:
        return [0]
    stride = max(1, tile - overlap)
    starts = list(range(0, size - tile, stride))
    return starts + [size - tile]


def _ramp(start: int, length: int, size: int, overlap: int, device: torch.device) -> torch.Tensor:
    """1-D weights of one tile: raised-cosine edges where a neighbouring tile overlaps."""
    w = torch.ones(length, device=device)
    n = min(overlap, length // 2)
    if n == 0:
        return w
    edge = 0.5 - 0.5 * torch.cos(math.pi * (torch.arange(n, device=device) + 0.5) / n)
    if start > 0:
        w[:n] = edge
    if start + length < size:
        w[length - n:] = edge.flip(0)
    return w


def run_tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int,
              overlap: int | None = None) -> torch.Tensor:
    """Apply ``fn`` to ``x`` in overlapping tiles and blend the results.

    Args:
        fn: ``(N, C, h, w) -> (N, C', h, w)``, run on each tile (same size every time).
        x: ``(N, C, H, W)`` input.
        tile: tile edge in pixels; 0 (or an image no larger than a tile) runs ``fn(x)``.
        overlap: pixels shared by neighbouring tiles (default :func:`overlap_for`).

    Returns:
        ``(N, C', H, W)`` float tensor on ``x``'s device.
    """
    n, _, height, width = x.shape
    if tile <= 0 or (height <= tile and width <= tile):
        return fn(x)
    overlap = overlap_for(tile) if overlap is None else overlap
    th, tw = min(tile, height), min(tile, width)
    out: torch.Tensor | None = None
    weight = torch.zeros(1, 1, height, width, device=x.device)
    xs = tile_starts(width, tile, overlap)
    for y0 in tile_starts(height, tile, overlap):
        wy = _ramp(y0, th, height, overlap, x.device)
        for x0 in xs:
            wt = wy[:, None] * _ramp(x0, tw, width, overlap, x.device)[None, :]
            y = fn(x[..., y0:y0 + th, x0:x0 + tw]).to(x.device, torch.float32)
            if out is None:
                out = torch.zeros(n, y.shape[1], height, width, device=x.device)
            out[..., y0:y0 + th, x0:x0 + tw].addcmul_(y, wt)
            weight[..., y0:y0 + th, x0:x0 + tw] += wt
    assert out is not None
    return out.div_(weight)

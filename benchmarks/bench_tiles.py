"""Tiles against one whole-frame pass: does a grid show, and what do tiles cost?

For the default model (``gan``) it prints, in one run:

- on an image that fits whole (a real photo if ``--photo`` is given, else egan's
  synthetic night scene with a flat black band and a noisy patch added), the largest and
  mean difference between the tiled and the whole-frame output in 8-bit levels, and the
  largest dip or bump of a column mean at a tile seam (what a viewer sees as a grid), for
  the feathered tiles the default model used to get (512 px, 64 px overlap) and for
  context tiles (the default now: 768 px windows whose cores are 128 px, the model's
  receptive field, inside their edges);
- on a large image (``--megapixels``, default 12), the time and the peak memory of each
  (a fresh process each).

    python benchmarks/bench_tiles.py --photo ../shared/data/teacher_pairs/low/P1000333.png
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import time
from typing import Any

import numpy as np
import torch
from _shared import cpu_name

from egan_core.scenes import dark_scene

#: (name, tile, context tiles?): what the default model got before, and what it gets now.
SCHEMES = [("feathered 512 (before)", 512, False), ("context 768 (now)", 768, True)]


def test_image(photo: str | None, height: int, width: int) -> np.ndarray:
    """The comparison image: ``photo`` cropped, or the synthetic scene with flat and noisy parts."""
    if photo:
        from PIL import Image

        return np.asarray(Image.open(photo).convert("RGB"))[:height, :width].copy()
    rng = np.random.default_rng(7)
    image = dark_scene(width, height, 4).astype(np.float64)
    image[:, : width // 3] = 2.0
    third = width // 3
    image[: height // 2, third: 2 * third] = 12 + rng.normal(0, 6, (height // 2, third, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def tiled(stage: Any, x: torch.Tensor, tile: int, context: bool) -> torch.Tensor:
    from egan_core.enhance.tiling import run_tiled

    if context:
        return run_tiled(stage, x, tile, context=stage.tile_context, multiple=stage.tile_multiple)
    return run_tiled(stage, x, tile)


def to_levels(y: torch.Tensor) -> np.ndarray:
    return (y.clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.int32)


def seam_step(image: np.ndarray) -> float:
    """The largest jump of a column mean across the image, beside what the neighbouring
    columns do (a seam shows as a step or a dip at one column)."""
    means = image.mean(axis=(0, 2))
    second = np.abs(means[2:] - 2 * means[1:-1] + means[:-2])  # curvature: steps and dips
    return float(second.max())


def _large(tile: int, context: bool, megapixels: float) -> dict[str, float]:
    from egan_core import load_enhancer

    width = int((megapixels * 1e6 * 1.5) ** 0.5)
    height = int(megapixels * 1e6 / width)
    image = dark_scene(width, height, 1)
    stage = load_enhancer("gan", device="cpu").stages[0]
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div_(255)
    start = time.perf_counter()
    with torch.inference_mode():
        tiled(stage, x, tile, context)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "mp": height * width / 1e6,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(queue: Any, args: tuple[Any, ...]) -> None:
    queue.put(_large(*args))


def isolated(*args: Any) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, args))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", help="a photo to compare on (else a synthetic scene)")
    parser.add_argument("--size", type=int, nargs=2, default=(1000, 1400), metavar=("H", "W"),
                        help="the comparison crop (fits whole: at most about 1.5 MP)")
    parser.add_argument("--megapixels", type=float, default=12.0, help="the large image's size")
    args = parser.parse_args()
    from egan_core import load_enhancer

    print(f"CPU: {cpu_name()} ({os.cpu_count()} logical cores), torch {torch.__version__}")
    stage = load_enhancer("gan", device="cpu").stages[0]
    print(f"default model: {stage.backend}:{stage.precision}; receptive field {stage.tile_context} px, "
          f"padding grid {stage.tile_multiple} px")
    image = test_image(args.photo, *args.size)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div_(255)
    with torch.inference_mode():
        whole = to_levels(stage(x))
    print(f"\n{image.shape[1]}x{image.shape[0]} {'photo' if args.photo else 'synthetic scene'}: "
          f"whole frame against tiles (8-bit levels)")
    print(f"  whole frame: largest column-mean curvature {seam_step(whole):.3f}")
    for name, tile, context in SCHEMES:
        with torch.inference_mode():
            got = to_levels(tiled(stage, x, tile, context))
        diff = np.abs(got - whole)
        print(f"  {name:24s} largest {diff.max():3d}, mean {diff.mean():.4f}, "
              f"pixels off {100 * (diff > 0).mean():.3f} %, largest column-mean curvature "
              f"{seam_step(got):.3f}")
    print(f"\n{args.megapixels:g} MP synthetic scene, each in a fresh process")
    runs = {name: isolated(tile, context, args.megapixels) for name, tile, context in SCHEMES}
    base = runs[SCHEMES[0][0]]["seconds"]
    for name, run in runs.items():
        print(f"  {name:24s} {run['seconds']:7.1f} s ({run['seconds'] / run['mp']:.2f} s/MP, "
              f"{run['seconds'] / base:.2f}x)  peak RSS {run['rss_mb']:7.0f} MiB")


if __name__ == "__main__":
    main()

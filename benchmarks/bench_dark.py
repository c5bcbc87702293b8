"""Very dark photos: the colour speckle and cast of ``gan``, with and without its shadow finish.

``gan`` corrects the chroma of photos darker than 5 % on the whole frame after its tiles
(:mod:`egan_plugins.enhancers.shadows`); ``gan:shadow_chroma=false`` is the generator's
output as it is. Printed, in one run:

- on the darkest photos of ``--photos`` (at most ``--count``, mean brightness under
  ``--dark``), for both: NIQE (lower is better; the luma is the generator's in both), a
  chroma-noise figure (the high-pass deviation of the output's Cr and Cb, in levels) and a
  shadow-cast figure (mean |Cr - 128| + |Cb - 128| where the output's luma is under 50);
- on ``--ordinary`` photos (ordinary dark photos, e.g. the teacher photos): how many come
  out bit-identical with the finish on (all should: they are brighter than the gate);
- the finish's cost per megapixel on a 12 MP very dark frame.

    python benchmarks/bench_dark.py --photos ../shared/data/enlightengan_unpaired/low \\
        --ordinary ../shared/data/teacher_pairs/low
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from _shared import chroma_noise, cpu_name, darkest, load

from egan_core import load_enhancer
from egan_core.metrics.niqe import niqe
from egan_plugins.enhancers.shadows import GATE, finish_shadows


def shadow_cast(image: np.ndarray) -> float:
    """Mean distance of the chroma from neutral where the output is dark (luma under 50)."""
    ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    dark = ycc[..., 0] < 50
    if not dark.any():
        return 0.0
    return float((np.abs(ycc[..., 1] - 128) + np.abs(ycc[..., 2] - 128))[dark].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", required=True, help="a folder to take the darkest photos from")
    parser.add_argument("--dark", type=float, default=0.03, help="mean brightness of 'very dark' photos")
    parser.add_argument("--count", type=int, default=12, help="very dark photos used (the darkest)")
    parser.add_argument("--ordinary", help="a folder of ordinary dark photos, checked unchanged")
    parser.add_argument("--side", type=int, default=512, help="photos are resized to this long side")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    print(f"CPU: {cpu_name()}, {torch.get_num_threads()} threads; gate: full under a mean of "
          f"{GATE[0]:g}, none from {GATE[1]:g}")

    on = load_enhancer("gan", device="cpu")
    off = load_enhancer("gan:shadow_chroma=false", device="cpu")
    photos = darkest(args.photos, args.dark, args.count)
    if not photos:
        raise SystemExit(f"no photo in {args.photos} has a mean brightness under {args.dark:g}")
    rows = []
    print(f"\n{len(photos)} darkest photos of {args.photos}:")
    print(f"{'photo':>14} {'mean':>7} | {'NIQE':>13} | {'chroma noise':>13} | {'shadow cast':>13}")
    for path, mean in photos:
        image = load(path, args.side)
        a, b = off(image), on(image)
        row = (niqe(a), niqe(b), chroma_noise(a), chroma_noise(b), shadow_cast(a), shadow_cast(b))
        rows.append(row)
        print(f"{path.stem[:14]:>14} {mean:7.4f} | {row[0]:5.3f} -> {row[1]:5.3f} | "
              f"{row[2]:5.3f} -> {row[3]:5.3f} | {row[4]:5.2f} -> {row[5]:5.2f}")
    m = np.mean(rows, axis=0)
    print(f"{'mean':>14} {'':>7} | {m[0]:5.3f} -> {m[1]:5.3f} | {m[2]:5.3f} -> {m[3]:5.3f} | "
          f"{m[4]:5.2f} -> {m[5]:5.2f}")
    print(f"chroma noise x{m[3] / m[2]:.2f}, shadow cast x{m[5] / m[4]:.2f}, NIQE {m[1] - m[0]:+.3f}")

    if args.ordinary:
        paths = sorted(p for p in Path(args.ordinary).iterdir() if p.suffix.lower() in (".png", ".jpg"))
        same, darkest_mean = 0, 1.0
        for path in paths:
            image = load(path, args.side)
            darkest_mean = min(darkest_mean, float(image.mean()) / 255)
            same += int(np.array_equal(off(image), on(image)))
        print(f"\n{args.ordinary} (mean brightness {darkest_mean:.4f} and up): {same} of {len(paths)} "
              "photos bit-identical with the finish on")

    rng = np.random.default_rng(0)
    frame = torch.from_numpy(rng.integers(0, 6, (1, 3, 3000, 4000)).astype(np.float32) / 255)
    out = torch.rand_like(frame)
    finish_shadows(frame, out)  # warm-up
    start = time.perf_counter()
    finish_shadows(frame, out)
    seconds = time.perf_counter() - start
    print(f"\nthe finish on a 12 MP very dark frame: {1000 * seconds / 12:.0f} ms/MP")


if __name__ == "__main__":
    main()

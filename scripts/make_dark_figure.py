"""docs/dark_shadows.jpg: very dark photos as they came (brightened 8x to be seen), through
the generator alone (``gan:shadow_chroma=false``), and through ``gan`` with its shadow finish.

    python scripts/make_dark_figure.py --photos ../shared/data/enlightengan_unpaired/low
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from egan_core import load_enhancer

#: Ranks (0 = darkest) of the photos shown among the folder's photos sorted by brightness.
RANKS = (4, 8, 14)
LABELS = ("input x8", "generator alone", "gan (shadow finish)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="a folder of very dark photos")
    parser.add_argument("--out", type=Path, default=Path("docs/dark_shadows.jpg"))
    args = parser.parse_args()
    paths = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    by_mean = sorted(paths, key=lambda p: np.asarray(Image.open(p).convert("RGB")).mean())
    alone = load_enhancer("gan:shadow_chroma=false", device="cpu")
    finished = load_enhancer("gan", device="cpu")
    rows = []
    for rank in RANKS:
        image = np.asarray(Image.open(by_mean[rank]).convert("RGB"))
        seen = np.clip(image.astype(np.int32) * 8, 0, 255).astype(np.uint8)
        rows.append(np.concatenate([seen, alone(image), finished(image)], axis=1))
    grid = Image.fromarray(np.concatenate(rows, axis=0))
    draw = ImageDraw.Draw(grid)
    width = grid.width // len(LABELS)
    for k, label in enumerate(LABELS):
        draw.rectangle((k * width, 0, k * width + 7 * len(label) + 8, 16), fill=(0, 0, 0))
        draw.text((k * width + 4, 2), label, fill=(255, 255, 255))
    grid.save(args.out, quality=90)
    print(f"wrote {args.out} ({', '.join(by_mean[r].stem for r in RANKS)})")


if __name__ == "__main__":
    main()

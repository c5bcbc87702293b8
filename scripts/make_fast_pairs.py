"""Label low-light photos with the default model, as training pairs for the ``fast`` model.

    python scripts/make_fast_pairs.py --data ../shared/data    # --out DIR: elsewhere than the default

writes ``OUT/low/<group>/<name>.png`` (the exact 8-bit input the teacher saw) and
``OUT/teacher/<group>/<name>.png`` (its output), the layout egan's ``paired`` dataset reads.
The official EnlightenGAN outputs are copied as they are where they exist (the 30 training
pairs of ``teacher_pairs``; the held-out Cave, Madison, rail and birds are never written);
every other pair is the default model's output on a (possibly downscaled) copy, so that the
student sees the teacher at several scales. Finished pairs are skipped, so an interrupted
run resumes; pairs are written in a shuffled order so that a partial run is a fair sample.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
from PIL import Image

HOLDOUT = ("Cave", "Madison", "rail", "birds")


def _jobs(data: Path) -> tuple[list[tuple[str, Path, Path]], list[tuple[str, Path, int]]]:
    """Copies ``(name, input, target)`` and teacher jobs ``(name, input, longest side)``."""
    copies: list[tuple[str, Path, Path]] = []
    jobs: list[tuple[str, Path, int]] = []
    pairs = data / "teacher_pairs"
    for path in sorted((pairs / "low").glob("*.png")):
        if path.stem in HOLDOUT:
            continue
        target = pairs / "official" / path.name
        if target.is_file():
            copies.append((f"official/{path.stem}", path, target))
        side = max(Image.open(path).size)
        for scale in (2, 4):
            if side // scale >= 128:
                jobs.append((f"pairs_s{scale}/{path.stem}", path, side // scale))
    for path in sorted((data / "enlightengan_unpaired" / "low").glob("*")):
        jobs.append((f"unpaired/{path.stem}", path, 0))
    zero_dce = sorted((data / "zero_dce_train" / "images").glob("*.jpg"))
    jobs += [(f"zdce/{p.stem}", p, 0) for p in zero_dce]
    jobs += [(f"zdce_s2/{p.stem}", p, 256) for p in zero_dce[::2]]
    head, tail = jobs[:2 * len(copies) + 200], jobs[2 * len(copies) + 200:]
    random.Random(0).shuffle(tail)
    return copies, head + tail


def _load(path: Path, side: int) -> np.ndarray:
    """8-bit RGB, its longest side resized (area) to ``side`` (0 = as it is)."""
    image = Image.open(path).convert("RGB")
    if side and max(image.size) != side:
        w, h = image.size
        scale = side / max(w, h)
        image = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BOX)
    return np.asarray(image)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("data/fast_pairs"))
    ap.add_argument("--limit", type=int, default=0, help="stop after this many teacher pairs")
    args = ap.parse_args()
    copies, jobs = _jobs(args.data)
    for name, low, target in copies:
        for folder, src in (("low", low), ("teacher", target)):
            dst = args.out / folder / f"{name}.png"
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists():
                dst.symlink_to(src.resolve())
    from egan_core import load_enhancer

    teacher = load_enhancer()
    done = 0
    for name, path, side in jobs[:args.limit or None]:
        low_dst, out_dst = args.out / "low" / f"{name}.png", args.out / "teacher" / f"{name}.png"
        if out_dst.exists():
            continue
        image = _load(path, side)
        for dst in (low_dst, out_dst):
            dst.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(low_dst)
        Image.fromarray(teacher(image)).save(out_dst.with_suffix(".tmp.png"))
        out_dst.with_suffix(".tmp.png").rename(out_dst)
        done += 1
        if done % 50 == 0:
            print(f"{done} pairs", flush=True)
    print(f"done: {done} new pairs in {args.out}", flush=True)


if __name__ == "__main__":
    main()

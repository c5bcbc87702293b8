"""How close egan's own PairLIE training comes to the paper's released weights, on real photos.

Not a test (pytest collects ``tests/`` only). Run::

    python benchmarks/bench_pairlie_reproduction.py --run runs/pairlie_cpu --released PairLIE.pth

``--released`` is ``weights/PairLIE.pth`` of zhenqifu/PairLIE (no licence: fetched by you,
never shipped). Every photo of ``--images`` (default ``../shared/data/teacher_pairs/low``,
none of them seen in training) goes through the same enhancement path twice, as a user runs
it: ``load_enhancer("pairlie", checkpoint=...)``, uint8 in and out, whole frames. Printed:

1. per photo and on average, NIQE and mean brightness of both outputs and the PSNR of the
   run's output to the released weights' output; the targets (NIQE within 0.10, brightness
   within 5 %, PSNR >= 22 dB) with PASS or MISS;
2. the curve: every ``epoch_NNNN.pt`` of the run on the same photos downscaled to
   ``--curve-side`` pixels (long side), its mean PSNR to the released weights' output and
   mean brightness, so how training approached the paper's model can be seen.

``--cache DIR`` keeps the released weights' full-size outputs between runs (they do not
change).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _shared import cpu_name
from PIL import Image

import egan_core
from egan_core.imageio import read_image_uint8
from egan_core.metrics.brightness import brightness
from egan_core.metrics.niqe import niqe
from egan_core.metrics.psnr import psnr

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def _outputs(checkpoint: Path, photos: list[np.ndarray]) -> list[np.ndarray]:
    enhance = egan_core.load_enhancer("pairlie", checkpoint=str(checkpoint), device="cpu")
    return [np.asarray(enhance(photo)) for photo in photos]


def _released(released: Path, files: list[Path], photos: list[np.ndarray], cache: Path | None
              ) -> list[np.ndarray]:
    if cache is not None and all((cache / f"{f.stem}.png").is_file() for f in files):
        return [read_image_uint8(cache / f"{f.stem}.png") for f in files]
    outs = _outputs(released, photos)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        for f, out in zip(files, outs, strict=True):
            Image.fromarray(out).save(cache / f"{f.stem}.png")
    return outs


def _small(photo: np.ndarray, side: int) -> np.ndarray:
    h, w = photo.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return photo
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    return np.asarray(Image.fromarray(photo).resize(size, Image.Resampling.BICUBIC))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="the egan run folder (runs/pairlie_cpu)")
    ap.add_argument("--released", type=Path, required=True, help="the paper's PairLIE.pth")
    ap.add_argument("--images", type=Path, default=Path("../shared/data/teacher_pairs/low"))
    ap.add_argument("--checkpoint", type=Path, default=None, help="default: RUN/checkpoints/latest.pt")
    ap.add_argument("--curve-side", type=int, default=256)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write every figure here")
    args = ap.parse_args()

    files = sorted(p for p in args.images.iterdir() if p.suffix.lower() in SUFFIXES)
    photos = [read_image_uint8(p) for p in files]
    checkpoint = args.checkpoint or args.run / "checkpoints" / "latest.pt"
    print(f"CPU: {cpu_name()}; {len(files)} photos,"
          f" {sum(p.shape[0] * p.shape[1] for p in photos) / 1e6:.1f} MP")
    start = time.perf_counter()
    ref = _released(args.released, files, photos, args.cache)
    ours = _outputs(checkpoint, photos)
    rows = []
    for f, a, b in zip(files, ours, ref, strict=True):
        rows.append({"photo": f.stem, "niqe": niqe(a), "niqe_released": niqe(b),
                     "brightness": brightness(a), "brightness_released": brightness(b),
                     "psnr_to_released": psnr(a, b)})
        r = rows[-1]
        print(f"{r['photo']:>16}  NIQE {r['niqe']:.3f} / {r['niqe_released']:.3f}  brightness"
              f" {r['brightness']:.3f} / {r['brightness_released']:.3f}  PSNR {r['psnr_to_released']:.2f} dB")
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "photo"}
    d_niqe = mean["niqe"] - mean["niqe_released"]
    d_bright = mean["brightness"] / mean["brightness_released"] - 1
    worst = min(r["psnr_to_released"] for r in rows)
    print(f"\nmean of {len(rows)} (this run / released):"
          f" NIQE {mean['niqe']:.3f} / {mean['niqe_released']:.3f}"
          f" ({d_niqe:+.3f}; target within 0.10: {'PASS' if abs(d_niqe) <= 0.10 else 'MISS'}),"
          f" brightness {mean['brightness']:.3f} / {mean['brightness_released']:.3f} ({d_bright:+.1%};"
          f" target within 5 %: {'PASS' if abs(d_bright) <= 0.05 else 'MISS'}),"
          f" PSNR to released {mean['psnr_to_released']:.2f} dB (min {worst:.2f};"
          f" target >= 22: {'PASS' if mean['psnr_to_released'] >= 22 else 'MISS'})"
          f"  [{time.perf_counter() - start:.0f} s]")

    curve = []
    small = [_small(p, args.curve_side) for p in photos]
    small_ref = _outputs(args.released, small)
    for ckpt in sorted((args.run / "checkpoints").glob("epoch_*.pt")):
        outs = _outputs(ckpt, small)
        scores = [psnr(a, b) for a, b in zip(outs, small_ref, strict=True)]
        curve.append({"epoch": int(ckpt.stem.split("_")[1]), "psnr_to_released": float(np.mean(scores)),
                      "brightness": float(np.mean([brightness(a) for a in outs]))})
        print(f"epoch {curve[-1]['epoch']:3d}: PSNR to released {curve[-1]['psnr_to_released']:.2f} dB,"
              f" brightness {curve[-1]['brightness']:.3f} (released"
              f" {np.mean([brightness(b) for b in small_ref]):.3f}) at {args.curve_side} px")
    if args.json:
        args.json.write_text(json.dumps({"photos": rows, "mean": mean, "curve": curve}, indent=1))


if __name__ == "__main__":
    main()

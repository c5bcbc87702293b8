"""Denoising with brightening: ``gan`` + ``denoise`` on real dark photos with sensor noise added.

For each photo (real dark shots, taken as clean), Poisson-Gaussian sensor noise is added as
a dark exposure would have it (``--photons`` electrons at white, ``--read`` levels of read
noise; the noise of a photo is its own draw, seeded). The reference is ``gan`` on the
clean photo (the noise-free enhancement). Printed, in one run:

- PSNR to the reference of ``gan`` alone, of ``denoise`` run on ``gan``'s output as alone
  (strength from the bright output's own noise: what the chain did before), of the chain
  ``gan`` + ``denoise`` (the chain's dark input cleaned before ``gan`` brightens it, at
  twice its noise), and of ``denoise`` + ``gan`` (the dark input denoised first, at the
  strength ``denoise`` uses alone);
- the share of two high-pass noise measures removed, against ``gan`` alone: the output's
  own noise estimate (:func:`egan_plugins.enhancers.classic.estimate_noise`), and the
  high-pass deviation of the difference to the reference (what a 1.5 px Gaussian
  removes; it also counts texture the GAN draws differently from a noisy input);
- NIQE (lower is better) of ``gan`` and of the chain on the unmodified photos;
- on very dark photos (``--dark-photos``: the darkest ``--dark-count`` there with a mean
  brightness under ``--dark``; SICE's under-exposed frames in Zero-DCE's training set
  are such), unmodified: a chroma-noise figure (the high-pass deviation of the output's
  Cb and Cr) and NIQE, of ``gan`` and of ``gan`` + ``denoise``;
- the denoiser's cost per megapixel.

    python benchmarks/bench_denoise.py --photos ../shared/data/teacher_pairs/low \
        --dark-photos ../shared/data/zero_dce_train/images
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from _shared import chroma_noise, cpu_name, darkest, high_pass, load

from egan_core import load_enhancer
from egan_core.metrics.niqe import niqe
from egan_plugins.enhancers.classic import estimate_noise


def sensor_noise(image: np.ndarray, photons: float, read: float, seed: int) -> np.ndarray:
    """Poisson shot noise (``photons`` electrons at white) plus Gaussian read noise (levels)."""
    rng = np.random.default_rng(seed)
    electrons = rng.poisson(image.astype(np.float64) / 255 * photons)
    noisy = electrons / photons * 255 + rng.normal(0, read, image.shape)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((a.astype(np.float64) - b) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", required=True, help="a folder of real dark photos")
    parser.add_argument("--count", type=int, default=12, help="photos used (sorted by name)")
    parser.add_argument("--first", type=int, default=0, help="index of the first photo used")
    parser.add_argument("--side", type=int, default=512, help="photos are resized to this long side")
    parser.add_argument("--photons", type=float, default=400.0, help="electrons at white")
    parser.add_argument("--read", type=float, default=2.0, help="read noise, 8-bit levels")
    parser.add_argument("--dark-photos", help="a folder to take very dark photos from")
    parser.add_argument("--dark", type=float, default=0.03, help="mean brightness of 'very dark' photos")
    parser.add_argument("--dark-count", type=int, default=6, help="very dark photos used")
    args = parser.parse_args()
    print(f"CPU: {cpu_name()} ({os.cpu_count()} logical cores), torch {torch.__version__}; "
          f"noise: {args.photons:g} electrons at white, read noise {args.read:g} levels")
    gan = load_enhancer("gan", device="cpu")
    chain = load_enhancer(["gan", "denoise"], device="cpu")
    alone = load_enhancer("denoise", device="cpu")
    denoise = chain.stages[1]
    first = load_enhancer(["denoise", "gan"], device="cpu")
    files = sorted(p for p in Path(args.photos).iterdir() if p.suffix.lower() in (".png", ".jpg", ".bmp"))
    rows, niqes, darks, seconds, megapixels = [], [], [], [0.0, 0.0], 0.0
    for index, path in enumerate(files[args.first: args.first + args.count], start=args.first):
        clean = load(path, args.side)
        reference = gan(clean)
        chained_clean = chain(clean)
        noisy = sensor_noise(clean, args.photons, args.read, seed=index)
        base = gan(noisy)
        start = time.perf_counter()
        plain = alone(base)
        seconds[0] += time.perf_counter() - start
        source = torch.from_numpy(noisy).permute(2, 0, 1)[None].float() / 255
        start = time.perf_counter()
        denoise.clean_input(source)
        seconds[1] += time.perf_counter() - start
        aware = chain(noisy)
        megapixels += clean.shape[0] * clean.shape[1] / 1e6
        noise, own = high_pass(base.astype(np.float32) - reference), estimate_noise(base)
        rows.append((path.stem, psnr(base, reference), psnr(plain, reference), psnr(aware, reference),
                     psnr(first(noisy), reference), 1 - estimate_noise(aware) / own,
                     1 - high_pass(aware.astype(np.float32) - reference) / noise))
        niqes.append((niqe(reference), niqe(chained_clean)))
    for path, mean in darkest(args.dark_photos, args.dark, args.dark_count):
        clean = load(path, args.side)
        reference, chained_clean = gan(clean), chain(clean)
        darks.append((path.stem, mean, chroma_noise(reference), chroma_noise(chained_clean),
                      niqe(reference), niqe(chained_clean)))
    print(f"\n{len(rows)} photos at long side {args.side}, sensor noise added: PSNR (dB) to gan on the clean "
          "photo; share of the noise the chain gan, denoise removed")
    print(f"  {'photo':14s} {'gan':>6s} {'gan,denoise*':>13s} {'gan,denoise':>12s} {'denoise,gan':>12s}"
          f"   {'own noise':>9s} {'to reference':>12s}")
    for name, a, b, c, d, own, ref in rows:
        print(f"  {name:14s} {a:6.2f} {b:13.2f} {c:12.2f} {d:12.2f}   {100 * own:8.0f}% {100 * ref:11.0f}%")
    m = np.array([r[1:] for r in rows]).mean(0)
    print(f"  {'mean':14s} {m[0]:6.2f} {m[1]:13.2f} {m[2]:12.2f} {m[3]:12.2f}   "
          f"{100 * m[4]:8.0f}% {100 * m[5]:11.0f}%")
    print("  (* denoise run on gan's output, with the strength it reads off it, as alone)")
    print(f"  the chain gan, denoise over gan alone: {m[2] - m[0]:+.2f} dB (target >= +2); "
          f"{100 * m[4]:.0f} % of the output's noise estimate and {100 * m[5]:.0f} % of the high-pass "
          f"difference to the reference removed (target >= 40 %); denoising the input first "
          f"instead: {m[3] - m[0]:+.2f} dB")
    n = np.array(niqes)
    print(f"\nNIQE on the unmodified photos (mean of {len(n)}): gan {n[:, 0].mean():.3f}, gan + denoise "
          f"{n[:, 1].mean():.3f} ({n[:, 1].mean() - n[:, 0].mean():+.3f}; target: no rise)")
    if darks:
        print(f"\nvery dark photos (mean brightness under {args.dark:g}), unmodified: chroma noise "
              "(high-pass deviation of Cb and Cr, levels) and NIQE")
        for name, mean, c0, c1, q0, q1 in darks:
            print(f"  {name:14s} mean {mean:.3f}: chroma noise gan {c0:5.2f} -> with denoise {c1:5.2f}; "
                  f"NIQE {q0:.3f} -> {q1:.3f}")
    print(f"\ndenoise cost: on the bright output {1000 * seconds[0] / megapixels:.0f} ms/MP, on the "
          f"chain's dark input {1000 * seconds[1] / megapixels:.0f} ms/MP")


if __name__ == "__main__":
    main()

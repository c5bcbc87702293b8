"""Does egan render the released PairLIE weights as the official evaluation does?

    python scripts/check_pairlie_release.py --weights PairLIE.pth [--images DIR] [--out DIR]

``--weights`` is the official ``weights/PairLIE.pth`` (not shipped with egan: the official
repository states no licence). The file goes through egan as a user's would: recognised by
``load_generator`` from its keys, run by ``load_enhancer("gan", checkpoint=...)`` on each
photo of ``--images`` (default: the ``teacher_pairs`` low-light photos beside the checkout).
Beside it runs the official ``eval.py`` formula, written out here with plain functional ops
on the state dict as read from the file: ``X = N(x)``, ``L = L(X)``, ``R = R(X)``, each
sub-network five reflection-padded 3x3 convolutions with ReLU between and a sigmoid at the
end, and ``I = L ** 0.2 * R``, on the whole image (``ToTensor`` input: uint8 / 255).

Per image it prints the PSNR of egan's float output against that formula, and of the 8-bit
files each would write (egan rounds; the official ``ToPILImage`` truncates), then the
minimum and the mean. Exit status 1 when the minimum float PSNR is below 45 dB. With
``--out`` egan's outputs are written there as PNG, named like the inputs.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from egan_core import load_enhancer
from egan_core.model_loading import load_generator

#: The check passes when every image is at least this close to the official formula.
MIN_PSNR = 45.0
#: The official evaluation's gamma (its comment: 0.14 on LOL).
GAMMA = 0.2
#: Indices of the convolutions in each official ``nn.Sequential`` (after each ReflectionPad2d).
CONV_INDICES = (1, 4, 7, 10, 13)
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def official_formula(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The official ``eval.py`` output ``L ** 0.2 * R`` of ``x`` in [0, 1], from the raw state dict."""
    def subnet(name: str, t: torch.Tensor) -> torch.Tensor:
        for i, index in enumerate(CONV_INDICES):
            prefix = f"{name}.{name}.{index}"
            t = F.conv2d(F.pad(t, (1, 1, 1, 1), mode="reflect"), sd[f"{prefix}.weight"], sd[f"{prefix}.bias"])
            if i < len(CONV_INDICES) - 1:
                t = F.relu(t)
        return torch.sigmoid(t)

    denoised = subnet("N_net", x)
    return torch.pow(subnet("L_net", denoised), GAMMA) * subnet("R_net", denoised)


def psnr(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor, peak: float) -> float:
    """PSNR in dB, in float64 (inf when identical)."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    mse = float(np.mean(diff * diff))
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def main() -> int:
    """Run the check; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, type=Path, help="the official PairLIE.pth")
    parser.add_argument("--images", default="../shared/data/teacher_pairs/low", type=Path)
    parser.add_argument("--out", default=None, type=Path, help="write egan's outputs here (PNG)")
    parser.add_argument("--tile", default=0, type=int,
                        help="egan's tile size (0 = whole frame, as the official evaluation)")
    parser.add_argument("--backend", default="auto", help="egan's backend (default: its auto choice)")
    args = parser.parse_args()

    listed = args.images.iterdir() if args.images.is_dir() else []
    files = sorted(p for p in listed if p.suffix.lower() in SUFFIXES)
    if not files:
        print(f"no images in {args.images}", file=sys.stderr)
        return 2
    raw = torch.load(args.weights, map_location="cpu", weights_only=True)
    sd = {k.removeprefix("module."): v.float() for k, v in raw.items()}
    model = load_generator(args.weights)
    print(f"load_generator: {type(model).__name__}, gamma {model.gamma}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")
    enhancer = load_enhancer("gan", checkpoint=args.weights, device="cpu", tile=args.tile,
                             backend=args.backend)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)

    start_all = time.perf_counter()
    rows: list[tuple[str, float, float]] = []
    egan_seconds = official_seconds = megapixels = 0.0
    print("| image | size | PSNR float (dB) | PSNR 8-bit (dB) | egan s | official s |")
    print("|---|---|---:|---:|---:|---:|")
    for path in files:
        image = np.asarray(Image.open(path).convert("RGB"))
        x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float() / 255
        start = time.perf_counter()
        ours = enhancer(x)
        mid = time.perf_counter()
        with torch.no_grad():
            theirs = official_formula(sd, x)
        end = time.perf_counter()
        egan_seconds += mid - start
        official_seconds += end - mid
        megapixels += x.shape[-2] * x.shape[-1] / 1e6
        ours_8 = (ours[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)  # egan's files
        theirs_8 = (theirs[0].permute(1, 2, 0) * 255).to(torch.uint8).numpy()  # ToPILImage truncates
        rows.append((path.name, psnr(ours, theirs, 1.0), psnr(ours_8, theirs_8, 255.0)))
        print(f"| {path.name} | {image.shape[1]}x{image.shape[0]} | {rows[-1][1]:.2f} | {rows[-1][2]:.2f} "
              f"| {mid - start:.1f} | {end - mid:.1f} |", flush=True)
        if args.out is not None:
            Image.fromarray(ours_8).save(args.out / f"{path.stem}.png")
    floats = [r[1] for r in rows]
    eights = [r[2] for r in rows]
    finite = [v for v in floats if math.isfinite(v)]
    mean = sum(finite) / len(finite) if finite else math.inf
    print(f"{len(rows)} images, {megapixels:.1f} MP; float PSNR min {min(floats):.2f} dB, "
          f"mean {mean:.2f} dB; 8-bit PSNR min {min(eights):.2f} dB, mean {sum(eights) / len(eights):.2f} dB")
    print(f"time: egan {egan_seconds:.0f} s ({egan_seconds / megapixels:.2f} s/MP), official formula "
          f"{official_seconds:.0f} s ({official_seconds / megapixels:.2f} s/MP), total "
          f"{time.perf_counter() - start_all:.0f} s, torch threads {torch.get_num_threads()}")
    if min(floats) < MIN_PSNR:
        print(f"FAIL: below {MIN_PSNR:.0f} dB", file=sys.stderr)
        return 1
    print(f"OK: every image at least {MIN_PSNR:.0f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How close can ``fast_grid``'s representation get to a target photo, and at what NIQE?

    python scripts/fit_fast_grid.py --data ../shared/data

For each held-out ``teacher_pairs`` photo (or ``--names``), the shipped ``fast`` model's
coefficient grid is the starting point, and the grid itself (not the network) is then fitted
by Adam to the default model's output and, separately, to the official EnlightenGAN output
(mean squared error at full resolution). It prints the fitted output's PSNR against its
target and the NIQE of both. This separates what the representation can express (a smooth
per-region colour transform and luma curve of the input's own pixels) from what the
distillation learned: MODEL.md, *Not done*, uses it for the NIQE target.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from egan_core import load_enhancer
from egan_core.metrics import niqe, psnr
from egan_plugins.networks.fast_grid import FastGridNet, interpolation_matrix

HOLDOUT = ("Cave", "Madison", "rail", "birds")


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def fit(net: FastGridNet, low: np.ndarray, target: np.ndarray, steps: int, lr: float) -> np.ndarray:
    """The 8-bit output of ``net``'s transform with its grid for ``low`` fitted to ``target``."""
    x = torch.from_numpy(low.copy()).permute(2, 0, 1)[None].float() / 255
    want = torch.from_numpy(target.copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        grid = net.grid(x)
    rows = interpolation_matrix(x.shape[-2], grid.shape[-2])
    cols = interpolation_matrix(x.shape[-1], grid.shape[-1])
    grid.requires_grad_(True)
    opt = torch.optim.Adam([grid], lr=lr)
    for _ in range(steps):
        out = net._transform(x, rows @ (grid @ cols.T), net.luma)
        loss = (out - want).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = net._transform(x, rows @ (grid @ cols.T), net.luma).clamp(0, 1)
    return (out[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--names", nargs="+", default=list(HOLDOUT))
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--lr", type=float, default=0.01)
    args = ap.parse_args()
    pairs = args.data / "teacher_pairs"
    fast = load_enhancer("fast", device="cpu")
    net = fast.stages[0].model  # the shipped FastGridNet
    teacher = load_enhancer("gan", device="cpu", precision="fp32")
    for name in args.names:
        low = _read(pairs / "low" / f"{name}.png")
        official = _read(next((pairs / "official").glob(f"{name}.*")))
        print(f"{name}: fast as shipped NIQE {niqe(fast(low)):.3f}")
        for label, target in (("default model", teacher(low)), ("official", official)):
            got = fit(net, low, target, args.steps, args.lr)
            print(f"  grid fitted to the {label} output: {psnr(got, target):.2f} dB to it, "
                  f"NIQE {niqe(got):.3f} (the {label} output's: {niqe(target):.3f})", flush=True)


if __name__ == "__main__":
    main()

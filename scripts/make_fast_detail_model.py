"""Train ``fast`` v2's detail branch on top of the shipped ``fast`` model (``fast_grid`` with ``detail``).

    python scripts/make_fast_detail_model.py --data ../shared/data

writes ``egan_plugins/weights/fast_detail.safetensors`` (the model's facts are its record,
``egan_plugins.shipped.FAST_DETAIL_MODEL``; ``--out`` writes elsewhere, for variants).

The coefficient grid (tone and colour) is the shipped model's and stays frozen; only the
detail branch (a per-pixel network of 3 -> ``--width`` -> 2 x levels weights, see
``egan_plugins/networks/fast_grid.py``) is trained, by L1 to the official EnlightenGAN
outputs of ``teacher_pairs`` (the texture the grid cannot make is in those) plus ``--hf``
times L1 between their fine parts (what a 5x5 box blur removes; plain L1 is content with
the smooth mean of texture it cannot place exactly), on random crops of every pair but the
four held-out photos. The transform's output of each whole photo is
computed once (its grid sees the whole frame, as at inference); the branch only needs the
pixels around each one. Prints the held-out PSNR and NIQE against the shipped model's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from egan_core.checkpoint import generator_metadata, save_safetensors
from egan_core.metrics import niqe, psnr
from egan_core.model_loading import load_generator
from egan_plugins.networks.fast_grid import FastGridNet, box_blur
from egan_plugins.shipped import FAST_DETAIL_MODEL, FAST_MODEL

HOLDOUT = ("Cave", "Madison", "rail", "birds")


def _tensor(path: Path) -> torch.Tensor:
    pixels = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
    return torch.from_numpy(pixels).permute(2, 0, 1)[None]


def _uint8(x: torch.Tensor) -> np.ndarray:
    return (x.clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def pairs(data: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{name: (low, official)}`` of ``teacher_pairs``."""
    out = {}
    for low in sorted((data / "teacher_pairs" / "low").glob("*.png")):
        official = next((data / "teacher_pairs" / "official").glob(low.stem + ".*"))
        out[low.stem] = (_tensor(low), _tensor(official))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=FAST_DETAIL_MODEL.file, help="the .safetensors file to write")
    ap.add_argument("--radii", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=160)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--hf", type=float, default=1.0, help="weight of the fine-detail L1 term")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    shipped = load_generator(FAST_MODEL.file)
    kwargs = {"size": shipped.size, "width": shipped.width, "detail": list(args.radii),
              "detail_width": args.width}
    net = FastGridNet(seed=args.seed, **kwargs)
    missing = net.load_state_dict(shipped.state_dict(), strict=False).missing_keys
    assert all(k.startswith("detail.") for k in missing), missing
    net.requires_grad_(False)
    assert net.detail is not None
    net.detail.requires_grad_(True)

    data = pairs(args.data)
    with torch.no_grad():
        base = {name: net.enhance(low, detail=False) for name, (low, _) in data.items()}
    train = [name for name in data if name not in HOLDOUT]
    gen = np.random.default_rng(args.seed)
    opt = torch.optim.Adam(net.detail.parameters(), lr=args.lr)
    c = args.crop
    started = time.perf_counter()
    for step in range(1, args.steps + 1):
        xs, bs, ts = [], [], []
        for _ in range(args.batch):
            name = train[gen.integers(len(train))]
            low, official = data[name]
            i, j = gen.integers(low.shape[-2] - c), gen.integers(low.shape[-1] - c)
            crop = (..., slice(i, i + c), slice(j, j + c))
            xs.append(low[crop])
            bs.append(base[name][crop])
            ts.append(official[crop])
        x, b, want = torch.cat(xs), torch.cat(bs), torch.cat(ts)
        out = b + net.detail_residual(x, b)
        loss = F.l1_loss(out, want)
        if args.hf:
            loss = loss + args.hf * F.l1_loss(out - box_blur(out, 2), want - box_blur(want, 2))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 500 == 0:
            print(f"step {step}: l1 {loss.item():.4f} ({time.perf_counter() - started:.0f} s)", flush=True)
    net.eval()
    save_safetensors(args.out, net.state_dict(), generator_metadata("fast_grid", kwargs))
    print(f"wrote {args.out}")
    rows = []
    with torch.no_grad():
        for name in HOLDOUT:
            low, official = data[name]
            before, after, want = _uint8(base[name]), _uint8(net.enhance(low)), _uint8(official)
            rows.append((psnr(before, want), psnr(after, want), niqe(before), niqe(after), niqe(want)))
            print(f"{name}: PSNR {rows[-1][0]:.2f} -> {rows[-1][1]:.2f} dB, NIQE {rows[-1][2]:.3f} -> "
                  f"{rows[-1][3]:.3f} (official {rows[-1][4]:.3f})")
    m = np.mean(rows, axis=0)
    print(f"held-out mean: PSNR {m[0]:.2f} -> {m[1]:.2f} dB, NIQE {m[2]:.3f} -> {m[3]:.3f} "
          f"(official {m[4]:.3f})")


if __name__ == "__main__":
    main()

"""Benchmark the ``fast`` enhancer against its targets in one run.

Not a test. Run ``python benchmarks/bench_fast.py`` from the repository root (add
``--data PATH`` if the data is not at ``../shared/data``). It prints:

1. quality on the four held-out pairs of ``teacher_pairs`` (Cave, Madison, rail, birds;
   never trained on): PSNR of whole images against the official EnlightenGAN outputs
   (target >= 25 dB; the default model for reference) and mean NIQE against the official
   outputs' (target: at most theirs + 0.10). Skipped, and said so, without the data;
2. speed on ``--threads`` threads (default 2), uint8 HxWx3 in and out, conversions
   included, median of ``--repeats`` runs timed alternately: the default model
   (``load_enhancer("gan")``, its fastest measured path) and ``load_enhancer("fast")`` on
   the same 1 MP image (target: >= 100x faster per megapixel), and ``fast`` on a 12 MP image
   through the enhancer API and through the bare model (target >= 20 MP/s);
3. peak memory of enhancing a 24 MP photo in one pass (fresh process, its own peak: Linux
   ``VmHWM``, since ``ru_maxrss`` keeps the parent's peak across fork + exec; target < 1.5 GB);
4. ONNX: ``egan export`` of the shipped weights, its PSNR against PyTorch on the held-out
   photos (target >= 40 dB) and its speed in onnxruntime against PyTorch (float32 tensors
   in and out, so that only the model is compared).

``--parts speed,memory`` runs only those parts (default: all four). ``--weights A B ...``
measures other ``fast_grid`` weights beside the shipped ones (the ``fast`` v2 variants with a
detail branch, from ``scripts/make_fast_detail_model.py``) and ends with a trade-off table, one row
per model: NIQE, PSNR, speed and memory, so a user can pick.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _shared import dark_image

HOLDOUT = ("Cave", "Madison", "rail", "birds")
Fn = Callable[[], object]


def _timed(fns: dict[str, Fn], repeats: int) -> dict[str, float]:
    """Median seconds per call of each function, after one warm-up, timed alternately."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def _read(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def quality(data: Path, weights: list[Path | None], curve: dict[str, dict[str, float]]) -> None:
    from egan_core import load_enhancer
    from egan_core.metrics import niqe, psnr

    pairs = data / "teacher_pairs"
    if not (pairs / "low").is_dir():
        print(f"quality: skipped ({pairs} not found; pass --data)")
        return
    names = sorted(p.stem for p in (pairs / "low").glob("*.png"))
    images = {}
    for n in names:
        official = next((pairs / "official").glob(f"{n}.*"), None)
        if official is None:
            raise SystemExit(f"quality: {pairs / 'official'} has no output for {n}; check --data")
        images[n] = (_read(pairs / "low" / f"{n}.png"), _read(official))
    gan = load_enhancer("gan", device="cpu", precision="fp32")
    official_niqe = {n: niqe(official) for n, (_, official) in images.items()}
    gan_out = {n: gan(images[n][0]) for n in HOLDOUT}
    held_gan = [(psnr(gan_out[n], images[n][1]), niqe(gan_out[n])) for n in HOLDOUT]
    for path in weights:
        fast = load_enhancer("fast", checkpoint=str(_weights_file(path)), device="cpu")
        label = _label(path)
        rows = {}
        for name, (low, official) in images.items():
            out = fast(low)
            rows[name] = (psnr(out, official), niqe(out), psnr(low, official))
        for name in HOLDOUT:
            p, q, p_in = rows[name]
            print(f"  {label} {name:8s} PSNR {p:6.2f} dB  input {p_in:6.2f}   NIQE {q:5.3f}  "
                  f"official {official_niqe[name]:5.3f}")
        held = [statistics.mean(rows[n][i] for n in HOLDOUT) for i in (0, 1)]
        held_official = statistics.mean(official_niqe[n] for n in HOLDOUT)
        every = [statistics.mean(r[i] for r in rows.values()) for i in (0, 1)]
        every_official = statistics.mean(official_niqe.values())
        curve.setdefault(label, {}).update(niqe_held=held[1], psnr_held=held[0], niqe_all=every[1])
        print(f"quality {label} (vs official): held-out PSNR {held[0]:.2f} dB (target >= 25; default model "
              f"{statistics.mean(g[0] for g in held_gan):.2f}), NIQE {held[1]:.3f} (target <= "
              f"{held_official + 0.10:.3f}; official {held_official:.3f}, default model "
              f"{statistics.mean(g[1] for g in held_gan):.3f}); all {len(names)}: PSNR {every[0]:.2f} dB, "
              f"NIQE {every[1]:.3f} (target <= {every_official + 0.10:.3f}; official {every_official:.3f})")


def _label(path: Path | None) -> str:
    return "shipped" if path is None else str(path)


def _weights_file(path: Path | None) -> Path:
    """The file of a measured model (None: the shipped ``fast``)."""
    from egan_plugins.enhancers.fast import FAST_WEIGHTS

    return FAST_WEIGHTS if path is None else path


def _model_fn(model: torch.nn.Module, image: np.ndarray) -> Fn:
    """The bare model with uint8 conversions done by torch (all threads)."""

    def run() -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div_(255)
            out = model.enhance_banded(x).mul_(255).add_(0.5).clamp_(0, 255)
            return out.to(torch.uint8)[0].permute(1, 2, 0).contiguous().numpy()

    return run


def speed(repeats: int, weights: list[Path | None], curve: dict[str, dict[str, float]]) -> None:
    from egan_core import load_enhancer
    from egan_core.model_loading import load_generator
    from egan_plugins.networks.fast_grid_flops import count_flops

    gan = load_enhancer("gan", device="cpu")
    one, twelve = dark_image(1000, 1000), dark_image(3000, 4000)
    fns: dict[str, Fn] = {"gan 1MP": lambda: gan(one)}  # the fast models' keys start with "fast:"
    big: dict[str, Fn] = {}
    models = {}
    for path in weights:
        label = _label(path)
        fast = load_enhancer("fast", checkpoint=str(_weights_file(path)), device="cpu")
        models[label] = load_generator(_weights_file(path)).eval()
        fns[f"fast:{label} 1MP"] = lambda fast=fast: fast(one)
        fns[f"fast:{label} model 1MP"] = _model_fn(models[label], one)
        big[f"fast:{label} 12MP"] = lambda fast=fast: fast(twelve)
        big[f"fast:{label} model 12MP"] = _model_fn(models[label], twelve)
    t = _timed(fns, max(1, repeats // 2))
    t.update(_timed(big, repeats))
    print(f"speed ({torch.get_num_threads()} threads, uint8 in/out): default model "
          f"{1 / t['gan 1MP']:.2f} MP/s")
    for label, model in models.items():
        ratio = t["gan 1MP"] / t[f"fast:{label} 1MP"]
        curve.setdefault(label, {}).update(mps_12=12 / t[f"fast:{label} 12MP"], ratio=ratio)
        print(f"  {label}: {1 / t[f'fast:{label} 1MP']:.1f} MP/s at 1 MP through load_enhancer -> "
              f"{ratio:.0f}x the default model, bare model {1 / t[f'fast:{label} model 1MP']:.1f} MP/s -> "
              f"{t['gan 1MP'] / t[f'fast:{label} model 1MP']:.0f}x (target >= 100x)")
        print(f"  {label} at 12 MP: {12 / t[f'fast:{label} 12MP']:.1f} MP/s through load_enhancer, "
              f"{12 / t[f'fast:{label} model 12MP']:.1f} MP/s bare model (target >= 20)")
        for h, w in ((1000, 1000), (3000, 4000)):
            c = count_flops(model, h, w)
            print(f"  {label} FLOPs at {h * w / 1e6:.0f} MP: {c['total'] / 1e6:.0f} M (low-res branch "
                  f"{c['low_res'] / 1e6:.0f} M, full-res {c['full_res'] / (h * w):.1f} per pixel)")


_MEMORY_CHILD = """
import resource, sys, numpy as np, torch
sys.path.insert(0, sys.argv[2])
from _shared import dark_image
torch.set_num_threads(int(sys.argv[1]))
from egan_core import load_enhancer
fast = load_enhancer("fast", checkpoint=sys.argv[3] or None, device="cpu")
image = np.tile(dark_image(1000, 1000), (4, 6, 1))
fast(image[:64, :64])
def peak():  # KiB; VmHWM is this process's own (ru_maxrss keeps the parent's across fork + exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)
before = peak()
out = fast(image)
after = peak()
print(before, after, out.shape)
"""


def memory(threads: int, weights: list[Path | None], curve: dict[str, dict[str, float]]) -> None:
    here = str(Path(__file__).resolve().parent)
    for path in weights:
        command = [sys.executable, "-c", _MEMORY_CHILD, str(threads), here, "" if path is None else str(path)]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        before, after = (int(v) * 1024 for v in result.stdout.split()[:2])  # KiB -> bytes
        curve.setdefault(_label(path), {})["peak_gb"] = after / 1e9
        print(f"memory {_label(path)}, 24 MP (6000x4000) in one pass: process peak {after / 2**30:.2f} GiB = "
              f"{after / 1e9:.2f} GB (target < 1.5 GB; {before / 2**30:.2f} GiB peak before it, with "
              f"torch, the model and the 72 MB input loaded: the pass added {(after - before) / 1e6:.0f} MB)")


def onnx_check(data: Path, repeats: int, weights: list[Path | None]) -> None:
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnx: skipped (pip install 'egan[onnx]')")
        return
    for weights_path in weights:
        _onnx_one(data, repeats, weights_path, ort)


def _onnx_one(data: Path, repeats: int, weights_path: Path | None, ort: Any) -> None:
    from egan_core.export import export_model
    from egan_core.metrics.psnr import psnr01 as psnr
    from egan_core.model_loading import load_generator

    source = _weights_file(weights_path)
    label = _label(weights_path)
    model = load_generator(source).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fast.onnx"
        export_model(source, None, "onnx", path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        # no busy-waiting worker threads: on a shared machine they steal the cores they wait for
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run_onnx(x: torch.Tensor) -> np.ndarray:
        return session.run(None, {"image": x.numpy()})[0]

    def run_torch(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return model.enhance_banded(x).clamp_(0, 1)

    low = data / "teacher_pairs" / "low"
    images = ([_read(low / f"{n}.png") for n in HOLDOUT] if low.is_dir()
              else [dark_image(480, 640)])
    tensors = [torch.from_numpy(i.copy()).permute(2, 0, 1)[None].float() / 255 for i in images]
    worst = min(psnr(torch.from_numpy(run_onnx(x)), run_torch(x)) for x in tensors)
    print(f"onnx {label}: {worst:.1f} dB against PyTorch (worst of {len(images)} images; target >= 40)")
    for h, w in ((1000, 1000), (3000, 4000)):
        x = torch.from_numpy(dark_image(h, w)).permute(2, 0, 1)[None].float() / 255
        t = _timed({"onnx": lambda x=x: run_onnx(x), "torch": lambda x=x: run_torch(x)}, repeats)
        mp = h * w / 1e6
        print(f"  {label} {mp:.0f} MP, float32 in/out: onnxruntime {mp / t['onnx']:.1f} MP/s, "
              f"PyTorch {mp / t['torch']:.1f} MP/s (target: onnxruntime no slower)")


def _print_curve(curve: dict[str, dict[str, float]]) -> None:
    """One row per model: what a user picks between (speed against quality)."""
    columns = (("niqe_held", "NIQE held-out", "{:.3f}"), ("niqe_all", "NIQE all", "{:.3f}"),
               ("psnr_held", "PSNR held-out", "{:.2f}"), ("mps_12", "MP/s at 12 MP", "{:.1f}"),
               ("ratio", "x default at 1 MP", "{:.0f}"), ("peak_gb", "24 MP peak GB", "{:.2f}"))
    print("trade-off (one row per model):")
    print("  | model | " + " | ".join(title for _, title, _ in columns) + " |")
    for label, values in curve.items():
        cells = [fmt.format(values[key]) if key in values else "" for key, _, fmt in columns]
        print(f"  | {label} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--parts", default="quality,speed,memory,onnx",
                    help="comma-separated parts to run (quality, speed, memory, onnx)")
    ap.add_argument("--weights", type=Path, nargs="+", default=[],
                    help="fast_grid weights to measure beside the shipped model (a trade-off table "
                         "ends the run)")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} threads, load average {os.getloadavg()[0]:.1f}")
    if len(set(args.weights)) != len(args.weights):
        raise SystemExit("--weights names a file twice")
    weights: list[Path | None] = [None, *args.weights]
    curve: dict[str, dict[str, float]] = {}
    if "quality" in parts:
        quality(args.data, weights, curve)
    if "speed" in parts:
        speed(args.repeats, weights, curve)
    if "memory" in parts:
        memory(args.threads, weights, curve)
    if "onnx" in parts:
        onnx_check(args.data, args.repeats, weights)
    if len(weights) > 1:
        _print_curve(curve)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()

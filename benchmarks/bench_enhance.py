"""Benchmark ``egan enhance``'s default path against a plain eager fp32 forward.

Not a test. Run ``python benchmarks/bench_enhance.py`` (add ``--big`` for the 24 MP tiled
run, which takes a while on a small CPU). The two paths are timed alternately in one
process (so a busy machine slows both alike); each peak memory is measured in a fresh
process of its own (peak RSS includes the ~0.5 GB of torch itself):

- ``eager fp32``: ``attention_unet`` (width 32) in eval mode under ``torch.no_grad``,
  NCHW, fp32: the obvious way to run the model.
- ``egan default``: ``egan_core.load_enhancer(checkpoint=..)`` with every default
  (precision auto, channels_last, inference mode, automatic tiling) on an HxWx3 uint8
  array, conversions included. On the CPU that runs attention_unet's inference-only form
  (BatchNorms folded into the convolutions, LeakyReLU fused into them, oneDNN-packed
  weights, bf16 where the probe allows it; small operations on one thread).
- ``--threads N``: torch intra-op threads for both paths (0 = torch's default).
- ``--big``: a 6000x4000 (24 MP) PNG through the ``egan enhance`` file path (read, tiles
  of 512, write); prints its peak RSS (target < 3 GB).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from _shared import dark_image, eager_fn, make_checkpoint


def _rss_mb() -> float:
    """Peak resident memory of this process in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _default_fn(checkpoint: str) -> Any:
    """egan's default path: ``load_enhancer`` with every default, on a uint8 array."""
    import egan_core

    return egan_core.load_enhancer(checkpoint=checkpoint)


def _speed(checkpoint: str, height: int, width: int, repeats: int,
           threads: int = 0) -> dict[str, Any]:
    """Both paths in one process, timed alternately so machine load hits both alike."""
    if threads:
        torch.set_num_threads(threads)
    image = dark_image(height, width)
    eager = eager_fn(checkpoint)
    start = time.perf_counter()
    default = _default_fn(checkpoint)
    load = time.perf_counter() - start
    eager(image), default(image)  # warm-up
    times: dict[str, list[float]] = {"eager": [], "default": []}
    for _ in range(repeats):
        for name, fn in (("eager", eager), ("default", default)):
            start = time.perf_counter()
            fn(image)
            times[name].append(time.perf_counter() - start)
    stage = default.stages[0]
    psnr = stage.probe_psnr if stage.probe_psnr is not None else float("nan")
    return {"eager": statistics.median(times["eager"]),
            "default": statistics.median(times["default"]),
            "pair_ratio": statistics.median(e / d for e, d in zip(times["eager"], times["default"],
                                                                   strict=True)),
            "load_s": load, "precision": f"{stage.precision} (probe PSNR {psnr:.1f} dB)"}


def _memory(which: str, checkpoint: str, height: int, width: int) -> dict[str, Any]:
    """Peak RSS of one path alone (fresh process, one warm-up and one timed image)."""
    fn = eager_fn(checkpoint) if which == "eager" else _default_fn(checkpoint)
    image = dark_image(height, width)
    fn(image)
    fn(image)
    return {"rss_mb": _rss_mb()}


def _big(checkpoint: str, folder: str) -> dict[str, Any]:
    import egan_core
    from egan_core.enhance.files import plan_jobs
    from egan_core.enhance.runner import run_jobs

    enhancer = egan_core.load_enhancer(checkpoint=checkpoint)
    plan = plan_jobs([str(Path(folder) / "big.png")], Path(folder) / "out", overwrite=True)
    start = time.perf_counter()
    report = run_jobs(enhancer, plan.jobs)
    assert not report.failed, report.failed
    return {"seconds": time.perf_counter() - start, "rss_mb": _rss_mb(),
            "precision": enhancer.stages[0].precision}


def _child(queue: Any, fn: Any, args: tuple[Any, ...]) -> None:
    queue.put(fn(*args))


def _isolated(fn: Any, *args: Any) -> dict[str, Any]:
    """Run ``fn(*args)`` in a fresh process; return its result dict."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, fn, args))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    """Run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--big", action="store_true", help="also the 24 MP tiled run")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    height, width = 480, 640
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = str(Path(tmp) / "bench.pt")
        make_checkpoint(Path(ckpt))
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
              f"cuda: {torch.cuda.is_available()}; image {width}x{height}, "
              f"median of {args.repeats}")
        speed = _isolated(_speed, ckpt, height, width, args.repeats, args.threads)
        for name, key in (("eager fp32", "eager"), ("egan default", "default")):
            rss = _isolated(_memory, key, ckpt, height, width)["rss_mb"]
            what = "fp32, NCHW, no_grad" if key == "eager" else speed["precision"]
            print(f"{name:>13}: {speed[key] * 1000:8.1f} ms/image  peak RSS {rss:6.0f} MiB  {what}")
        print(f"{'load + probe':>13}: {speed['load_s']:8.2f} s (once per process)")
        print(f"{'speed-up':>13}: {speed['eager'] / speed['default']:8.2f}x of medians, "
              f"{speed['pair_ratio']:.2f}x median per pair (target >= 3.5x)")
        if args.big:
            from PIL import Image

            Image.fromarray(dark_image(4000, 6000)).save(Path(tmp) / "big.png", compress_level=1)
            big = _isolated(_big, ckpt, tmp)
            print(f"{'24 MP tiled':>13}: {big['seconds']:8.1f} s  peak RSS {big['rss_mb']:7.0f} MiB"
                  f"  {big['precision']} (target < 3072 MiB)")


if __name__ == "__main__":
    main()

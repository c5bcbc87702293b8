"""Benchmark every way ``egan enhance`` can run a generator, against plain eager fp32.

Not a test. Run ``python benchmarks/bench_enhance.py`` (``--compile`` adds torch.compile,
``--big`` the 24 MP tiled run, which takes a while on a small CPU). All paths are timed
alternately in one process (so a busy machine slows all alike) on a 640x480 image; each
peak memory is measured in a fresh process of its own (peak RSS includes the ~0.5 GB of
torch itself). Printed for the machine it runs on, as ratios to plain eager fp32:

- ``eager:fp32``: ``attention_unet`` (width 32) in eval mode, NCHW, fp32: the obvious way;
- ``channels_last:*``: the same module in channels_last (fp32; bf16 where native);
- ``fused:*``: attention_unet's inference-only form (BatchNorms folded into the
  convolutions, LeakyReLU fused into them, oneDNN weights packed per input shape);
- ``winograd:fp32``: the inference-only form with its 3x3 convolutions by Winograd's
  algorithm (NNPACK's AVX2 kernels, :mod:`egan_core.winograd`), NCHW;
- ``onnxruntime:fp32``: the model exported to ONNX in memory, onnxruntime's CPU provider;
- ``compile:fp32`` (``--compile``): ``torch.compile`` of the channels_last module;
- ``egan default``: ``egan_core.load_enhancer(checkpoint=..)`` with every default on an
  HxWx3 uint8 array, conversions included: whatever ``auto`` chose on this machine (its
  choice and reason are printed). ``--threads N`` sets torch's intra-op threads.
- ``--big``: a 6000x4000 (24 MP) PNG through the ``egan enhance`` file path (read, tiles
  of 512, write); prints its peak RSS (target < 3 GB).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
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


def _paths(checkpoint: str, height: int, width: int, repeats: int, threads: int = 0,
           compile_too: bool = False) -> dict[str, Any]:
    """Every candidate path of the runtime, timed alternately at ``height`` x ``width``.

    Each is a ratio to plain eager fp32 in the same run; ``egan default`` is the whole
    ``load_enhancer()`` path (uint8 in and out) with what ``auto`` chose on this machine.
    """
    from egan_core.enhance.forward_paths import build_backend as _build
    from egan_core.enhance.forward_paths import candidates
    from egan_core.hardware import native_bf16
    from egan_core.metrics.psnr import psnr01 as psnr
    from egan_core.model_loading import load_generator

    if threads:
        torch.set_num_threads(threads)
    cpu = torch.device("cpu")
    model = load_generator(checkpoint).eval().requires_grad_(False)
    pairs = candidates("auto", "auto", cpu)
    if compile_too:
        pairs.append(("compile", "fp32"))
    image = dark_image(height, width)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    fns: dict[str, Any] = {}
    build_s: dict[str, float] = {}
    for backend, precision in pairs:
        start = time.perf_counter()
        fn = _build(model, backend, precision, cpu)
        if fn is None:
            continue
        with torch.inference_mode():
            fn(x)  # warm-up (and, for compile, the compilation)
        build_s[f"{backend}:{precision}"] = time.perf_counter() - start
        fns[f"{backend}:{precision}"] = fn
    start = time.perf_counter()
    default = _default_fn(checkpoint)
    load = time.perf_counter() - start
    default(image)
    times: dict[str, list[float]] = {name: [] for name in [*fns, "egan default"]}
    outputs: dict[str, torch.Tensor] = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            with torch.inference_mode():
                outputs[name] = fn(x)
            times[name].append(time.perf_counter() - start)
        start = time.perf_counter()
        default(image)
        times["egan default"].append(time.perf_counter() - start)
    ref = outputs["eager:fp32"].clamp(0, 1)
    stage = default.stages[0]
    return {"median": {k: statistics.median(v) for k, v in times.items()},
            "psnr": {k: psnr(ref, o.clamp(0, 1)) for k, o in outputs.items()},
            "build_s": build_s, "load_s": load, "chosen": f"{stage.backend}:{stage.precision}",
            "reason": stage.reason, "bf16": native_bf16(cpu)[1]}


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
    parser.add_argument("--compile", action="store_true",
                        help="also time torch.compile (fp32; compiling takes tens of seconds)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    height, width = 480, 640
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = str(Path(tmp) / "bench.pt")
        make_checkpoint(Path(ckpt))
        from egan_core.hardware import cpu_features

        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, cpu: {cpu_features().model}"
              f" ({torch.backends.cpu.get_cpu_capability()}); image {width}x{height}, "
              f"median of {args.repeats}")
        res = _isolated(_paths, ckpt, height, width, args.repeats, args.threads, args.compile)
        med, eager = res["median"], res["median"]["eager:fp32"]
        print(f"bf16: {res['bf16']}")
        print("| path | ms/image | x eager fp32 | PSNR vs eager (dB) | build + first call (s) |")
        print("|---|---:|---:|---:|---:|")
        for name, sec in sorted(med.items(), key=lambda kv: kv[1]):
            quality = res["psnr"].get(name)
            q = "-" if quality is None else ("exact" if quality == float("inf") else f"{quality:.1f}")
            build = res["build_s"].get(name)
            print(f"| {name} | {sec * 1000:.1f} | {eager / sec:.2f} | {q} | "
                  f"{'-' if build is None else f'{build:.2f}'} |")
        if os.environ.get("ONEDNN_MAX_CPU_ISA") and "onnxruntime:fp32" in med:
            print("note: ONEDNN_MAX_CPU_ISA caps oneDNN and ATen only; onnxruntime's own kernels still"
                  " use the CPU's full instruction set")
        print(f"auto chose {res['chosen']} ({res['reason']}); load + probe {res['load_s']:.2f} s"
              " (once per machine and model: cached)")
        print(f"egan default (uint8 in/out, auto) vs eager fp32: {eager / med['egan default']:.2f}x "
              "(targets: >= 1.5x without native bf16, >= 3.5x with AMX)")
        for name, key in (("eager fp32", "eager"), ("egan default", "default")):
            rss = _isolated(_memory, key, ckpt, height, width)["rss_mb"]
            print(f"{name:>13}: peak RSS {rss:6.0f} MiB")
        if args.big:
            from PIL import Image

            Image.fromarray(dark_image(4000, 6000)).save(Path(tmp) / "big.png", compress_level=1)
            big = _isolated(_big, ckpt, tmp)
            print(f"{'24 MP tiled':>13}: {big['seconds']:8.1f} s  peak RSS {big['rss_mb']:7.0f} MiB"
                  f"  {big['precision']} (target < 3072 MiB)")


if __name__ == "__main__":
    main()

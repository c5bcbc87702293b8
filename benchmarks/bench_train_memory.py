"""Peak memory of one EnlightenGAN training iteration at common crop sizes.

Not a test. Run ``python benchmarks/bench_train_memory.py`` (defaults: sizes 256 320 512,
batches 1 2, fp32 and bf16, on the CPU and on CUDA when available); it prints a markdown
table. Each configuration runs in a fresh process, so its peak is its own.

What runs is the trainer's own iteration (the ``enlightengan`` method's ``gan_step`` on parts
from ``build_parts``): ``attention_unet`` at full width (base_channels 32), G forward and
backward with the global and local adversarial terms and the ``relu5_1`` self feature
preserving loss, G step, global D step, local D step (5 extra 32 px patches), Adam on all
three, precision as ``train.precision`` (bf16 = autocast). The VGG16 has random weights
(``vgg.weights: none``: the same memory as ImageNet's, no download). Random tensors stand
in for the data, so data loading is not counted. Adam's state is created before measuring
(a step on zero gradients, which leaves the weights as they are), so the ``--steps``
measured iterations (default 1) already carry it, as every iteration of a run but the
first does. The CPU allocator keeps and fragments freed memory, so the peak over
several iterations is higher than over one; ``--steps 3`` or more shows by how much.

Columns:
- ``peak``: the process's peak memory: on the CPU the peak resident set
  (``resource.getrusage(...).ru_maxrss``, which, unlike tracemalloc, sees torch's own
  allocations), on CUDA ``torch.cuda.max_memory_allocated`` (tensors only; the caching
  allocator reserves somewhat more, and the CUDA context takes a few hundred MiB).
- ``step``: the peak minus the same figure after the models were built, i.e. what the
  iterations themselves need (activations, gradients, Adam state).
- ``s/iter``: wall time of the last iteration (a rough figure, not a speed benchmark).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time
from typing import Any


def _rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux: KiB, macOS: bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _recipe(size: int, batch: int, precision: str) -> dict[str, Any]:
    """The paper's model and losses at full width; the dataset is only named, never read."""
    return {
        "name": "bench_train_memory",
        "seed": 0,
        "data": {"dataset": "synthetic", "size": size, "batch_size": batch, "workers": 0},
        "model": {
            "generator": {"name": "attention_unet", "base_channels": 32},
            "discriminator": {"name": "global_local", "patches": 5, "patch_size": 32},
        },
        "adversarial": {"global": "ralsgan", "local": "lsgan"},
        "losses": {"relu5_1": {"weight": 1.0}},
        "vgg": {"weights": "none"},
        "train": {"precision": precision},
    }


def measure(size: int, batch: int, precision: str, device_name: str, steps: int) -> dict[str, Any]:
    """Build the parts, run ``steps`` iterations, return the peaks (MiB) and the last time."""
    import warnings

    import torch

    from egan_core.plugins import get_registries
    from egan_core.recipe import load_recipe
    from egan_core.training.build import build_parts
    from egan_core.training.method import StepContext
    from egan_plugins.methods.enlightengan import gan_step

    warnings.filterwarnings("ignore", message="vgg.weights: none")
    device = torch.device(device_name)
    recipe = load_recipe(_recipe(size, batch, precision))
    parts = build_parts(recipe, get_registries(), device)
    dtype = {"bf16": torch.bfloat16, "fp32": None}[precision]

    def autocast() -> contextlib.AbstractContextManager[None]:
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=dtype)

    def backward(loss: torch.Tensor, name: str) -> None:
        loss.backward()
        parts.optimizers[name].step()
        parts.optimizers[name].zero_grad(set_to_none=True)

    for opt in parts.optimizers.values():  # Adam state now: zero grads move nothing
        for group in opt.param_groups:
            for p in group["params"]:
                p.grad = torch.zeros_like(p)
        opt.step()
        opt.zero_grad(set_to_none=True)
    gen = torch.Generator().manual_seed(0)
    batch_t = {k: (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device)
               for k in ("low", "input", "normal")}
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        built = torch.cuda.memory_allocated() / 2**20  # weights and inputs
        torch.cuda.reset_peak_memory_stats()
    else:
        built = _rss_mib()
    elapsed = 0.0
    for step in range(1, steps + 1):
        start = time.perf_counter()
        gan_step(parts, batch_t, StepContext(step, torch.Generator().manual_seed(step), autocast, backward))
        if cuda:
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
    if cuda:
        peak = torch.cuda.max_memory_allocated() / 2**20  # never below ``built``
        delta = peak - built
    else:
        peak = _rss_mib()
        delta = peak - built
    return {"size": size, "batch": batch, "precision": precision, "device": device_name,
            "peak_mib": round(peak), "step_mib": round(delta), "s_per_iter": round(elapsed, 2)}


def _run_fresh(size: int, batch: int, precision: str, device: str, steps: int,
               timeout: float) -> dict[str, Any]:
    """:func:`measure` in a fresh interpreter (so ru_maxrss and CUDA peaks are its own)."""
    cmd = [sys.executable, __file__, "--worker", "--sizes", str(size), "--batches", str(batch),
           "--precisions", precision, "--devices", device, "--steps", str(steps)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"size": size, "batch": batch, "precision": precision, "device": device,
                "error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"size": size, "batch": batch, "precision": precision, "device": device,
                "error": last[:120]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| device | precision | crop | batch | peak (MiB) | step (MiB) | s/iter |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['device']} | {r['precision']} | {r['size']} | {r['batch']} | "
                         f"{r['error']} | | |")
        else:
            lines.append(f"| {r['device']} | {r['precision']} | {r['size']} | {r['batch']} | "
                         f"{r['peak_mib']} | {r['step_mib']} | {r['s_per_iter']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run every configuration in its own process, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 320, 512])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--precisions", nargs="+", choices=["fp32", "bf16"], default=["fp32", "bf16"])
    parser.add_argument("--devices", nargs="+", choices=["cpu", "cuda"], default=None,
                        help="default: cpu, plus cuda when available")
    parser.add_argument("--steps", type=int, default=1, help="iterations measured per configuration")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per configuration")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = measure(args.sizes[0], args.batches[0], args.precisions[0], args.devices[0],
                         args.steps)
        print(json.dumps(result))
        return 0
    devices = args.devices
    if devices is None:
        import torch

        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        for precision in args.precisions:
            for size in args.sizes:
                for batch in args.batches:
                    row = _run_fresh(size, batch, precision, device, args.steps, args.timeout)
                    print(json.dumps(row), file=sys.stderr, flush=True)
                    rows.append(row)
    print(_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

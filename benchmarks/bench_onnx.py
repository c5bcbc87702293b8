"""Benchmark an ``egan export`` ONNX file in onnxruntime against egan's own default path.

Not a test; needs ``egan[onnx]``. Run ``python benchmarks/bench_onnx.py``. In one process:

1. a full-width (``base_channels=32``) randomly initialised ``attention_unet`` (BatchNorm
   statistics calibrated on a dark image, so its output is not the identity) is saved as
   an egan checkpoint and exported with ``egan_core.export.export_model`` (dynamic shapes,
   verified against PyTorch);
2. per-image time at 640x480 (HxWx3 uint8 in and out, conversions included) of
   - ``onnxruntime``: the exported file, CPU execution provider, default session options;
   - ``egan default``: ``egan_core.load_enhancer("gan", checkpoint=..., precision="auto")``;
   - ``eager fp32``: the generator under ``torch.no_grad`` (for reference),
   timed alternately (median of ``--repeats``), so machine load hits all alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from _shared import dark_image, eager_fn, make_checkpoint

Fn = Callable[[np.ndarray], np.ndarray]


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def _onnx_fn(path: Path) -> Fn:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(image: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32) / 255
        out = session.run(None, {"image": x})[0]
        return _to_uint8(out[0].transpose(1, 2, 0))

    return run


def main() -> None:
    """Export, then time the three paths and print times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    import egan_core
    from egan_core.export import export_model

    image = dark_image(args.height, args.width)
    with tempfile.TemporaryDirectory() as folder:
        ckpt, onnx_file = Path(folder) / "bench.pt", Path(folder) / "bench.onnx"
        make_checkpoint(ckpt)
        start = time.perf_counter()
        report = export_model(ckpt, None, "onnx", onnx_file)
        export_s = time.perf_counter() - start
        paths: dict[str, Fn] = {
            "onnxruntime": _onnx_fn(onnx_file),
            "egan default": egan_core.load_enhancer("gan", checkpoint=str(ckpt), precision="auto"),
            "eager fp32": eager_fn(ckpt),
        }
        outputs = {name: fn(image) for name, fn in paths.items()}  # warm-up (and auto decision)
        times: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.repeats):
            for name, fn in paths.items():
                start = time.perf_counter()
                fn(image)
                times[name].append(time.perf_counter() - start)

    stage = paths["egan default"].stages[0]
    precision = getattr(stage, "precision", "?")
    diff = np.abs(outputs["onnxruntime"].astype(int) - outputs["eager fp32"].astype(int)).max()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"onnxruntime {__import__('onnxruntime').__version__}")
    print(f"generator: attention_unet base_channels=32 (random, calibrated BatchNorm); "
          f"image {args.width}x{args.height}; median of {args.repeats}")
    print(f"export: {export_s:.1f} s, verified {report.psnr:.1f} dB PSNR vs PyTorch fp32; "
          f"max |onnx - eager| on the 8-bit output: {diff}")
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, seconds in medians.items():
        extra = f" (precision {precision})" if name == "egan default" else ""
        print(f"  {name:13s} {seconds * 1000:8.1f} ms/image{extra}")
    ratio = medians["egan default"] / medians["onnxruntime"]
    print(f"onnxruntime vs egan default: {ratio:.2f}x "
          f"({'faster' if ratio > 1 else 'slower'}); vs eager fp32: "
          f"{medians['eager fp32'] / medians['onnxruntime']:.2f}x")


if __name__ == "__main__":
    main()

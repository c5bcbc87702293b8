"""What PairLIE costs per megapixel next to the default EnlightenGAN generator, on this machine.

Not a test (pytest collects ``tests/`` only). Run ``python benchmarks/bench_pairlie.py
[--weights PairLIE.pth]``. Both models go through egan's enhancement path
(``egan_core.load_enhancer``, HxWx3 uint8 in and out, conversions included), each in plain
fp32 (``precision="fp32", backend="eager"``) and on the ``auto`` path (whatever it chose
here), timed alternately in one process (so a busy machine slows all alike) on one dark test
image (``--megapixels``, default 1 MP: one whole frame, no tiling):

- ``gan``: the shipped default model (``load_enhancer()``);
- ``pairlie``: the official ``PairLIE.pth`` when ``--weights`` names it, otherwise random
  weights in its layout (the time does not depend on the values).

Prints the median ms per megapixel, MP/s and the cost ratio PairLIE / gan for each path.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

import torch
from _shared import add_timing_arguments, chosen_path, cpu_name, dark_image_of, time_alternately


def _random_pairlie(folder: Path) -> Path:
    """A PairLIE state dict in the official layout (what ``--checkpoint`` takes), random values."""
    from egan_plugins.networks.pairlie import PairLIE

    model = PairLIE(seed=0)
    official = {"denoise": "N_net", "illumination": "L_net", "reflectance": "R_net"}
    sd = {}
    for key, value in model.state_dict().items():
        sub, _, k, what = key.split(".")
        sd[f"{official[sub]}.{official[sub]}.{3 * int(k) + 1}.{what}"] = value
    path = folder / "PairLIE.pth"
    torch.save(sd, path)
    return path


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="the official PairLIE.pth (else random weights)")
    add_timing_arguments(parser)
    args = parser.parse_args()
    import egan_core

    if args.threads:
        torch.set_num_threads(args.threads)
    image, mp = dark_image_of(args.megapixels)
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or str(_random_pairlie(Path(tmp)))
        specs: dict[str, dict[str, Any]] = {"gan": {}, "pairlie": {"checkpoint": weights}}
        fns: dict[tuple[str, str], Any] = {}
        chosen: dict[str, str] = {}
        for name, spec in specs.items():
            for path in ("fp32", "auto"):
                extra = {"precision": "fp32", "backend": "eager"} if path == "fp32" else {}
                fn = egan_core.load_enhancer("gan", device="cpu", **spec, **extra)
                fn(image)  # warm-up (and auto's measurement)
                fns[(name, path)] = fn
                if path == "auto" and chosen_path(fn):
                    chosen[name] = chosen_path(fn)
        times = time_alternately(fns, image, args.repeats)
    print(f"CPU: {cpu_name()}, torch threads {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"image {image.shape[1]}x{image.shape[0]} ({mp:.2f} MP), median of {args.repeats},"
          f" timed alternately; "
          f"pairlie weights: {'official' if args.weights else 'random'}")
    print("| model | path | ms/MP | MP/s |")
    print("|---|---|---:|---:|")
    median = {key: statistics.median(values) for key, values in times.items()}
    for (name, path), sec in median.items():
        label = f"auto ({chosen[name]})" if path == "auto" and name in chosen else path
        print(f"| {name} | {label} | {sec / mp * 1000:.0f} | {mp / sec:.2f} |")
    for path in ("fp32", "auto"):
        ratio = median[("pairlie", path)] / median[("gan", path)]
        print(f"{path}: pairlie costs {ratio:.2f}x the default gan per megapixel")


if __name__ == "__main__":
    main()

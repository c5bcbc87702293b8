"""Time every shipped model per megapixel on this machine, with NIQE beside it, to choose one.

Not a test. Run ``python benchmarks/bench_zoo.py [--weights-dir DIR]``. In one process, all
models are timed alternately (so a busy machine slows all alike) on one dark test image
(``--megapixels``, default 1 MP), each both in plain fp32 (``precision="fp32",
backend="eager"``) and on the ``auto`` path (``load_enhancer``'s defaults: whatever it chose
here), uint8 in and out, conversions included:

- ``gan``: the default EnlightenGAN (``load_enhancer()``);
- ``zero_dce``, ``zero_dce_pp`` (at scale factor 12), ``sci``: the zoo architectures, with the
  official weights when ``--weights-dir`` holds them (searched recursively: Zero-DCE and
  Zero-DCE++ ``Epoch99.pth``, told apart by their keys; SCI ``medium.pt``), otherwise randomly
  initialised (timing does not depend on the weights; NIQE then means nothing and is left out);
- ``fast``: the distilled model, if registered as an enhancer;
- ``clahe``: OpenCV-style CLAHE (no network; one path).

Prints the median ms per megapixel, MP/s and the speed ratio to the default model (fp32
to fp32, auto to auto), and the mean NIQE (lower is better) and brightness of the ``auto``
outputs on the first ``--niqe-images`` photos of ``teacher_pairs/low`` (:data:`NIQE_DIR`, or
``--niqe-dir``), downscaled to ``--niqe-max-side`` as in no-reference validation; skipped
with a note when the folder is absent.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _shared import add_timing_arguments, chosen_path, cpu_name, dark_image_of, time_alternately

NIQE_DIR = "../shared/data/teacher_pairs/low"  # beside the checkout; --niqe-dir elsewhere


def _find_weights(folder: str | None) -> dict[str, Path]:
    """Official weight files under ``folder``, by generator name (architecture read from keys)."""
    from egan_core.model_loading import load_generator

    found: dict[str, Path] = {}
    if not folder:
        return found
    for path in sorted(Path(folder).rglob("*")):
        if path.suffix not in (".pth", ".pt") or (path.suffix == ".pt" and path.name != "medium.pt"):
            continue
        try:
            model = load_generator(path)
        except Exception:  # noqa: BLE001 - any file that is not one of the zoo's weights
            continue
        name = {"ZeroDCE": "zero_dce", "ZeroDCEPlusPlus": "zero_dce_pp", "SCI": "sci"}.get(
            type(model).__name__)
        if name and name not in found:
            found[name] = path
    return found


def _random_checkpoint(name: str, folder: Path) -> Path:
    """A randomly initialised zoo generator saved as an egan checkpoint."""
    from egan_core.checkpoint import save_checkpoint
    from egan_plugins.networks.sci import SCI
    from egan_plugins.networks.zero_dce import ZeroDCE
    from egan_plugins.networks.zero_dce_pp import ZeroDCEPlusPlus

    kwargs: dict[str, Any] = {"zero_dce": {"channels": 32}, "zero_dce_pp": {"scale_factor": 12},
                              "sci": {"stages": 3, "calibrate": False}}[name]
    cls = {"zero_dce": ZeroDCE, "zero_dce_pp": ZeroDCEPlusPlus, "sci": SCI}[name]
    model = cls(**kwargs)
    path = folder / f"{name}.pt"
    save_checkpoint(path, {"generator": {"name": name, "kwargs": kwargs, "state_dict": model.state_dict()}})
    return path


def _models(weights_dir: str | None, tmp: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """name -> {path: load_enhancer kwargs} and name -> where its weights came from."""
    from egan_core.plugins import get_registries

    found = _find_weights(weights_dir)
    models: dict[str, dict[str, Any]] = {"gan": {"name": "gan"}}
    source = {"gan": "shipped default"}
    for name in ("zero_dce", "zero_dce_pp", "sci"):
        path = found.get(name) or _random_checkpoint(name, tmp)
        models[name] = {"name": "gan", "checkpoint": str(path)}
        source[name] = f"official ({path.name})" if name in found else "random init"
    if "fast" in get_registries().enhancers.names():
        models["fast"] = {"name": "fast"}
        source["fast"] = "shipped"
    models["clahe"] = {"name": "clahe"}
    source["clahe"] = "no weights"
    return models, source


def _build(spec: dict[str, Any], path: str) -> Any:
    import egan_core

    spec = dict(spec)
    name = spec.pop("name")
    if name == "clahe":
        return egan_core.load_enhancer("clahe") if path == "auto" else None
    if path == "fp32":
        spec.update(precision="fp32", backend="eager")
    return egan_core.load_enhancer(name, **spec)


def _niqe(enhancer: Any, folder: str, images: int, max_side: int) -> tuple[float, float] | None:
    from egan_core.metrics.niqe import niqe
    from egan_plugins.data.noref import NoRefDataset

    dataset = NoRefDataset(root=folder, images=images, max_side=max_side, grid=0)
    scores, light = [], []
    for i in range(len(dataset)):
        image = (dataset.image(i).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        out = np.asarray(enhancer(image))
        light.append(float(out.mean()) / 255)
        try:
            scores.append(niqe(out))
        except Exception:  # noqa: BLE001 - a flat output cannot be scored
            pass
    return (statistics.mean(scores) if scores else float("nan"), statistics.mean(light))


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights-dir", default=None, help="folder holding the official zoo weights")
    add_timing_arguments(parser)
    parser.add_argument("--niqe-dir", default=NIQE_DIR)
    parser.add_argument("--niqe-images", type=int, default=8)
    parser.add_argument("--niqe-max-side", type=int, default=256)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    image, mp = dark_image_of(args.megapixels)
    with tempfile.TemporaryDirectory() as tmp:
        models, source = _models(args.weights_dir, Path(tmp))
        fns: dict[tuple[str, str], Any] = {}
        chosen: dict[str, str] = {}
        for name, spec in models.items():
            for path in ("fp32", "auto"):
                fn = _build(spec, path)
                if fn is None:
                    continue
                fn(image)  # warm-up (and auto's measurement)
                fns[(name, path)] = fn
                if path == "auto" and chosen_path(fn):
                    chosen[name] = chosen_path(fn)
        times = time_alternately(fns, image, args.repeats)
        quality: dict[str, tuple[float, float] | None] = {}
        have_niqe = Path(args.niqe_dir).is_dir()
        if have_niqe:
            for name in models:
                if source[name] == "random init":
                    quality[name] = None
                    continue
                quality[name] = _niqe(fns[(name, "auto")], args.niqe_dir, args.niqe_images,
                                      args.niqe_max_side)
    print(f"CPU: {cpu_name()}, torch threads {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"image {image.shape[1]}x{image.shape[0]} ({mp:.2f} MP), median of {args.repeats},"
          f" all timed alternately")
    base = {p: statistics.median(times[("gan", p)]) for p in ("fp32", "auto")}
    head = "| model | weights | path | ms/MP | MP/s | speed vs gan | NIQE | brightness |"
    print(head)
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for (name, path), values in times.items():
        sec = statistics.median(values)
        ratio = base[path] / sec
        label = (f"auto ({chosen[name]})" if name in chosen else "auto") if path == "auto" else "fp32 eager"
        q = quality.get(name) if path == "auto" else None
        niqe_text = f"{q[0]:.3f}" if q else ""
        light_text = f"{q[1]:.3f}" if q else ""
        print(f"| {name} | {source[name]} | {label} | {sec / mp * 1000:.0f} | {mp / sec:.2f} "
              f"| {ratio:.2f}x | {niqe_text} | {light_text} |")
    if have_niqe:
        print(f"NIQE/brightness: mean over the first {args.niqe_images} photos of {args.niqe_dir}"
              f" (sorted), downscaled to max side {args.niqe_max_side}; auto path; lower NIQE is better;"
              " none for randomly initialised weights")
    else:
        print(f"NIQE skipped: {args.niqe_dir} not found")


if __name__ == "__main__":
    main()

"""Training-iteration throughput: every precision and layout, against a plain eager fp32 step.

One EnlightenGAN iteration at 256 px, batch 2, relu5_1 (G forward, G step, global D step,
local D step with 1 + 5 patches). Several implementations of the same step, on the same
initial weights and batch, timed interleaved in one run so machine noise hits all alike:

- ``plain``: eager fp32 written the straightforward way (as the original code does it):
  separate VGG calls for the enhanced and low images and for each patch, each running the
  VGG through conv5_3 whatever tap the loss reads (the original ``Vgg16.forward`` computes
  relu5_2 and conv5_3 before choosing ``relu5_1``), one local-D call per patch, D(real)
  recomputed in the D step, gradients flowing into D during G's backward, and the
  original's optimizer (``torch.optim.Adam`` with its per-parameter loop);
- ``egan fp32``, ``egan fp32+channels_last``: egan's step (batched patches, the low
  image's VGG features computed without a graph, D frozen for G, one D(real));
- ``egan bf16``, ``egan bf16+channels_last``: the same with bf16 autocast; only where the
  CPU computes bf16 natively (``--all`` times them anyway: emulated bf16 is ~10x slower);
- ``egan fp32+winograd``: fp32 with the generator's and the VGG's 3x3 convolutions by
  Winograd's algorithm (NNPACK, :mod:`egan_core.winograd`), where PyTorch has NNPACK;
- ``auto``: what ``train.precision: auto`` / ``channels_last: auto`` resolve to here (the
  same probe ``egan run`` uses), named in the last lines.

egan's paths use the optimizers ``build_parts`` makes (fused Adam on CPU/CUDA); all paths
use the same VGG module (weights prepared once in the computing dtype and layout, a gain
the ratios do not count).

Prints images/s, the ratios against ``plain``, the CPU, and the relative loss difference of
the bf16 paths (bf16 must keep losses within tolerance). Run:
``python benchmarks/bench_train.py`` (``--threads N`` sets torch's intra-op threads).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import resource
import statistics
import time

import torch

from egan_core import get_registries, load_recipe
from egan_core.generator_io import attention_map
from egan_core.hardware import cpu_features, native_bf16
from egan_core.training.build import build_parts
from egan_core.training.method import StepContext
from egan_core.training.precision import probe_size, resolve_precision
from egan_core.training.step import Parts, losses_objective
from egan_core.winograd import available as winograd_available
from egan_core.winograd import enabled as winograd_enabled
from egan_core.winograd import use_winograd
from egan_plugins.losses.feature import normalised_mse
from egan_plugins.methods.enlightengan import gan_step

RECIPE = {
    "name": "bench",
    "data": {"dataset": "synthetic", "size": 256, "batch_size": 2},
    "model": {"generator": {"name": "attention_unet"},
              "discriminator": {"name": "global_local", "patches": 5, "patch_size": 32}},
    "losses": {"relu5_1": {"weight": 1.0}},
    "vgg": {"weights": "none"},
}


#: What the original ``Vgg16.forward`` computes for the paper's ``relu5_1`` loss: every layer
#: up to conv5_3 (relu5_1 is what the loss reads).
ORIGINAL_TAPS = ("relu5_1", "relu5_3")


def _original_optimizers(parts: Parts) -> dict[str, torch.optim.Optimizer]:
    """The original code's optimizers: ``torch.optim.Adam`` with its per-parameter loop."""
    out: dict[str, torch.optim.Optimizer] = {}
    for name, opt in parts.optimizers.items():
        group = opt.param_groups[0]
        out[name] = torch.optim.Adam(group["params"], lr=group["lr"], betas=group["betas"],
                                     foreach=False, fused=False)
    return out


def _plain_step(parts: Parts, batch: dict[str, torch.Tensor], gen: torch.Generator) -> dict[str, float]:
    """The step written plainly: per-patch calls, no batching, no shared forwards."""
    d, vgg_loss = parts.discriminator, parts.losses[0][1]
    opt = parts.optimizers
    low, inp, normal = batch["low"], batch["input"], batch["normal"]
    enhanced, latent = parts.generator(inp, attention_map(inp))
    coords = d.sample_patches(256, 256, gen)
    s = d.patch_size
    crops = [(enhanced[..., y:y + s, x:x + s], normal[..., y:y + s, x:x + s], low[..., y:y + s, x:x + s])
             for y, x in coords.tolist()]
    real, fake = d.global_d(normal), d.global_d(enhanced)
    g_global = 0.5 * (((real - fake.mean()) ** 2).mean() + ((fake - real.mean() - 1) ** 2).mean())
    g_local = sum(((d.local_d(f) - 1) ** 2).mean() for f, _, _ in crops) / len(crops)

    def feat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # the original's compute_vgg_loss: its VGG runs through conv5_3 for either image
        return normalised_mse(vgg_loss.vgg(a, ORIGINAL_TAPS)[0], vgg_loss.vgg(b, ORIGINAL_TAPS)[0])

    vgg = feat(enhanced, low) + sum(feat(f, lo) for f, _, lo in crops) / len(crops)
    g_total = g_global + g_local + vgg
    opt["generator"].zero_grad()
    g_total.backward()
    opt["generator"].step()
    real, fake = d.global_d(normal), d.global_d(enhanced.detach())
    d_global = 0.5 * (((real - fake.mean() - 1) ** 2).mean() + ((fake - real.mean()) ** 2).mean())
    opt["global_d"].zero_grad()
    d_global.backward()
    opt["global_d"].step()
    d_local = sum(0.5 * (((d.local_d(n) - 1) ** 2).mean() + (d.local_d(f.detach()) ** 2).mean())
                  for f, n, _ in crops) / len(crops)
    opt["local_d"].zero_grad()
    d_local.backward()
    opt["local_d"].step()
    return {"g_total": float(g_total.detach()), "d_global": float(d_global.detach()),
            "d_local": float(d_local.detach())}


def _egan_step(parts: Parts, batch: dict[str, torch.Tensor], gen: torch.Generator,
               amp: bool, winograd: bool = False) -> dict[str, float]:
    def backward(loss: torch.Tensor, name: str) -> None:
        loss.backward()
        parts.optimizers[name].step()
        parts.optimizers[name].zero_grad(set_to_none=True)

    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if amp else contextlib.nullcontext
    with winograd_enabled(winograd):
        losses = gan_step(parts, batch, StepContext(1, gen, autocast, backward))
    return {k: float(v) for k, v in losses.items()}


def _label(precision: str, channels_last: bool, winograd: bool) -> str:
    return f"{precision}{'+channels_last' if channels_last else ''}{'+winograd' if winograd else ''}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    ap.add_argument("--all", action="store_true", help="also time bf16 where it is emulated")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    recipe = load_recipe(RECIPE)
    base = build_parts(recipe, get_registries(), cpu)
    native, why = native_bf16(cpu)
    combos = [("fp32", False, False), ("fp32", True, False)]
    if winograd_available(cpu):
        combos.append(("fp32", False, True))
    if native or args.all:
        combos += [("bf16", False, False), ("bf16", True, False)]
    # as `egan run` resolves it: the run's batch and losses in the probe (this also puts
    # Winograd in its one-image-per-thread mode for batches, before its first convolution)
    choice = resolve_precision("auto", "auto", cpu, base.generator,
                               model_key='attention_unet:{"base_channels": 32}',
                               batch=recipe.data.batch_size, objective=losses_objective(base.losses),
                               probe_size=probe_size(RECIPE["data"]["size"]))
    names = ["plain"] + [f"egan {_label(*c)}" for c in combos]
    variants = {name: copy.deepcopy(base) for name in names}
    variants["plain"].optimizers = _original_optimizers(variants["plain"])
    settings = dict(zip(names[1:], combos, strict=True))
    for name, (_, cl, wg) in settings.items():
        if cl:
            for module in (variants[name].generator, variants[name].discriminator):
                module.to(memory_format=torch.channels_last)
        if wg:
            use_winograd(variants[name].generator)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 256, 256, generator=gen) * 2 - 1
    batch = {"low": x, "input": x * 0.5 - 0.5, "normal": torch.rand(2, 3, 256, 256, generator=gen) * 2 - 1}
    cl_batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}

    def run(name: str) -> tuple[float, dict[str, float]]:
        g = torch.Generator().manual_seed(1)
        t0 = time.perf_counter()
        if name == "plain":
            out = _plain_step(variants[name], batch, g)
        else:
            precision, cl, wg = settings[name]
            out = _egan_step(variants[name], cl_batch if cl else batch, g, amp=precision == "bf16",
                             winograd=wg)
        return time.perf_counter() - t0, out

    first = {name: run(name)[1] for name in variants}  # warm-up, also the loss check
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name in variants:
            times[name].append(run(name)[0])
    ips = {name: 2 / statistics.median(t) for name, t in times.items()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.rounds} rounds, "
          f"cpu: {cpu_features().model} ({torch.backends.cpu.get_cpu_capability()}); bf16: {why}")
    print("| path | images/s | x plain |")
    print("|---|---|---|")
    for name, v in ips.items():
        print(f"| {name} | {v:.3f} | {v / ips['plain']:.2f} |")
    ref = first["egan fp32"]
    for name in names:
        if "bf16" in name or "winograd" in name:
            worst = max(abs(first[name][k] - ref[k]) / max(abs(ref[k]), 1e-6)
                        for k in ("g_total", "d_global", "d_local"))
            print(f"{name}: first-iteration losses within {worst:.3%} of egan fp32")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (all paths)")
    auto = f"egan {_label(choice.precision, choice.channels_last, choice.winograd)}"
    if auto in ips:
        print(f"auto chose {auto} ({choice.reason}): {ips[auto] / ips['plain']:.2f}x plain "
              "(target >= 1.5x)")
    best = max(ips, key=lambda k: ips[k])
    print(f"fastest here: {best}, {ips[best] / ips['plain']:.2f}x plain")


if __name__ == "__main__":
    main()

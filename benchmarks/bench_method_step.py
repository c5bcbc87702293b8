"""The paper recipe's training step through the ``enlightengan`` method, against the step the
trainer ran itself before methods became plugins: no slower.

Not a test (pytest collects ``tests/`` only). Run ``python benchmarks/bench_method_step.py``
in a git checkout. The step of ``bench_train.py`` (one EnlightenGAN iteration at 256 px,
batch 2, relu5_1, egan fp32: G forward, G step, global D step, local D step with 1 + 5
patches) two ways, on the same initial weights and batch, timed interleaved in one run:

- ``before``: ``gan_step`` of ``egan_core/training/step.py`` at commit ``BEFORE`` (the last
  one whose trainer called it directly), read from git and run against today's engine
  modules (it imports only names that still exist);
- ``method``: what the trainer calls now: the recipe's method, built by
  ``build_method``, its ``step(parts, batch, StepContext(...))``.

Prints images/s for each, the ratio, the CPU, and whether both gave the same losses.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import torch
from bench_train import RECIPE  # the same step bench_train.py times

from egan_core import get_registries, load_recipe
from egan_core.hardware import cpu_features
from egan_core.training.build import build_parts
from egan_core.training.method import StepContext
from egan_core.training.trainer import build_method

BEFORE = "eb387fe7ee0d52eb2257aac2dcc0bc2671285dad"


def _before_step() -> types.FunctionType:
    source = subprocess.run(["git", "show", f"{BEFORE}:egan_core/training/step.py"], capture_output=True,
                            text=True, check=True, cwd=Path(__file__).resolve().parent).stdout
    module = types.ModuleType("step_before")
    sys.modules["step_before"] = module  # its dataclasses look their module up
    exec(compile(source, "step_before.py", "exec"), module.__dict__)  # noqa: S102 - our own history
    return module.gan_step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    recipe = load_recipe(RECIPE)
    cpu = torch.device("cpu")
    base = build_parts(recipe, get_registries(), cpu)
    parts = {"before": copy.deepcopy(base), "method": copy.deepcopy(base)}
    before, method = _before_step(), build_method(recipe, get_registries())
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 256, 256, generator=gen) * 2 - 1
    batch = {"low": x, "input": x * 0.5 - 0.5, "normal": torch.rand(2, 3, 256, 256, generator=gen) * 2 - 1}

    def backward_for(p: object) -> object:
        def backward(loss: torch.Tensor, name: str) -> None:
            loss.backward()
            p.optimizers[name].step()
            p.optimizers[name].zero_grad(set_to_none=True)
        return backward

    def run(name: str, step: int) -> tuple[float, dict[str, float]]:
        p, g = parts[name], torch.Generator().manual_seed(step)
        t0 = time.perf_counter()
        if name == "before":
            out = before(p, batch, step=step, patch_gen=g, autocast=contextlib.nullcontext,
                         backward=backward_for(p))
        else:
            out = method.step(p, batch, StepContext(step, g, contextlib.nullcontext, backward_for(p)))
        return time.perf_counter() - t0, {k: float(v) for k, v in out.items()}

    times: dict[str, list[float]] = {"before": [], "method": []}
    same = True
    for step in range(args.rounds + 1):
        results = {name: run(name, step + 1) for name in times}
        same = same and results["before"][1] == results["method"][1]
        if step:  # the first round warms up
            for name in times:
                times[name].append(results[name][0])
    ips = {name: 2 / statistics.median(t) for name, t in times.items()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.rounds} rounds,"
          f" cpu: {cpu_features().model} ({torch.backends.cpu.get_cpu_capability()})")
    print("| step | images/s |\n|---|---|")
    for name, value in ips.items():
        print(f"| {name} | {value:.3f} |")
    print(f"method / before: {ips['method'] / ips['before']:.3f}x; identical losses every round: {same}")


if __name__ == "__main__":
    main()

"""``train.precision``, ``train.channels_last`` and ``train.winograd``: ``auto`` resolved by
measurement.

bf16 autocast is several times faster than fp32 on a CPU with AMX or AVX512-BF16 and
about ten times slower on one without (PyTorch emulates it), channels_last helps some
CPUs and not others, and Winograd 3x3 convolutions (:mod:`egan_core.winograd`: fp32,
NCHW) beat oneDNN's direct ones where those already run near peak (AVX2-only CPUs).
``auto`` therefore never assumes: bf16 is a candidate only where it is native
(:func:`egan_core.autotune.bf16_support`), and a short timed probe (the generator's
forward, the run's generator-side losses and their backward on a small batch of the run's
batch size, each candidate timed alternately) picks the fastest, by the rule of
:data:`egan_core.autotune.TRAINING`. The result is cached per machine and model
(:mod:`egan_core.autotune`), and the run log and the first record of ``metrics.jsonl`` say
what was chosen and why.
"""

from __future__ import annotations

import contextlib
import copy
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from egan_core import autotune
from egan_core.generator_io import enhance_with
from egan_core.hardware import CpuFeatures, machine_key
from egan_core.recipe import Recipe, thaw
from egan_core.training.step import Parts, losses_objective
from egan_core.winograd import available as winograd_available
from egan_core.winograd import eligible as winograd_eligible
from egan_core.winograd import enabled as winograd_enabled
from egan_core.winograd import image_threads, thread_mode, use_winograd

#: The autocast dtype of each reduced precision (fp32 runs without autocast).
AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}
#: Side of the probe images where the run's crop size is unknown (whole images).
PROBE_SIZE = autotune.TRAINING.probe_size
#: The largest probe side: the run's crops up to this size (Winograd's gain sits in the
#: deep layers' maps, which a smaller probe shrinks below its threshold; the cap bounds the
#: probe's cost, paid once per machine and model: docs/benchmarks.md, *Training step*).
MAX_PROBE_SIZE = 256
#: The most images per probe step (two: what Winograd's image threads need to show).
PROBE_BATCH = 2
#: A candidate: (precision, channels_last, winograd).
Candidate = tuple[str, bool, bool]


def probe_batch(batch: int) -> int:
    """Images per probe step for a run of ``batch``: at most :data:`PROBE_BATCH`."""
    return max(1, min(batch, PROBE_BATCH))


def probe_size(crop: Any) -> int:
    """The probe's image side for a run whose dataset crops ``crop`` pixels (None: whole images)."""
    if isinstance(crop, int) and not isinstance(crop, bool) and crop >= 32:
        return min(crop, MAX_PROBE_SIZE)
    return PROBE_SIZE


@dataclass(frozen=True)
class PrecisionChoice:
    """What a run computes in: ``precision`` (fp32, bf16, fp16), ``channels_last``,
    ``winograd`` (3x3 convolutions of the generator and the feature losses' VGG by
    :mod:`egan_core.winograd`), and why."""

    precision: str
    channels_last: bool
    reason: str
    timings: dict[str, float] = field(default_factory=dict)
    winograd: bool = False

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return AUTOCAST.get(self.precision)

    def autocast(self, device: torch.device) -> Callable[[], contextlib.AbstractContextManager[Any]]:
        """A factory of the autocast context of this choice (``nullcontext`` for fp32)."""
        dtype = self.autocast_dtype
        if dtype is None:
            return contextlib.nullcontext
        return lambda: torch.autocast(device.type, dtype=dtype)

    def record(self) -> dict[str, Any]:
        """The fields the run's first metrics record carries."""
        out: dict[str, Any] = {"precision": self.precision, "channels_last": self.channels_last,
                               "winograd": self.winograd, "precision_reason": self.reason}
        if self.timings:
            out["precision_probe_s"] = {k: round(v, 4) for k, v in self.timings.items()}
        return out


def bf16_warning(device: torch.device, features: CpuFeatures | None = None) -> str | None:
    """The warning for ``train.precision: bf16`` where it is emulated, else None."""
    bf16 = autotune.bf16_support(device, features)
    if bf16.native:
        return None
    return (f"train.precision: bf16 but {bf16.why}: PyTorch emulates it, about 10x slower than fp32;"
            " use train.precision: auto")


#: ``objective(input, enhanced, aux)``: the probe's loss, the run's generator-side losses
#: (:func:`egan_core.training.step.losses_objective`; the feature losses' VGG follows the
#: Winograd switch too), added to the output's mean square.
Objective = Callable[[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]], torch.Tensor]


def _probe(generator: nn.Module, device: torch.device, candidates: list[Candidate],
           size: int, batch: int = 1, objective: Objective | None = None) -> dict[str, float]:
    """Seconds per forward + backward of ``generator`` (and ``objective``) per candidate."""
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    steps: dict[str, Callable[[], None]] = {}
    for precision, cl, wg in candidates:
        layout = torch.channels_last if cl else torch.contiguous_format
        model = copy.deepcopy(generator).to(device, memory_format=layout).train()
        if wg:
            use_winograd(model)
        steps[_name(precision, cl, wg)] = _train_step(model, x.contiguous(memory_format=layout), device,
                                                      AUTOCAST.get(precision), wg, objective)
    return autotune.timed_alternately(steps, rounds=3, sync=sync)


def _train_step(model: nn.Module, inp: torch.Tensor, device: torch.device,
                dtype: torch.dtype | None, winograd: bool = False,
                objective: Objective | None = None) -> Callable[[], None]:
    """One forward and backward of ``model`` under autocast to ``dtype`` (None: fp32), run
    as the trainer runs it (:func:`egan_core.generator_io.enhance_with`, any generator)."""

    def step() -> None:
        context = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
        with context, winograd_enabled(winograd):
            out, aux = enhance_with(model, inp, signed=True)
            loss = out.float().square().mean()
            if objective is not None:
                loss = loss + objective(inp, out, aux).float()
            loss.backward()
        model.zero_grad(set_to_none=True)

    return step


def _name(precision: str, channels_last: bool, winograd: bool = False) -> str:
    return f"{precision}{'+channels_last' if channels_last else ''}{'+winograd' if winograd else ''}"


def resolve_precision(precision: str, channels_last: bool | str, device: torch.device,
                      generator: nn.Module, model_key: str = "",
                      features: CpuFeatures | None = None, probe_size: int = PROBE_SIZE,
                      winograd: bool | str = "auto", batch: int = 1,
                      objective: Objective | None = None) -> PrecisionChoice:
    """Resolve ``train.precision`` / ``channels_last`` / ``winograd`` (any may be ``auto``) here.

    Args:
        precision: ``auto``, ``fp32``, ``bf16`` or ``fp16``.
        channels_last: True, False or ``"auto"``.
        device: where training runs.
        generator: the model the probe times (a copy is used).
        model_key: what identifies the model in the cache (its name and kwargs).
        features: the CPU's features (tests pass their own; default: this machine's).
        probe_size: side of the probe image.
        winograd: True, False or ``"auto"``: Winograd 3x3 convolutions, for fp32 in NCHW
            where :func:`egan_core.winograd.available` (True where it is not: ignored).
        batch: images per probe step (the run's batch size, capped at
            :data:`PROBE_BATCH`): Winograd runs the images of a batch side by side, so a
            batch of one would hide it.
        objective: the run's generator-side losses, timed with the generator (the feature
            losses' VGG is often as costly as the generator itself).
    """
    batch = probe_batch(batch)
    bf16 = autotune.bf16_support(device, features)
    ok, why = bf16.native, bf16.why
    precisions = [precision] if precision != "auto" else (["fp32", "bf16"] if ok else ["fp32"])
    layouts = [bool(channels_last)] if channels_last != "auto" else [False, True]
    wg_ok = (winograd is not False and winograd_available(device)
             and any(winograd_eligible(m) for m in generator.modules()))
    candidates: list[Candidate] = []
    for p in precisions:
        for cl in layouts:
            plain_fp32 = p == "fp32" and not cl
            if not (plain_fp32 and winograd is True and wg_ok):
                candidates.append((p, cl, False))
            if plain_fp32 and wg_ok:
                candidates.append((p, cl, True))
    if wg_ok and batch > 1 and any(c[2] for c in candidates):
        image_threads()  # what a run with this batch does (before its first Winograd call)
    if len(candidates) == 1:
        p, cl, wg = candidates[0]
        if precision == "auto":
            reason = f"fp32: {why}"
        else:
            reason = "set in the recipe"
            if precision == "bf16" and not ok:
                reason = f"set in the recipe, though {why}"
        return PrecisionChoice(p, cl, reason, winograd=wg)
    key = "train|" + "|".join([machine_key(device), model_key or type(generator).__qualname__,
                               json.dumps(candidates), str(probe_size), str(batch),
                               "losses" if objective is not None else "output", thread_mode()])

    def measure() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {"timings": _probe(generator, device, candidates, probe_size, batch, objective)}

    timings = {k: float(v) for k, v in autotune.cached(key, measure)["timings"].items()}
    base_name = _name(*candidates[0])
    best = autotune.TRAINING.pick(timings, base_name)
    chosen = next(c for c in candidates if _name(*c) == best)
    notes = [why] if (precision == "auto" and not ok) or chosen[0] == "bf16" else []
    if best == base_name:
        notes.append(f"fastest of {len(timings)} in a probe")
    else:
        notes.append(f"{timings[base_name] / timings[best]:.2f}x {base_name} in a probe")
    return PrecisionChoice(chosen[0], chosen[1], f"{best}: {'; '.join(notes)}", timings, chosen[2])


def resolve_for_run(recipe: Recipe, parts: Parts, device: torch.device) -> PrecisionChoice:
    """What ``egan run`` resolves ``recipe``'s precision, layout and Winograd settings to here.

    The probe times ``parts``' generator with the run's generator-side losses at the run's
    batch and crop size (capped), and the decision is cached under the generator, its
    kwargs and the loss names, so ``egan doctor --recipe`` and the run share it.
    """
    t, gen = recipe.train, recipe.generator
    key = f"{gen.name}:{json.dumps(thaw(gen.kwargs), sort_keys=True, default=str)}"
    key += "|losses:" + ",".join(name for name, _, _ in parts.losses)  # they are timed too
    # torch.compile traces the convolutions itself: no Winograd swap under it
    return resolve_precision(t.precision, t.channels_last, device, parts.generator, model_key=key,
                             winograd=False if t.compile else t.winograd,
                             batch=recipe.data.batch_size,
                             probe_size=probe_size(recipe.data.dataset.kwargs.get("size")),
                             objective=losses_objective(parts.losses))

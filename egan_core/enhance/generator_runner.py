"""Inference runner for a generator: the fastest correct path on this machine.

A generator can run several ways, and which is fastest depends on the machine: plain
eager (NCHW), eager in channels_last, the generator's own inference-only form
(``inference_form(dtype, device)``: ``attention_unet``'s folds its BatchNorms and fuses
its activations, see :mod:`egan_plugins.networks.unet_fused`), ``torch.compile``, and
onnxruntime when it is installed; each in fp32, and the channels_last and fused forms in
bf16 where the device computes bf16 natively (:func:`egan_core.autotune.bf16_support`).
On a CPU with AMX the fused bf16 form is several times faster than eager; on an
AVX2-only CPU bf16 is emulated and the fused form gains little, so nothing is assumed:

``backend="auto"`` (with ``precision="auto"``) times every candidate on a probe image
(one warm-up, best of two) and keeps the fastest whose output stays within
:data:`MIN_PSNR` dB of plain eager fp32, by the rule of :data:`egan_core.autotune.ENHANCE`.
Plain eager is a candidate, so the choice is never slower than it. The decision is cached
per machine and model weights, in this process and on disk (:mod:`egan_core.autotune`).
``precision`` or ``backend`` narrow the candidates (``fp32`` alone, or one backend);
``compile`` is never picked by ``auto`` (its start-up of tens of seconds per input shape
pays only over many images).
"""


from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from egan_core import autotune, winograd
from egan_core.contracts import pad_multiple, receptive_field
from egan_core.enhance.forward_paths import (
    BACKENDS,
    ENHANCE_PRECISIONS,
    Forward,
    build_backend,
    candidates,
    plain_forward,
)
from egan_core.errors import UsageError
from egan_core.generator_io import check_image
from egan_core.hardware import machine_key
from egan_core.metrics.psnr import MIN_PSNR, psnr01

#: Side of the image the accuracy check runs on.
PROBE_SIZE = autotune.ENHANCE.probe_size
#: Side of the image the candidates are timed on (large enough to use every thread).
TIMING_SIZE = 256
#: Networks faster than this (seconds) on the timing image are timed again on one of
#: TIMING_SIZE_CHEAP px, where per-pixel work, not per-call overhead, decides.
QUICK_S = 0.05
TIMING_SIZE_CHEAP = 1024
#: The candidate every other must beat by :data:`egan_core.autotune.ENHANCE`'s margin.
BASELINE = "eager:fp32"


def fingerprint(module: nn.Module) -> str:
    """A hash of a module's class and weights (the precision-decision cache key)."""
    h = hashlib.sha1(type(module).__qualname__.encode())
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class GeneratorRunner:
    """Enhancer stage around a generator: ``(N, 3, H, W)`` [0, 1] -> enhanced [0, 1].

    Args:
        generator: a module following the generator contract
            (``forward(image, attention) -> (output, latent)`` in [-1, 1]).
        device: where it runs (moved there once).
        precision: ``auto``, ``fp32`` or ``bf16``. In bf16 the residual is computed in
            bf16 and added to the fp32 input, so the image itself keeps full precision.
        tile: tile size for the pipeline (None = automatic, 0 = whole frame).
        backend: ``auto`` (the fastest measured) or one of :data:`BACKENDS`.

    Attributes:
        backend, precision: the path chosen.
        probe_psnr: its PSNR against eager fp32 on the probe image (None when not probed).
        timings: seconds per timing image of each candidate (empty when not probed).
        reason: why this path, in a few words (``egan doctor`` shows it).
    """

    def __init__(self, generator: nn.Module, device: torch.device | str = "cpu",
                 precision: str = "auto", tile: int | None = None, backend: str = "auto") -> None:
        if precision not in ENHANCE_PRECISIONS:
            raise UsageError(f"precision must be one of {', '.join(ENHANCE_PRECISIONS)},"
                             f" got '{precision}'")
        if backend not in BACKENDS:
            raise UsageError(f"backend must be one of {', '.join(BACKENDS)}, got '{backend}'")
        if tile is not None and tile != 0 and tile < 32:
            raise UsageError(f"tile must be 0 (whole frame) or at least 32 pixels, got {tile}")
        self.tile = tile
        self.device = torch.device(device)
        if precision == "bf16":
            self._check_bf16()
        self.model = generator.eval().requires_grad_(False).to(self.device)
        self.probe_psnr: float | None = None
        self.timings: dict[str, float] = {}
        pairs = candidates(backend, precision, self.device)
        built: dict[tuple[str, str], Forward] = {}
        if len(pairs) == 1:
            choice, self.reason = pairs[0], "asked for"
        else:
            choice = self._choose(pairs, built)
        self.backend, self.precision = choice
        fn = built.get(choice) or build_backend(self.model, self.backend, self.precision, self.device)
        if fn is None:
            if backend != "auto":
                raise UsageError(f"backend '{backend}' with precision '{self.precision}' is not available"
                                 " for this generator here; use --backend auto")
            bf16 = self.precision == "bf16"
            self.backend, fn = "eager", plain_forward(self.model, self.device, False, bf16)
        self._run = fn

    @property
    def tile_context(self) -> int:
        """Pixels of context a tile needs (the generator's receptive field; 0: feathered tiles)."""
        return receptive_field(self.model)

    @property
    def tile_multiple(self) -> int:
        """The grid tiles sit on: what the generator pads a whole frame to a multiple of."""
        return pad_multiple(self.model)

    @property
    def fast(self) -> Forward | None:
        """The inference-only form in use, or None (another path runs)."""
        return self._run if self.backend == "fused" else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance ``(N, 3, H, W)`` in [0, 1] (any H, W); returns float32, not clipped."""
        with torch.inference_mode():
            return self._run(x.to(self.device, torch.float32)).float()

    def _check_bf16(self) -> None:
        bf16 = autotune.bf16_support(self.device)
        if not bf16.runs:
            raise UsageError(f"precision bf16 cannot run here: {bf16.why}; use --precision auto (or fp32)")
        if not bf16.native:
            warnings.warn(f"precision bf16: {bf16.why}, so it is emulated and much slower than fp32;"
                          " use --precision auto", stacklevel=3)

    def _choose(self, pairs: list[tuple[str, str]],
                built: dict[tuple[str, str], Forward]) -> tuple[str, str]:
        """The fastest candidate within MIN_PSNR of eager fp32 (cached per machine and model)."""
        key = "enhance|" + "|".join([machine_key(self.device), fingerprint(self.model),
                                     ",".join(f"{b}:{p}" for b, p in pairs), winograd.thread_mode()])

        def measure() -> dict[str, Any]:
            sync = torch.cuda.synchronize if self.device.type == "cuda" else None
            reference = plain_forward(self.model, self.device, False, False)
            probe = check_image(PROBE_SIZE).to(self.device)
            timing = check_image(TIMING_SIZE).to(self.device)
            with torch.inference_mode():
                ref = reference(probe).clamp(0, 1)
            results: dict[str, Any] = {"timings": {}, "psnr": {}}
            accurate: dict[str, Callable[[], Any]] = {}
            for pair in pairs:
                name = f"{pair[0]}:{pair[1]}"
                fn = build_backend(self.model, *pair, self.device)
                if fn is None:
                    continue
                built[pair] = fn
                with torch.inference_mode():
                    results["psnr"][name] = quality = psnr01(ref, fn(probe).float().clamp(0, 1))
                if quality >= MIN_PSNR:
                    accurate[name] = lambda f=fn: f(timing)
            with torch.inference_mode():
                results["timings"] = autotune.timed_alternately(accurate, rounds=2, sync=sync)
                if accurate and max(results["timings"].values()) < QUICK_S:
                    # a cheap network: at 256 px fixed costs dominate; time it on a larger image
                    timing = check_image(TIMING_SIZE_CHEAP).to(self.device)
                    results["timings"] = autotune.timed_alternately(accurate, rounds=2, sync=sync)
            results["choice"] = autotune.ENHANCE.pick(results["timings"], BASELINE)
            return results

        found = autotune.agreed(lambda: autotune.cached(key, measure))
        choice = str(found.get("choice", BASELINE))
        self.timings = {k: float(v) for k, v in found.get("timings", {}).items()}
        self.probe_psnr = float(found.get("psnr", {}).get(choice, math.inf))
        backend, _, precision = choice.partition(":")
        eager = self.timings.get(BASELINE)
        mine = self.timings.get(choice)
        self.reason = (f"fastest of {len(self.timings)} measured"
                       + (f", {eager / mine:.2f}x eager fp32" if eager and mine else ""))
        for pair in list(built):
            if pair != (backend, precision):
                del built[pair]
        return backend, precision


class TransformRunner(GeneratorRunner):
    """A :class:`GeneratorRunner` for a generator that predicts a low-resolution transform
    (``predict_transform(x)`` and ``apply_transform(x, t)`` on [0, 1] images, as Zero-DCE++'s
    curve maps): it offers them to video (:class:`~egan_core.contracts.PredictsTransform`),
    which smooths the transform over time. They run eager in fp32, on the whole frame."""

    def predict_transform(self, x: torch.Tensor) -> torch.Tensor:
        """The generator's transform of ``(N, 3, H, W)`` in [0, 1]."""
        with torch.no_grad():
            return self.model.predict_transform(x.to(self.device, torch.float32))

    def apply_transform(self, x: torch.Tensor, transform: torch.Tensor) -> torch.Tensor:
        """``x`` enhanced with ``transform``; float32, not clipped."""
        with torch.no_grad():
            return self.model.apply_transform(x.to(self.device, torch.float32), transform)

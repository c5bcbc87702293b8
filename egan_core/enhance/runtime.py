"""Inference runner for a generator: eval mode, channels_last, fp32 or bf16.

``precision="auto"`` picks bf16 only where the device runs it natively (so it is the
faster path) *and* its output on a probe image stays within :data:`MIN_PSNR` dB of
the plain fp32 forward; the decision is made once per model (weights fingerprint) and
device, then cached. Both paths use channels_last and ``torch.inference_mode``.

A generator may offer an inference-only form of itself: a method
``inference_form(dtype, device)`` returning a callable ``(N, 3, H, W)`` [0, 1] ->
enhanced [0, 1] (float32, not clipped) that computes the same function with fewer
passes (``attention_unet``'s folds its BatchNorms into the convolutions and fuses the
activations into them, see :mod:`egan_plugins.networks.unet_fused`). The runner uses it
for both precisions; the probe that decides ``auto`` compares it against the plain fp32
forward, so the 40 dB check covers the fusion as well as the precision.
``torch.compile`` is not used: on CPU its start-up (tens of seconds, per input shape)
does not pay for the handful of images a typical run enhances; the fused eager form gets
most of what it would (fused activations, folded normalisation, no dtype round trips).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import math
import platform
from collections.abc import Callable, Iterator

import torch
from torch import nn

from egan_core.errors import UsageError
from egan_core.tensors import attention_map, from_model_range, to_model_range

PRECISIONS = ("auto", "fp32", "bf16")
#: bf16 must stay at least this close (PSNR in dB, [0, 1] range) to fp32 to be chosen.
MIN_PSNR = 40.0
PROBE_SIZE = 128
_DECISIONS: dict[tuple[str, str], tuple[str, float]] = {}


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two [0, 1] images (inf when identical)."""
    mse = float(((a.float() - b.float()) ** 2).mean())
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def probe_image(size: int = PROBE_SIZE) -> torch.Tensor:
    """A fixed, dark, textured ``(1, 3, size, size)`` test image in [0, 1]."""
    gen = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0, 1, size)
    yy, xx = torch.meshgrid(ramp, ramp, indexing="ij")
    base = torch.stack([xx, yy, 0.5 * (xx + yy)]) * 0.35
    waves = 0.05 * torch.sin(40 * xx + 25 * yy) + 0.03 * torch.randn(3, size, size, generator=gen)
    return (base + waves).clamp(0, 1)[None]


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 convolutions run natively (faster than fp32, not emulated) on ``device``.

    CUDA: the GPU supports bf16. CPU: AMX or AVX512-BF16 on x86, BF16 on ARM.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    if platform.machine().lower() in ("arm64", "aarch64"):
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def fingerprint(module: nn.Module) -> str:
    """A hash of a module's class and weights (the precision-decision cache key)."""
    h = hashlib.sha1(type(module).__qualname__.encode())
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
#: Tensors of at most this many elements are processed on one thread by
#: :func:`serial_if_small` (about a millisecond of work: splitting it across threads
#: saves less than waking them costs, and on a busy machine waiting for a descheduled
#: worker thread can cost a whole scheduler slice per operation).
SERIAL_MAX_ELEMENTS = 1 << 21


@contextlib.contextmanager
def serial_if_small(numel: int, limit: int | None = None) -> Iterator[None]:
    """Run the enclosed torch operations on one intra-op thread when ``numel <= limit``.

    ``limit`` defaults to :data:`SERIAL_MAX_ELEMENTS` (0 turns this off).

    The thread count is restored afterwards. (It is process-wide: enhancers that run in
    several Python threads at once should set ``torch.set_num_threads(1)`` themselves.)
    """
    threads = torch.get_num_threads()
    if threads == 1 or numel > (SERIAL_MAX_ELEMENTS if limit is None else limit):
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _inference_form(model: nn.Module, dtype: torch.dtype,
                    device: torch.device) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The generator's own inference-only form (``inference_form``), if it has one here."""
    build = getattr(model, "inference_form", None)
    if build is None:
        return None
    form = build(dtype, device)
    return form if callable(form) else None


class GeneratorRunner:
    """Enhancer stage around a generator: ``(N, 3, H, W)`` [0, 1] -> enhanced [0, 1].

    Args:
        generator: a module following the generator contract
            (``forward(image, attention) -> (output, latent)`` in [-1, 1]).
        device: where it runs (moved there once).
        precision: ``auto``, ``fp32`` or ``bf16``. In bf16 the residual is computed in
            bf16 and added to the fp32 input, so the image itself keeps full precision.
        tile: tile size for the pipeline (None = automatic, 0 = whole frame).
    """

    def __init__(self, generator: nn.Module, device: torch.device | str = "cpu",
                 precision: str = "auto", tile: int | None = None) -> None:
        if precision not in PRECISIONS:
            raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}, got '{precision}'")
        if tile is not None and tile != 0 and tile < 32:
            raise UsageError(f"tile must be 0 (whole frame) or at least 32 pixels, got {tile}")
        self.tile = tile
        self.device = torch.device(device)
        self.model = generator.eval().requires_grad_(False).to(
            self.device, memory_format=torch.channels_last)
        self.probe_psnr: float | None = None
        self._probe_form: Callable[[torch.Tensor], torch.Tensor] | None = None
        if precision == "auto":
            precision, self.probe_psnr = self._choose()
        if precision == "bf16" and self._probe_form is not None:
            self.fast: Callable[[torch.Tensor], torch.Tensor] | None = self._probe_form
        else:
            self.fast = _inference_form(self.model, _DTYPES[precision], self.device)
        self._probe_form = None
        if precision == "bf16" and self.fast is None:
            self.model = self.model.to(torch.bfloat16)
        self.precision = precision

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance ``(N, 3, H, W)`` in [0, 1] (any H, W); returns float32, not clipped."""
        with torch.inference_mode():
            if self.fast is not None:
                return self.fast(x.to(self.device, torch.float32))
            return self._forward(self.model, x, self.precision == "bf16")

    def _forward(self, model: nn.Module, x: torch.Tensor, bf16: bool) -> torch.Tensor:
        img = to_model_range(x.to(self.device, torch.float32))
        img = img.contiguous(memory_format=torch.channels_last)
        att = attention_map(img)
        if bf16:
            _, latent = model(img.bfloat16(), att.bfloat16())
            return from_model_range(img + latent.float())
        out, _ = model(img, att)
        return from_model_range(out.float())

    def _choose(self) -> tuple[str, float | None]:
        """bf16 where it is native here and within MIN_PSNR of fp32, else fp32 (cached).

        Native bf16 convolutions (AMX, AVX512-BF16, tensor cores) are faster than fp32,
        so only accuracy is measured: one probe image through both.
        """
        if not bf16_supported(self.device):
            return "fp32", None
        key = (str(self.device), fingerprint(self.model))
        if key not in _DECISIONS:
            probe = probe_image().to(self.device)
            fast = self._probe_form = _inference_form(self.model, torch.bfloat16, self.device)
            with torch.inference_mode():
                ref = self._forward(self.model, probe, False).clamp(0, 1)
                if fast is not None:
                    out = fast(probe).clamp(0, 1)
                else:
                    low = copy.deepcopy(self.model).to(torch.bfloat16)
                    out = self._forward(low, probe, True).clamp(0, 1)
            quality = psnr(ref, out)
            _DECISIONS[key] = ("bf16" if quality >= MIN_PSNR else "fp32", quality)
        return _DECISIONS[key]

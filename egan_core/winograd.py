"""3x3 convolutions by Winograd's algorithm (NNPACK), for CPUs where it beats oneDNN.

On a CPU without AVX-512 (or with oneDNN held to AVX2) a direct fp32 convolution already
runs near the cores' peak, so the only way to go faster is fewer multiplications. NNPACK,
built into PyTorch's CPU wheels, computes stride-1 3x3 convolutions by Winograd's minimal
filtering (F(6x6, 3x3): about a fifth of the multiplications), with AVX2 kernels. Its
outputs differ from a direct convolution by float rounding only (relative 1e-6 to 1e-5).

Nothing here decides whether it is used: enhancement (backend ``winograd``) and training
(``train.winograd``) time it against the other paths on the machine and keep it only where
it is faster (:mod:`egan_core.enhance.forward_paths`, :mod:`egan_core.training.precision`).

Training needs the gradients too: the gradient with respect to the input of a stride-1
convolution is itself a stride-1 convolution (with the kernels flipped and their in/out
channels swapped), so it also runs on NNPACK; the weight gradient stays PyTorch's.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

#: The largest zero padding (per side) a swapped 3x3 convolution may have.
MAX_PADDING = 2
#: Smaller feature maps take the direct convolution: Winograd's 8x8 input tiles cost more
#: than they save there (slower than oneDNN on the U-Net's deepest maps; docs/benchmarks.md).
MIN_PIXELS = 1024
_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("egan_winograd", default=False)


@functools.cache
def _nnpack_ready() -> bool:
    # _nnpack_available() also initialises NNPACK; its convolutions fail until it has run
    try:
        return bool(torch.backends.nnpack.is_available())
    except (AttributeError, RuntimeError):
        return False


#: Whether the images of a batch run side by side on threads of our own (see
#: :func:`image_threads`), and whether NNPACK's thread pool exists yet.
_STATE = {"image_threads": False, "pool_made": False}
_WORKERS: dict[int, ThreadPoolExecutor] = {}


def image_threads() -> bool:
    """Run the images of a batch side by side, each on one thread, from now on in this process.

    PyTorch creates NNPACK's thread pool once, at the process's first NNPACK convolution,
    with as many threads as torch has then. By default egan lets that pool split each
    image (best for one large image: enhancement). Training batches of small crops run
    faster with one image per thread (``benchmarks/bench_train.py``; figures in
    docs/benchmarks.md, *Training step*), which needs a pool of one thread, so this must
    come before the first Winograd convolution. Returns whether the mode is in effect
    (False when NNPACK is missing or its pool was already made).
    """
    if _STATE["image_threads"]:
        return True
    if _STATE["pool_made"] or not _nnpack_ready():
        return False
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _nnpack(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 3, 3), None, [1, 1])
    finally:
        torch.set_num_threads(threads)
    _STATE["image_threads"] = True
    return True


def thread_mode() -> str:
    """``images`` (see :func:`image_threads`) or ``pool``: part of the autotune keys of
    decisions that time Winograd, which differ between the two."""
    return "images" if _STATE["image_threads"] else "pool"


def _nnpack(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
            pads: list[int], out: torch.Tensor | None = None, inference: bool = False) -> torch.Tensor:
    _nnpack_ready()  # initialises NNPACK (cached)
    _STATE["pool_made"] = True
    # a worker thread's grad and inference modes are its own: ``out`` made by a caller in
    # inference mode is an inference tensor, which only inference mode may write
    with torch.inference_mode(inference), torch.no_grad():
        y = torch._nnpack_spatial_convolution(x, weight, bias, pads)
        return y if out is None else out.copy_(y)


def _workers(threads: int) -> ThreadPoolExecutor:
    """The ``threads`` worker threads of :func:`image_threads` mode (made once per count).

    They keep torch's intra-op thread count, so that each one's copy into the batch's
    output may use OpenMP's team: set to one thread each, they made the training step
    slower (docs/benchmarks.md).
    """
    if threads not in _WORKERS:
        _WORKERS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="egan-winograd")
    return _WORKERS[threads]


def available(device: torch.device | str = "cpu") -> bool:
    """Whether Winograd convolutions can run on ``device`` (a CPU with NNPACK, x86 AVX2)."""
    return torch.device(device).type == "cpu" and _nnpack_ready()


def _forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
             padding: int) -> torch.Tensor:
    # one image at a time: NNPACK's batched path (its training algorithm) measured slower
    # than oneDNN on most layers, its single-image (inference) path faster
    x, weight, pads = x.contiguous(), weight.contiguous(), [padding] * 2
    n, threads = x.shape[0], torch.get_num_threads()
    if n == 1:
        return _nnpack(x, weight, bias, pads)
    h = x.shape[2] + 2 * padding - weight.shape[2] + 1
    w = x.shape[3] + 2 * padding - weight.shape[3] + 1
    out, inference = x.new_empty((n, weight.shape[0], h, w)), torch.is_inference_mode_enabled()
    if _STATE["image_threads"] and threads > 1:
        # each worker copies its image into the batch's output: the copy (and the first
        # touch of the fresh output's pages, which costs more than the copy) runs on all
        # threads at once, where a cat after the jobs would run on one
        jobs = [_workers(threads).submit(_nnpack, x[i:i + 1], weight, bias, pads, out[i:i + 1], inference)
                for i in range(n)]
        for job in jobs:
            job.result()
    else:
        for i in range(n):
            _nnpack(x[i:i + 1], weight, bias, pads, out[i:i + 1], inference)
    return out


class _WinogradConv(torch.autograd.Function):
    """``conv2d(x, weight, bias, padding)``, stride 1, forward and input gradient on NNPACK."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                padding: int) -> torch.Tensor:
        ctx.padding = padding
        ctx.has_bias = bias is not None
        # a frozen network (the VGG of the feature losses) needs no weight gradient, so
        # its input need not be kept
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, weight)
        return _forward(x, weight, bias, padding)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            flipped = weight.flip(2, 3).transpose(0, 1)
            grad_x = _forward(grad, flipped, None, weight.shape[-1] - 1 - ctx.padding)
        if ctx.needs_input_grad[1] or (ctx.has_bias and ctx.needs_input_grad[2]):
            _, grad_w, grad_b = torch.ops.aten.convolution_backward(
                grad, x, weight, [weight.shape[0]] if ctx.has_bias else None,
                [1, 1], [ctx.padding] * 2, [1, 1], False, [0, 0], 1,
                [False, ctx.needs_input_grad[1], ctx.has_bias and ctx.needs_input_grad[2]])
        return grad_x, grad_w, grad_b, None


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           padding: int = 1) -> torch.Tensor:
    """A stride-1 ``F.conv2d`` of fp32 CPU tensors by NNPACK (differentiable)."""
    return _WinogradConv.apply(x, weight, bias, padding)


def eligible(module: nn.Module) -> bool:
    """Whether ``module`` is a convolution NNPACK computes: 3x3, stride 1, zero padding."""
    if type(module) is not nn.Conv2d:
        return False
    pad = module.padding
    return (module.kernel_size == (3, 3) and module.stride == (1, 1) and module.dilation == (1, 1)
            and module.groups == 1 and module.padding_mode == "zeros" and isinstance(pad, tuple)
            and pad[0] == pad[1] and 0 <= pad[0] <= MAX_PADDING)


@contextlib.contextmanager
def enabled(on: bool = True) -> Iterator[None]:
    """Within this block (this thread or task), :class:`WinogradConv2d` layers use NNPACK.

    Outside it they are ordinary convolutions, so a network shared between runs (the
    feature losses' cached VGG) can be swapped once and used both ways.
    """
    token = _ENABLED.set(on)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def large_enough(x: torch.Tensor) -> bool:
    """Whether ``x``'s feature maps have at least :data:`MIN_PIXELS` pixels."""
    return x.shape[-1] * x.shape[-2] >= MIN_PIXELS


def active(x: torch.Tensor) -> bool:
    """Whether a 3x3 convolution of ``x`` takes NNPACK here: inside :func:`enabled`, on an
    fp32 CPU tensor of at least :data:`MIN_PIXELS` pixels, outside autocast."""
    return (_ENABLED.get() and x.dtype == torch.float32 and x.device.type == "cpu"
            and large_enough(x) and not torch.is_autocast_enabled("cpu"))


class WinogradConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` (same parameters and state dict) that runs on NNPACK when asked.

    Inside :func:`enabled`, fp32 CPU tensors outside autocast take :func:`conv2d`;
    anything else (outside the block, bf16, CUDA, autocast regions) the ordinary
    convolution, so a swapped network still runs anywhere.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if active(x) and self.weight.dtype == torch.float32:
            padding = self.padding[0]
            assert isinstance(padding, int)
            return conv2d(x, self.weight, self.bias, padding)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


def use_winograd(module: nn.Module) -> int:
    """Make every eligible 3x3 convolution of ``module`` a :class:`WinogradConv2d`, in place.

    Parameters, buffers, hooks and state-dict keys are unchanged, and so is what it
    computes outside :func:`enabled`. Returns how many were swapped (0 where NNPACK is not
    available: nothing changes then).
    """
    if not available():
        return 0
    convs = [m for m in module.modules() if eligible(m)]
    for conv in convs:
        conv.__class__ = WinogradConv2d
    return len(convs)

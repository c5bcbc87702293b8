"""The ways a generator can run for enhancement, one function each (the candidates
:class:`~egan_core.enhance.generator_runner.GeneratorRunner` measures): plain eager, channels_last,
the generator's own inference form, Winograd convolutions (NNPACK), ``torch.compile`` and
onnxruntime."""

from __future__ import annotations

import copy
import importlib.util
import os
import tempfile
import warnings
from collections.abc import Callable

import torch
from torch import nn

from egan_core import autotune
from egan_core.contracts import HasInferenceForm, pad_multiple
from egan_core.errors import UsageError
from egan_core.generator_io import check_image, enhance_with
from egan_core.padding import smallest_traced_side
from egan_core.signature import accepted
from egan_core.winograd import available as winograd_available
from egan_core.winograd import enabled as winograd_enabled
from egan_core.winograd import use_winograd

#: The ``precision`` values of the enhancers (training has its own set,
#: :data:`egan_core.recipe.schema.TRAIN_PRECISIONS`).
ENHANCE_PRECISIONS = ("auto", "fp32", "bf16")
#: Former name of :data:`ENHANCE_PRECISIONS`, kept for old imports.
PRECISIONS = ENHANCE_PRECISIONS
#: Ways to run a generator; ``auto`` measures the others (``compile`` only on request).
BACKENDS = ("auto", "eager", "channels_last", "fused", "winograd", "compile", "onnxruntime")
#: What ``auto`` measures (``compile`` is left out: its start-up pays off only over many images).
AUTO_BACKENDS = ("eager", "channels_last", "fused", "winograd", "onnxruntime")


Forward = Callable[[torch.Tensor], torch.Tensor]


def plain_forward(model: nn.Module, device: torch.device, channels_last: bool, bf16: bool) -> Forward:
    """The generator's own forward on a [0, 1] batch (bf16: the residual in bf16)."""
    layout = torch.channels_last if channels_last else torch.contiguous_format

    def run(x: torch.Tensor) -> torch.Tensor:
        x = x.to(device, torch.float32).contiguous(memory_format=layout)
        if bf16:  # the residual (attention generators) is added back in fp32
            out, aux = enhance_with(model, x, dtype=torch.bfloat16)
            latent = aux.get("latent")
            return out.float() if latent is None else x + latent.float() / 2
        out, _ = enhance_with(model, x)
        return out.float()

    return run


def onnxruntime_forward(model: nn.Module) -> Forward | None:
    """The generator exported to ONNX (in memory) and run by onnxruntime's CPU provider."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    import onnxruntime as ort

    from egan_core.export import ExportWrapper
    from egan_core.export_files import INPUT_NAME, write_onnx

    wrapper = ExportWrapper(copy.deepcopy(model).float().to(memory_format=torch.contiguous_format),
                            clamp=False)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = os.path.join(tmp, "model.onnx")
        write_onnx(wrapper.eval(), check_image(64), True, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.log_severity_level = 3
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    # The graph reflection-pads to a multiple of pad_multiple, which ONNX cannot do for sides
    # shorter than that; such tiny images (no time to save) take the plain forward.
    smallest = smallest_traced_side(pad_multiple(model))
    plain = plain_forward(model, torch.device("cpu"), False, False)

    def run(x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < smallest:
            return plain(x)
        out = session.run(None, {INPUT_NAME: x.detach().float().cpu().contiguous().numpy()})[0]
        return torch.from_numpy(out).to(x.device)

    return run


def winograd_forward(model: nn.Module, device: torch.device) -> Forward | None:
    """fp32 with 3x3 convolutions by Winograd's algorithm (:mod:`egan_core.winograd`): the
    generator's inference form built that way where it offers one, else a copy of the
    generator with its convolutions swapped; None where it has no 3x3 convolution."""
    if isinstance(model, HasInferenceForm) and "winograd" in accepted(model.inference_form):
        form = model.inference_form(torch.float32, device, winograd=True)  # type: ignore[call-arg]
        if callable(form):
            return form
    swapped = copy.deepcopy(model)
    if use_winograd(swapped) == 0:
        return None
    plain = plain_forward(swapped, device, False, False)

    def run(x: torch.Tensor) -> torch.Tensor:
        with winograd_enabled():
            return plain(x)

    return run


def build_backend(model: nn.Module, backend: str, precision: str, device: torch.device) -> Forward | None:
    """One way of running ``model``, or None where it does not apply here."""
    bf16 = precision == "bf16"
    if backend == "eager":
        return None if bf16 else plain_forward(model, device, False, False)
    if backend == "channels_last":
        copy_ = copy.deepcopy(model).to(memory_format=torch.channels_last)
        return plain_forward(copy_.to(torch.bfloat16) if bf16 else copy_, device, True, bf16)
    if backend == "fused":
        if not isinstance(model, HasInferenceForm):
            return None
        form = model.inference_form(torch.bfloat16 if bf16 else torch.float32, device)
        return form if callable(form) else None
    if backend == "winograd":
        return None if bf16 or not winograd_available(device) else winograd_forward(model, device)
    if backend == "compile":
        if bf16:
            return None
        compiled = torch.compile(copy.deepcopy(model).to(memory_format=torch.channels_last))
        return plain_forward(compiled, device, True, False)  # type: ignore[arg-type]
    if backend == "onnxruntime":
        return None if bf16 or device.type != "cpu" else onnxruntime_forward(model)
    raise UsageError(f"backend must be one of {', '.join(BACKENDS)}, got '{backend}'")


def candidates(backend: str, precision: str, device: torch.device,
               bf16: bool | None = None) -> list[tuple[str, str]]:
    """The ``(backend, precision)`` pairs ``auto`` chooses between, eager fp32 first.

    ``bf16``: whether the device computes bf16 natively (default: ask
    :func:`egan_core.autotune.bf16_support`); without it ``precision="auto"`` offers fp32 alone.
    """
    native = autotune.bf16_support(device).native if bf16 is None else bf16
    backends = [backend] if backend != "auto" else list(AUTO_BACKENDS)
    precisions = [precision] if precision != "auto" else (["fp32", "bf16"] if native else ["fp32"])
    return [(b, p) for p in precisions for b in backends
            if not (p == "bf16" and b in ("eager", "winograd", "compile", "onnxruntime"))]

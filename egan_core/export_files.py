"""The two export formats, each a writer and a loader: ONNX (opset :data:`OPSET`, run by
onnxruntime, the ``egan[onnx]`` extra) and TorchScript. :mod:`egan_core.export` decides
what to export and checks it; this module only writes and reads files."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import nn

from egan_core.errors import EganError

#: ONNX opset of the exported graph.
OPSET = 17
INPUT_NAME, OUTPUT_NAME = "image", "enhanced"

Format = Literal["onnx", "torchscript"]
FORMATS: tuple[str, ...] = ("onnx", "torchscript")
ONNX_HINT = "pip install 'egan[onnx]'"


class _FixedSize(nn.Module):
    """Refuses inputs of another height and width than the exported one (TorchScript)."""

    def __init__(self, inner: nn.Module, height: int, width: int) -> None:
        super().__init__()
        self.inner = inner
        self.height, self.width = height, width
        self.message = f"this egan export takes {height}x{width} images only"

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.shape[-2] != self.height or image.shape[-1] != self.width:
            raise RuntimeError(self.message)
        return self.inner(image)


def require_onnx() -> tuple[Any, Any]:
    """Import ``onnx`` and ``onnxruntime`` (the ``egan[onnx]`` extra).

    Raises:
        EganError: either is missing; the message says what to install.
    """
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        missing = exc.name or "onnx/onnxruntime"
        raise EganError(f"ONNX export needs the optional packages onnx and onnxruntime "
                        f"({missing} is not installed): {ONNX_HINT}") from exc
    return onnx, onnxruntime


def write_onnx(wrapper: nn.Module, example: torch.Tensor, dynamic: bool, path: str) -> None:
    """Write ``wrapper`` as ONNX, traced at ``example`` (dynamic: any batch, height, width)."""
    axes = {0: "batch", 2: "height", 3: "width"} if dynamic else {0: "batch"}
    torch.onnx.export(
        wrapper, (example,), path, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes}, opset_version=OPSET,
        do_constant_folding=True, dynamo=False,
    )


def write_torchscript(wrapper: nn.Module, example: torch.Tensor, dynamic: bool, path: str) -> None:
    """Write ``wrapper`` as TorchScript (fixed size: refusing other sizes with a clear error)."""
    traced = torch.jit.trace(wrapper, (example,), check_trace=False)
    if not dynamic:
        traced = torch.jit.script(_FixedSize(traced, *example.shape[-2:]))
    torch.jit.save(traced, path)


def load_runner(fmt: str, path: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Load the written file and return a function running it on a [0, 1] batch."""
    if fmt == "onnx":
        _, ort = require_onnx()
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])

        def run_onnx(x: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(session.run(None, {INPUT_NAME: x.numpy()})[0])

        return run_onnx
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit's deprecation notice
        module = torch.jit.load(path, map_location="cpu")

    def run_script(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return module(x)

    return run_script

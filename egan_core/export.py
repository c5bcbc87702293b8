"""``egan export``: a generator as one self-contained ONNX or TorchScript graph.

The exported graph takes an ``(N, 3, H, W)`` float32 image in [0, 1] and returns the
enhanced image in [0, 1] (clamped). The range conversion, the attention map (where the
generator takes one) and the reflection padding to the generator's ``pad_multiple`` (16 for
``attention_unet``) are inside the graph, with the pad amounts computed
from the input's shape, so one file serves any image size (``shape`` exports a fixed size
instead). BatchNorm uses its running statistics (eval mode).

Before the file is moved into place it is run on real-sized test images (onnxruntime for
ONNX, ``torch.jit.load`` for TorchScript) and compared with the PyTorch model in fp32; below
:data:`MIN_PSNR` the export is refused and nothing is written.
"""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from egan_core.contracts import WritesOnnx, pad_multiple
from egan_core.errors import EganError, UsageError, first_line
from egan_core.export_files import (
    FORMATS,
    INPUT_NAME,
    OPSET,
    OUTPUT_NAME,
    Format,
    load_runner,
    require_onnx,
    write_onnx,
    write_torchscript,
)
from egan_core.fileio import atomic_write
from egan_core.generator_io import check_image, enhance_with
from egan_core.metrics.psnr import MIN_PSNR, psnr01
from egan_core.padding import crop, pad, pads_for

#: Smallest height and width the exported graph is documented (and ``shape`` allowed) for.
MIN_SIDE = 16
#: The test image every export is checked on (an odd size: padding on all sides).
CHECK_SIZE = (333, 500)
#: A second, smaller batch checked for dynamic exports (another size and batch size).
SECOND_CHECK = (2, 131, 190)
#: Size the dynamic graph is traced at; deliberately not a checked size, so a graph that
#: baked the trace size in (Python branches on shapes) fails the check.
TRACE_SIZE = (72, 104)


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_model` wrote and how it checked it.

    Attributes:
        path: the written file.
        format: ``onnx`` or ``torchscript``.
        checkpoint: the checkpoint the generator came from.
        input_spec: the graph's input, in words.
        output_spec: the graph's output, in words.
        psnr: the worst PSNR (dB) of the file's outputs against PyTorch fp32 (inf = identical).
        checked: the ``(N, H, W)`` input sizes the file was run on.
    """

    path: Path
    format: str
    checkpoint: Path
    input_spec: str
    output_spec: str
    psnr: float
    checked: tuple[tuple[int, int, int], ...]


class ExportWrapper(nn.Module):
    """A generator as ``[0, 1] image -> enhanced [0, 1] image``, padding included.

    The pad amounts are computed from the input's shape inside ``forward``, so traced
    graphs keep them dynamic. The generator is run through
    :func:`egan_core.generator_io.enhance_with` on sizes that are multiples of its declared
    ``pad_multiple`` (:mod:`egan_core.padding`; ``attention_unet`` declares 16, so its own
    padding is a no-op), with its attention map where it takes one (computed from the padded
    image, pixel-wise, so equal to the padded attention map). Generators that need no
    padding, or pad themselves traceably, declare none (1).
    """

    def __init__(self, generator: nn.Module, multiple: int | None = None, clamp: bool = True) -> None:
        super().__init__()
        self.generator = generator
        self.multiple = multiple or pad_multiple(generator)
        self.clamp = clamp

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [0, 1] -> the enhanced ``(N, 3, H, W)``, clamped to [0, 1]."""
        height, width = image.shape[-2], image.shape[-1]
        pads = pads_for(height, width, self.multiple)
        out = enhance_with(self.generator, pad(image, pads))[0]
        out = crop(out, pads, height, width)
        return out.clamp(0.0, 1.0) if self.clamp else out



def reference_output(generator: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """The PyTorch model's fp32 output, ``[0, 1] -> [0, 1]``, on the generator's own path."""
    with torch.inference_mode():
        out = enhance_with(generator, image.float())[0]
    return out.clamp(0.0, 1.0)


def parse_shape(text: str) -> tuple[int, int]:
    """``"480x640"`` -> ``(480, 640)`` (height, width).

    Raises:
        UsageError: not two positive integers joined by ``x``, or below :data:`MIN_SIDE`.
    """
    parts = text.lower().replace("×", "x").split("x")
    try:
        height, width = (int(p) for p in parts)
    except ValueError as exc:
        raise UsageError(f"--shape '{text}' is not HxW (two integers, e.g. 480x640)") from exc
    return _check_shape((height, width))


def _check_shape(shape: tuple[int, int]) -> tuple[int, int]:
    height, width = shape
    if min(height, width) < MIN_SIDE:
        raise UsageError(f"shape {height}x{width} is too small; height and width must be at "
                         f"least {MIN_SIDE}")
    return int(height), int(width)


def _source(checkpoint: str | Path | None, recipe: str | Path | None, runs: str | Path) -> Path:
    """The checkpoint to export: the given file, or the recipe run's latest checkpoint."""
    if (checkpoint is None) == (recipe is None):
        raise UsageError("give exactly one of --checkpoint FILE or --recipe RECIPE")
    if checkpoint is not None:
        return Path(checkpoint)
    from egan_core.model_loading import recipe_checkpoint

    return recipe_checkpoint(recipe, runs)


def _verify(fmt: str, path: str, generator: nn.Module,
            sizes: list[tuple[int, int, int]]) -> float:
    """Worst PSNR of the written file against the PyTorch model over ``sizes``.

    Raises:
        EganError: the file does not load or run, or is below :data:`MIN_PSNR`.
    """
    try:
        run = load_runner(fmt, path)
    except EganError:
        raise
    except Exception as exc:
        raise EganError(f"the exported {fmt} file does not load ({first_line(exc)}); "
                        "nothing was written") from exc
    worst = math.inf
    for seed, (batch, height, width) in enumerate(sizes):
        image = check_image(height, width, batch, seed=seed)
        expected = reference_output(generator, image)
        try:
            got = run(image)
        except Exception as exc:
            raise EganError(f"the exported {fmt} file fails on a {batch}x3x{height}x{width} test "
                            f"input ({first_line(exc)}); nothing was written") from exc
        if got.shape != expected.shape:
            raise EganError(f"the exported {fmt} file returns {tuple(got.shape)} for a "
                            f"{batch}x3x{height}x{width} input; nothing was written")
        score = psnr01(got, expected)
        worst = min(worst, score)
        if not score >= MIN_PSNR:  # also catches NaN
            raise EganError(f"the exported {fmt} file differs from the PyTorch model: "
                            f"{score:.1f} dB PSNR on a {batch}x3x{height}x{width} test image "
                            f"(needs >= {MIN_PSNR:.0f} dB); export refused, nothing was written")
    return worst


def export_model(checkpoint: str | Path | None, recipe: str | Path | None, fmt: Format,
                 out: str | Path, shape: tuple[int, int] | None = None,
                 runs: str | Path = "runs") -> ExportReport:
    """Export a checkpoint's generator to ONNX or TorchScript, verified against PyTorch.

    Args:
        checkpoint: egan checkpoint, original ``*_net_G_A.pth`` or ``.safetensors`` weights.
        recipe: instead of ``checkpoint``, a recipe whose run's latest checkpoint
            (``RUNS/<name>/checkpoints/latest.pt``) is exported.
        fmt: ``onnx`` (needs ``egan[onnx]``) or ``torchscript``.
        out: the file to write (atomically; replaced only by a verified export).
        shape: ``(height, width)`` for a fixed-size graph; None = any size.
        runs: the folder holding runs (``egan run --out``), for ``recipe``.

    Returns:
        An :class:`ExportReport`.

    Raises:
        UsageError: both or neither of checkpoint and recipe, unknown format, bad shape.
        CheckpointError: the checkpoint cannot be read or matches no generator.
        EganError: the ONNX extra is missing, the export fails, or the written file is
            below :data:`MIN_PSNR` against the model (the file is then not written).
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format '{fmt}'; use one of: {', '.join(FORMATS)}")
    if shape is not None:
        shape = _check_shape(shape)
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"--out '{out}' is a folder; give the file to write")
    if fmt == "onnx":
        require_onnx()  # before the (slow) model loading
    source = _source(checkpoint, recipe, runs)
    from egan_core.model_loading import load_generator

    generator = load_generator(source).float().eval()
    for param in generator.parameters():
        param.requires_grad_(False)
    wrapper = ExportWrapper(generator).eval()
    dynamic = shape is None
    if dynamic:
        example = check_image(*TRACE_SIZE)
        sizes = [(1, *CHECK_SIZE), SECOND_CHECK]
    else:
        example = check_image(*shape)
        sizes = [(1, *shape)]
    if fmt == "onnx" and isinstance(generator, WritesOnnx):
        def exporter(_: nn.Module, example: torch.Tensor, dynamic: bool, path: str) -> None:
            generator.write_onnx(path, example, dynamic, OPSET, INPUT_NAME, OUTPUT_NAME)
    else:
        exporter = write_onnx if fmt == "onnx" else write_torchscript
    result: dict[str, float] = {}

    def write(tmp: str) -> None:
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")  # tracer and deprecation chatter
                exporter(wrapper, example, dynamic, tmp)
        except Exception as exc:
            raise EganError(f"cannot export generator {type(generator).__name__} to {fmt}: "
                            f"{first_line(exc)}") from exc
        result["psnr"] = _verify(fmt, tmp, generator, sizes)

    atomic_write(out, write)
    elems = "N, H, W" if dynamic else "N"
    size = f"H, W >= {MIN_SIDE}" if dynamic else f"H={shape[0]}, W={shape[1]}"
    return ExportReport(
        path=out,
        format=fmt,
        checkpoint=source,
        input_spec=f"{INPUT_NAME}: float32 Nx3xHxW in [0, 1] ({size}; dynamic {elems})",
        output_spec=f"{OUTPUT_NAME}: float32 Nx3xHxW in [0, 1], same size as the input",
        psnr=result["psnr"],
        checked=tuple(sizes),
    )


def export_weights(checkpoint: str | Path | None, recipe: str | Path | None, out: str | Path,
                   runs: str | Path = "runs") -> ExportReport:
    """Write a checkpoint's generator alone as ``.safetensors``, for sharing a trained model.

    A run's ``latest.pt`` also holds the discriminator, the optimizers and the random
    state (hundreds of MB for the paper's models); the generator's weights with its name
    and kwargs in the header are all ``egan enhance --checkpoint`` needs, and loading them
    runs no code. The file is read back and compared tensor by tensor before it replaces
    ``out``.

    Raises:
        UsageError: both or neither of checkpoint and recipe, or a file that is not an egan
            checkpoint (original weights files are already weights-only: use them as they are).
        CheckpointError: the checkpoint cannot be read.
        EganError: the written file does not read back identical (nothing is written).
    """
    from egan_core.checkpoint import (
        FORMAT,
        ModelState,
        generator_metadata,
        load_file,
        save_safetensors,
    )
    from egan_core.model_loading import load_generator

    out = Path(out)
    if out.is_dir():
        raise UsageError(f"--out '{out}' is a folder; give the file to write")
    if out.suffix.lower() != ".safetensors":
        raise UsageError(f"--out '{out}': a weights-only export is a .safetensors file; name it so")
    source = _source(checkpoint, recipe, runs)
    data = load_file(source)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError(f"'{source}' is not an egan checkpoint; weights files of other origins"
                         " are weights-only already: pass them to --checkpoint as they are")
    spec = ModelState.from_payload(data.get("generator"), where=f"egan checkpoint '{source}'")
    tensors = {k: v for k, v in spec.state_dict.items() if isinstance(v, torch.Tensor)}
    metadata = generator_metadata(str(spec.name), dict(spec.kwargs))
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.is_dir() else None) as tmp:
        trial = Path(tmp) / out.name
        save_safetensors(trial, tensors, metadata)
        back = load_generator(trial).state_dict()
        expected = load_generator(source).state_dict()
        if back.keys() != expected.keys() or not all(torch.equal(back[k], expected[k]) for k in back):
            raise EganError(f"the weights written from '{source}' do not read back identical;"
                            " nothing was written")
        atomic_write(out, lambda dst: Path(dst).write_bytes(trial.read_bytes()))
    return ExportReport(path=out, format="safetensors", checkpoint=source,
                        input_spec=f"generator '{spec.name}' with kwargs {json.dumps(dict(spec.kwargs))}",
                        output_spec=f"{len(tensors)} tensors, {out.stat().st_size / 1e6:.1f} MB",
                        psnr=math.inf, checked=())

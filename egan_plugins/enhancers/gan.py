"""The ``gan`` enhancer: a trained generator (egan or original EnlightenGAN weights)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

from egan_core.enhance.runtime import GeneratorRunner
from egan_core.errors import EganError
from egan_core.model_loading import load_generator

#: The model ``gan`` uses without ``checkpoint`` (absent until one is shipped).
DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "default.safetensors"


def default_checkpoint() -> Path:
    """The shipped default model.

    Raises:
        EganError: no default model is shipped yet.
    """
    if not DEFAULT_WEIGHTS.is_file():
        raise EganError("no default model is shipped yet; pass --checkpoint FILE (an egan "
                        "checkpoint or an original EnlightenGAN *_net_G_A.pth) or --recipe RECIPE")
    return DEFAULT_WEIGHTS


def checkpoint_or_shipped(checkpoint: str | None, shipped: Path, what: str) -> Path:
    """``checkpoint`` as a path, or the ``shipped`` weights file when it is None (the
    enhancers that ship their own model share this).

    Raises:
        EganError: no checkpoint given and ``shipped`` is missing; names ``what`` weights.
    """
    if checkpoint is not None:
        return Path(checkpoint)
    if not shipped.is_file():
        raise EganError(f"{what} weights are missing ({shipped}); pass --checkpoint")
    return shipped


def gan_enhancer(checkpoint: str | None = None, precision: Literal["auto", "fp32", "bf16"] = "auto",
                 tile: int | None = None, device: torch.device | None = None,
                 backend: Literal["auto", "eager", "channels_last", "fused", "winograd", "compile",
                                  "onnxruntime"] = "auto") -> GeneratorRunner:
    """Enhance with a generator.

    Args:
        checkpoint: egan checkpoint, original ``*_net_G_A.pth`` or ``.safetensors``
            weights; None = the shipped default model.
        precision: ``auto`` (bf16 where native, faster and within 40 dB of fp32), ``fp32``,
            ``bf16``.
        tile: tile size in pixels (None = automatic, 0 = whole frame).
        device: injected by the engine.
        backend: ``auto`` (the fastest path measured on this machine) or one path
            (see :data:`egan_core.enhance.runtime.BACKENDS`).

    Returns:
        A callable ``(N, 3, H, W)`` [0, 1] -> enhanced, run in tiles by the pipeline.
    """
    path = Path(checkpoint) if checkpoint is not None else default_checkpoint()
    generator = load_generator(path)
    return GeneratorRunner(generator, device or torch.device("cpu"), precision=precision, tile=tile,
                           backend=backend)

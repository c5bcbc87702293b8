"""The ``gan`` enhancer: a trained generator (egan or original EnlightenGAN weights)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import torch

from egan_core.enhance.generator_runner import GeneratorRunner
from egan_core.model_loading import load_generator
from egan_core.weights import WeightsRecord, checkpoint_or_shipped
from egan_plugins.enhancers.shadows import finish_shadows
from egan_plugins.shipped import DEFAULT_MODEL

__all__ = ["DEFAULT_WEIGHTS", "GanRunner", "checkpoint_or_shipped", "default_checkpoint",
           "default_record", "gan_enhancer"]

#: Where the default model is read from: ``DEFAULT_MODEL.file``, looked up at each call so an
#: embedder (or a test) can point the default model elsewhere by setting it.
DEFAULT_WEIGHTS = DEFAULT_MODEL.file


def default_record() -> WeightsRecord:
    """The default model's record, at :data:`DEFAULT_WEIGHTS` (``gan`` and
    ``AttentionUNet.shipped_weights`` read it)."""
    return replace(DEFAULT_MODEL, file=DEFAULT_WEIGHTS)


def default_checkpoint() -> Path:
    """The shipped default model's file.

    Raises:
        EganError: no default model is shipped yet.
    """
    return checkpoint_or_shipped(None, default_record())


class GanRunner(GeneratorRunner):
    """A generator run in tiles, then, on the whole frame, the colour of very dark photos'
    shadows corrected (:mod:`egan_plugins.enhancers.shadows`) unless ``shadow_chroma`` is off."""

    def __init__(self, *args: Any, shadow_chroma: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shadow_chroma = bool(shadow_chroma)

    def finish_whole_frame(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The output with the shadows' speckle and cast corrected (photos darker than 5 %)."""
        return finish_shadows(x, y) if self.shadow_chroma else y


def gan_enhancer(checkpoint: str | None = None, precision: Literal["auto", "fp32", "bf16"] = "auto",
                 tile: int | None = None, device: torch.device | None = None,
                 backend: Literal["auto", "eager", "channels_last", "fused", "winograd", "compile",
                                  "onnxruntime"] = "auto", shadow_chroma: bool = True) -> GanRunner:
    """Enhance with a generator.

    Args:
        checkpoint: egan checkpoint, original ``*_net_G_A.pth`` or ``.safetensors``
            weights; None = the shipped default model.
        precision: ``auto`` (bf16 where native, faster and within 40 dB of fp32), ``fp32``,
            ``bf16``.
        tile: tile size in pixels (None = automatic, 0 = whole frame).
        device: injected by the engine.
        backend: ``auto`` (the fastest path measured on this machine) or one path
            (see :data:`egan_core.enhance.generator_runner.BACKENDS`).
        shadow_chroma: on photos with a mean brightness under 5 %, remove the colour
            speckle and the invented tint in the shadows (chroma only; ``false``: the
            generator's output as it is).

    Returns:
        A callable ``(N, 3, H, W)`` [0, 1] -> enhanced, run in tiles by the pipeline.
    """
    generator = load_generator(checkpoint_or_shipped(checkpoint, default_record()))
    return GanRunner(generator, device or torch.device("cpu"), precision=precision, tile=tile,
                     backend=backend, shadow_chroma=shadow_chroma)

"""``zero_dce_pp``: Zero-DCE++ trained from scratch by egan (MODEL.md, *Zero-reference zoo*).

Trained on the 2,002 SICE images of the Zero-DCE_extension repository, which are licensed
for academic research only (CC BY-NC 4.0): so are these weights
(:data:`egan_plugins.shipped.ZERO_DCE_PP_MODEL` records both).
"""

from __future__ import annotations

from typing import Literal

import torch

from egan_core.enhance.generator_runner import GeneratorRunner
from egan_core.errors import UsageError
from egan_core.model_loading import load_generator
from egan_core.weights import checkpoint_or_shipped
from egan_plugins.shipped import ZERO_DCE_PP_MODEL

#: The file of the model ``zero_dce_pp`` uses without ``checkpoint`` (``ZERO_DCE_PP_MODEL.file``).
ZERO_DCE_PP_WEIGHTS = ZERO_DCE_PP_MODEL.file


def zero_dce_pp_enhancer(checkpoint: str | None = None, scale_factor: int = 12,
                         precision: Literal["auto", "fp32", "bf16"] = "auto", tile: int | None = None,
                         device: torch.device | None = None,
                         backend: Literal["auto", "eager", "channels_last", "fused", "winograd", "compile",
                                          "onnxruntime"] = "auto") -> GeneratorRunner:
    """Enhance with Zero-DCE++ (10,561 parameters; curves estimated on a downscaled copy).

    Args:
        checkpoint: ``zero_dce_pp`` weights (egan checkpoint, ``.safetensors`` or the official
            ``Epoch99.pth``); None = the egan-trained weights shipped with egan (research use).
        scale_factor: how much smaller the copy the curves are estimated on is (the official
            test: 12; 1 = full resolution, as trained).
        precision, tile, backend: as for ``gan``.
        device: injected by the engine.
    """
    if scale_factor < 1:
        raise UsageError(f"scale_factor must be >= 1, got {scale_factor}")
    generator = load_generator(checkpoint_or_shipped(checkpoint, ZERO_DCE_PP_MODEL))
    if not hasattr(generator, "scale_factor"):
        raise UsageError(f"enhancer 'zero_dce_pp' needs a zero_dce_pp generator, got "
                         f"{type(generator).__name__}; use enhancer 'gan' for other generators")
    generator.scale_factor = scale_factor
    return GeneratorRunner(generator, device or torch.device("cpu"), precision=precision, tile=tile,
                           backend=backend)

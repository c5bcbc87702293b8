"""The zoo's enhancers with weights egan trained itself: ``zero_dce_pp`` (Zero-DCE++, MODEL.md,
*Zero-reference zoo*) and ``pairlie`` (PairLIE, CVPR 2023).

Both were trained on SICE images of the Zero-DCE_extension repository, which are licensed
for academic research only (CC BY-NC 4.0): so are these weights
(:data:`egan_plugins.shipped.ZERO_DCE_PP_MODEL` and ``PAIRLIE_MODEL`` record both).
"""

from __future__ import annotations

from typing import Literal

import torch

from egan_core.enhance.generator_runner import GeneratorRunner, TransformRunner
from egan_core.errors import UsageError
from egan_core.model_loading import load_generator
from egan_core.weights import checkpoint_or_shipped
from egan_plugins.shipped import PAIRLIE_MODEL, ZERO_DCE_PP_MODEL

#: The file of the model ``zero_dce_pp`` uses without ``checkpoint`` (``ZERO_DCE_PP_MODEL.file``).
ZERO_DCE_PP_WEIGHTS = ZERO_DCE_PP_MODEL.file


def zero_dce_pp_enhancer(checkpoint: str | None = None, scale_factor: int = 12,
                         precision: Literal["auto", "fp32", "bf16"] = "auto", tile: int | None = None,
                         device: torch.device | None = None,
                         backend: Literal["auto", "eager", "channels_last", "fused", "winograd", "compile",
                                          "onnxruntime"] = "auto") -> TransformRunner:
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
    return TransformRunner(generator, device or torch.device("cpu"), precision=precision, tile=tile,
                           backend=backend)


def pairlie_enhancer(checkpoint: str | None = None, gamma: float | None = None,
                     precision: Literal["auto", "fp32", "bf16"] = "auto", tile: int | None = None,
                     device: torch.device | None = None,
                     backend: Literal["auto", "eager", "channels_last", "fused", "winograd", "compile",
                                      "onnxruntime"] = "auto") -> GeneratorRunner:
    """Enhance with PairLIE: ``L ** gamma * R`` of its Retinex decomposition (341,767 parameters).

    Args:
        checkpoint: ``pairlie`` weights (an egan checkpoint, ``.safetensors``, or the
            released ``PairLIE.pth`` of zhenqifu/PairLIE as it comes); None = the weights
            egan trained on SICE pairs (research use).
        gamma: the illumination's exponent (None = the weights' own, 0.2; the paper's LOL
            results use 0.14): lower is brighter.
        precision, tile, backend: as for ``gan``.
        device: injected by the engine.
    """
    if gamma is not None and not gamma > 0:
        raise UsageError(f"gamma must be > 0, got {gamma}")
    generator = load_generator(checkpoint_or_shipped(checkpoint, PAIRLIE_MODEL))
    if not hasattr(generator, "decompose"):
        raise UsageError(f"enhancer 'pairlie' needs a pairlie generator, got "
                         f"{type(generator).__name__}; use enhancer 'gan' for other generators")
    if gamma is not None:
        generator.gamma = float(gamma)
    return GeneratorRunner(generator, device or torch.device("cpu"), precision=precision, tile=tile,
                           backend=backend)

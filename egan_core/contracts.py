"""What the engine expects of generators and discriminators, as ``typing.Protocol``\\ s.

A component is any registered callable returning an object that fits; nothing has to
inherit from these. The required part is :class:`Generator` / :class:`Discriminator`;
every optional hook is its own small runtime-checkable protocol, so the engine asks
``isinstance(model, HasInferenceForm)`` instead of guessing with ``getattr``, and a plugin
author can see in one place what egan will call. docs/architecture.md lists the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from egan_core.weights import WeightsRecord

#: ``signed`` = the generator sees and returns [-1, 1] (EnlightenGAN); ``unit`` = [0, 1]
#: (Zero-DCE, SCI).
ValueRange = Literal["unit", "signed"]


@runtime_checkable
class Generator(Protocol):
    """A trainable image-to-image network (an ``nn.Module``).

    Called as ``generator(image, attention)`` when :attr:`needs_attention` (the default),
    else ``generator(image)``. A ``signed`` generator returns ``(enhanced, latent)`` in
    [-1, 1]; a ``unit`` one returns ``(enhanced, aux)`` with ``aux`` a mapping of named
    auxiliary outputs for losses (Zero-DCE's ``curves``). Declaring nothing means
    EnlightenGAN's contract: ``value_range = "signed"``, ``needs_attention = True``.
    """

    def __call__(self, image: torch.Tensor, *attention: torch.Tensor) -> tuple[torch.Tensor, Any]: ...

    def state_dict(self, *args: Any, **kwargs: Any) -> Mapping[str, Any]: ...

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> Any: ...


@runtime_checkable
class DeclaresValueRange(Protocol):
    """Optional: the range the generator works in (default ``signed``)."""

    value_range: ValueRange


@runtime_checkable
class DeclaresAttention(Protocol):
    """Optional: whether the generator takes EnlightenGAN's attention map (default yes)."""

    needs_attention: bool


@runtime_checkable
class PadsToMultiple(Protocol):
    """Optional: the generator needs inputs padded to multiples of this (a network that
    pools ``k`` times declares ``2**k``); the export wrapper pads to it with
    :mod:`egan_core.padding`, and export and the ONNX backend size their check images by
    it. Default :data:`PAD_MULTIPLE`: no padding needed."""

    pad_multiple: int


#: The padding multiple of a generator that declares none: any size works.
PAD_MULTIPLE = 1


def pad_multiple(generator: Any) -> int:
    """What ``generator`` pads its inputs to a multiple of."""
    return int(generator.pad_multiple) if isinstance(generator, PadsToMultiple) else PAD_MULTIPLE


@runtime_checkable
class DeclaresReceptiveField(Protocol):
    """Optional: how far (pixels, each side) an output pixel of the generator depends on
    its input. Tiled enhancement then gives every tile that much context and keeps only
    its core, so tiles equal one whole-frame pass (:mod:`egan_core.enhance.tiling`);
    without it tiles are feathered into each other. Measure it: the output of a crop must
    equal the whole frame's from this far inside the crop's edges (on the padding grid)."""

    receptive_field: int


def receptive_field(generator: Any) -> int:
    """``generator``'s declared receptive field in pixels, or 0 (not declared)."""
    return int(generator.receptive_field) if isinstance(generator, DeclaresReceptiveField) else 0


@runtime_checkable
class HasInferenceForm(Protocol):
    """Optional: a faster inference-only form, ``[0, 1] -> [0, 1]``, offered to
    ``egan enhance`` as the ``fused`` backend (None where it does not apply)."""

    def inference_form(self, dtype: torch.dtype,
                       device: torch.device | str) -> Callable[[torch.Tensor], torch.Tensor] | None: ...


@runtime_checkable
class WritesOnnx(Protocol):
    """Optional: write the generator's own ONNX graph, ``[0, 1] image -> clamped [0, 1]
    enhanced image`` (input and output named as given), for ``egan export --format onnx``,
    where a traced forward would be slow in onnxruntime (``fast_grid``: a banded ``Scan``).
    ``egan export`` still checks the written file against the PyTorch model."""

    def write_onnx(self, path: str, example: torch.Tensor, dynamic: bool, opset: int,
                   input_name: str, output_name: str) -> None: ...


@runtime_checkable
class ReadsForeignWeights(Protocol):
    """Optional, on the registered class: build the generator from another code base's
    state dict (the original EnlightenGAN, Zero-DCE, SCI releases), so ``--checkpoint``
    takes those files as they come. Raise :class:`~egan_core.errors.CheckpointError` when
    the keys are not yours; egan then tries the next generator."""

    def from_foreign_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> nn.Module: ...


@runtime_checkable
class ShipsWeights(Protocol):
    """Optional, on the registered class: the weights ``model.generator.init: default``
    names, as a :class:`~egan_core.weights.WeightsRecord` (a bare path is taken too); the
    file may not exist yet in a development checkout."""

    def shipped_weights(self) -> WeightsRecord | Path: ...


@runtime_checkable
class EnhancesUint8(Protocol):
    """Optional, on an enhancer stage (the callable an enhancer factory returns): enhance an
    ``(N, H, W, 3)`` uint8 array band by band, calling ``finish(n, start, stop, band)`` with
    the float32 output of rows ``start:stop`` as ``(3, rows, W)`` planes it may change. The
    pipeline then checks, clips and rounds each band while it is in the CPU caches (the
    ``fast`` enhancer: no full-size float copy of a photo)."""

    def enhance_uint8(self, image: np.ndarray,
                      finish: Callable[[int, int, int, torch.Tensor], None]) -> None: ...


@runtime_checkable
class EnhancesYcc(Protocol):
    """Optional, on a stage that is also :class:`EnhancesUint8` and
    :class:`PredictsTransform`: enhance a video frame given as the decoder's Y'CbCr planes,
    converting each band to RGB as it loads it, so neither the frame nor its result is
    ever a full-size RGB array (``fast``: a third of its per-frame cost at 1080p).

    ``to_rgb`` is the ``3 x 4`` affine map from 8-bit Y'CbCr levels to 8-bit RGB levels
    (:func:`egan_core.video.io.ycc_matrices`). ``predict_transform_ycc`` takes the
    chroma planes at any size (4:2:0: half); ``enhance_ycc`` takes all three planes at full
    size and calls ``finish(n, start, stop, band)`` as :class:`EnhancesUint8` does, with
    RGB bands."""

    def predict_transform_ycc(self, planes: Sequence[np.ndarray], to_rgb: np.ndarray) -> torch.Tensor: ...

    def enhance_ycc(self, planes: Sequence[np.ndarray], to_rgb: np.ndarray, transform: torch.Tensor,
                    finish: Callable[[int, int, int, torch.Tensor], None]) -> None: ...


@runtime_checkable
class CleansChainInput(Protocol):
    """Optional, on an enhancer stage whose work is best done before the enhancers in front
    of it: placed after other stages, the pipeline runs ``clean_input(x)`` on the chain's
    input (``(N, 3, H, W)`` in [0, 1]) before the first stage, and nothing in the stage's
    own place; where it returns None, the stage runs in its own place as usual.
    ``denoise``: noise removed before brightening is the sensor's (even and measurable),
    and every region loses its noise before its gain multiplies it; after an enhancer it
    is amplified by a different gain in every region and reshaped by the network. First
    in a chain (or alone) the stage is called as any other."""

    def clean_input(self, x: torch.Tensor) -> torch.Tensor | None: ...


@runtime_checkable
class FinishesWholeFrame(Protocol):
    """Optional, on an enhancer stage that corrects its output with a look at the whole
    frame: after the stage's pass (in tiles or not), the pipeline calls
    ``finish_whole_frame(x, y)`` with the stage's input and output (``(N, 3, H, W)`` in
    [0, 1]) and takes what it returns as the output. ``gan`` corrects the colour of very
    dark photos' shadows there (:mod:`egan_plugins.enhancers.shadows`): whether a photo is
    very dark is a property of the whole frame, which no tile sees."""

    def finish_whole_frame(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class PredictsTransform(Protocol):
    """Optional, on an enhancer stage whose output is a low-resolution transform applied to
    its input (``fast``'s coefficient grid, Zero-DCE++'s curve maps): video smooths the
    transform over time instead of the pixels (:mod:`egan_core.video.temporal`), so the
    tone does not pump from frame to frame. ``apply_transform(x, predict_transform(x))``
    is the stage's output. A stage that also enhances uint8 arrays takes
    ``enhance_uint8(..., transform=t)`` and offers ``predict_transform_uint8(image)`` for
    one ``(H, W, 3)`` uint8 frame."""

    def predict_transform(self, x: torch.Tensor) -> torch.Tensor: ...

    def apply_transform(self, x: torch.Tensor, transform: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Discriminator(Protocol):
    """The global-local discriminator contract (``global_local`` implements it).

    ``global_d`` scores whole images; ``local_d`` (or None) scores patches. The trainer
    asks for ``sample_patches(height, width, generator) -> coords`` once per step and
    crops enhanced, normal and low images at the same ``coords`` with ``crop``
    (patch-major: ``(P * N, 3, s, s)``).
    """

    global_d: nn.Module
    local_d: nn.Module | None

    def sample_patches(self, height: int, width: int,
                       generator: torch.Generator | None = None) -> torch.Tensor: ...

    def crop(self, x: torch.Tensor, coords: torch.Tensor) -> torch.Tensor: ...

"""Floating-point operation counts of ``fast_grid``, the full-resolution part included:
the model card's FLOPs at 1 MP and 12 MP, and the test that doubling the pixels doubles the
full-resolution part only."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from egan_plugins.networks.fast_grid import FastGridNet


def _elementwise(per_element: int) -> Callable[..., int]:
    """A FlopCounterMode formula: ``per_element`` operations per output element."""

    def count(*args: Any, out_shape: Any = None, **kwargs: Any) -> int:
        return per_element * math.prod(out_shape)

    return count


def _reduction(*args: Any, **kwargs: Any) -> int:
    """A FlopCounterMode formula for sums: one addition per input element."""
    return math.prod(args[0])


def count_flops(model: FastGridNet, height: int, width: int) -> dict[str, int]:
    """Floating-point operations of one inference pass (``enhance_banded``) at ``H x W``.

    ``FlopCounterMode`` counts convolutions and matrix products only; formulas for the
    element-wise operations and resizes are added here (a multiply-add is 2, a bilinear
    sample 7 per output element), so that the full-resolution part is counted too.

    Returns:
        ``{"low_res": ..., "full_res": ..., "total": ...}``: the low-res branch (the
        fixed-size copy and the CNN: independent of the image size) and the rest.
    """
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    formulas: dict[Any, Callable[..., int]] = {
        aten.upsample_bilinear2d: _elementwise(7), aten.avg_pool2d: _elementwise(4),
        aten.mul: _elementwise(1), aten.add: _elementwise(1), aten.sub: _elementwise(1),
        aten.div: _elementwise(1), aten.relu: _elementwise(1), aten.addcmul: _elementwise(2),
        aten.lerp: _elementwise(3), aten.sum: _reduction,
        aten.mul_: _elementwise(1), aten.add_: _elementwise(1),  # in place, as the banded pass
    }
    image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        with FlopCounterMode(display=False, custom_mapping=formulas) as low:
            model.grid(image)
        with FlopCounterMode(display=False, custom_mapping=formulas) as whole:
            model.enhance_banded(image)
    low_res, total = low.get_total_flops(), whole.get_total_flops()
    return {"low_res": low_res, "full_res": total - low_res, "total": total}

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

    The detail branch (``fast`` v2) runs on worker threads in the banded pass, so it is
    counted on its whole-frame form, a box blur as the 4 operations of a running sum per
    output element (as OpenCV computes it in the banded pass).

    Returns:
        ``{"low_res": ..., "full_res": ..., "total": ..., "detail": ...}``: the low-res
        branch (the fixed-size copy and the CNN: independent of the image size), the rest
        (the detail branch included), and the detail branch alone (0 without one).
    """
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    formulas: dict[Any, Callable[..., int]] = {
        aten.upsample_bilinear2d: _elementwise(7), aten.avg_pool2d: _elementwise(4),
        aten.mul: _elementwise(1), aten.add: _elementwise(1), aten.sub: _elementwise(1),
        aten.div: _elementwise(1), aten.relu: _elementwise(1), aten.addcmul: _elementwise(2),
        aten.lerp: _elementwise(3), aten.sum: _reduction,
        aten.mul_: _elementwise(1), aten.add_: _elementwise(1),  # in place, as the banded pass
        aten.log: _elementwise(1), aten.sqrt: _elementwise(1), aten.clamp: _elementwise(1),
    }
    image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    # the same model without its detail branch: the grid and the transform, all on this thread
    core = model if model.detail is None else FastGridNet(model.size, model.width).eval()
    with torch.inference_mode():
        with FlopCounterMode(display=False, custom_mapping=formulas) as low:
            core.grid(image)
        with FlopCounterMode(display=False, custom_mapping=formulas) as whole:
            core.enhance_banded(image)
    low_res, total = low.get_total_flops(), whole.get_total_flops()
    detail = 0
    if model.detail is not None:
        with torch.inference_mode():
            base = model.enhance(image, detail=False)
            with FlopCounterMode(display=False, custom_mapping=formulas) as branch:
                model.detail_residual(image, base)
        detail = branch.get_total_flops()
        total += detail
    return {"low_res": low_res, "full_res": total - low_res, "total": total, "detail": detail}

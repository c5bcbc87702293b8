"""The shipped ``zero_dce_pp`` enhancer: egan-trained Zero-DCE++ weights, by name."""

from __future__ import annotations

import numpy as np
import pytest

from egan_core import load_enhancer
from egan_core.errors import UsageError
from egan_plugins.enhancers.zoo import ZERO_DCE_PP_WEIGHTS


def _dark_scene(h: int = 96, w: int = 144) -> np.ndarray:
    """A dark HxWx3 uint8 photo-like image: shapes and gradients at 2-20 % of full scale."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = 0.03 + 0.1 * xx + 0.05 * np.sin(12 * yy)
    rgb = np.stack([base, base * 0.9, base * 0.8], axis=-1)
    rgb[h // 4:h // 2, w // 4:w // 2] += 0.08
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


def test_the_shipped_weights_load_by_name_and_brighten() -> None:
    assert ZERO_DCE_PP_WEIGHTS.is_file()
    enhancer = load_enhancer("zero_dce_pp", device="cpu")
    runner = enhancer.stages[0]
    assert runner.model.scale_factor == 12
    assert sum(p.numel() for p in runner.model.parameters()) == 10_561
    image = _dark_scene()
    out = enhancer(image)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert out.mean() > image.mean() + 20


def test_scale_factor_is_an_option_and_checked() -> None:
    full = load_enhancer("zero_dce_pp:scale_factor=1", device="cpu")
    assert full.stages[0].model.scale_factor == 1
    with pytest.raises(UsageError, match="scale_factor"):
        load_enhancer("zero_dce_pp:scale_factor=0", device="cpu")

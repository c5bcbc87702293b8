"""The shipped zoo enhancers ``zero_dce_pp`` and ``pairlie``: egan-trained weights, by name."""

from __future__ import annotations

import numpy as np
import pytest

from egan_core import load_enhancer
from egan_core.errors import UsageError
from egan_core.scenes import dark_scene
from egan_plugins.enhancers.zoo import ZERO_DCE_PP_WEIGHTS


def _dark_scene(height: int = 96, width: int = 144) -> np.ndarray:
    return dark_scene(width, height)


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


def test_pairlie_ships_egan_trained_weights_and_brightens() -> None:
    enhancer = load_enhancer("pairlie", device="cpu")
    model = enhancer.stages[0].model
    assert model.gamma == 0.2
    assert sum(p.numel() for p in model.parameters()) == 341_767
    image = _dark_scene()
    out = enhancer(image)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert out.mean() > image.mean() + 20


def test_pairlie_gamma_is_an_option_lower_is_brighter_and_checked() -> None:
    image = _dark_scene()
    default = load_enhancer("pairlie", device="cpu", precision="fp32")(image)
    brighter = load_enhancer("pairlie:gamma=0.1", device="cpu", precision="fp32")(image)
    assert brighter.mean() > default.mean() + 1
    with pytest.raises(UsageError, match="gamma must be > 0"):
        load_enhancer("pairlie:gamma=0", device="cpu")


def test_pairlie_refuses_another_generator(tmp_path) -> None:
    from egan_core.testing import save_tiny_checkpoint

    ckpt = save_tiny_checkpoint(tmp_path / "g.pt", seed=0)
    with pytest.raises(UsageError, match="needs a pairlie generator"):
        load_enhancer("pairlie", checkpoint=str(ckpt), device="cpu")

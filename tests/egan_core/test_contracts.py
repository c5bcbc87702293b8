"""The generator and discriminator Protocols: every built-in fits, hooks are optional."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from egan_core.contracts import (
    PAD_MULTIPLE,
    Discriminator,
    Generator,
    HasInferenceForm,
    ReadsForeignWeights,
    ShipsWeights,
    pad_multiple,
)
from egan_core.errors import RecipeError
from egan_core.generator_io import enhance_with, needs_attention, value_range
from egan_core.plugins import get_registries
from egan_core.training.build import load_init_weights

GENERATORS = get_registries().generators.names()


@pytest.mark.parametrize("name", GENERATORS)
def test_every_registered_generator_fits_the_protocol(name: str) -> None:
    model = get_registries().generators.get(name)()
    assert isinstance(model, Generator)
    assert value_range(model) in ("unit", "signed")
    assert pad_multiple(model) >= 1
    out, aux = enhance_with(model.eval(), torch.rand(1, 3, 40, 56))
    assert out.shape == (1, 3, 40, 56) and isinstance(aux, dict)


def test_optional_hooks_are_found_where_declared() -> None:
    regs = get_registries()
    unet = regs.generators.get("attention_unet")
    assert isinstance(unet(base_channels=4), HasInferenceForm)
    assert isinstance(unet, ShipsWeights)
    foreign = {n for n in GENERATORS if isinstance(regs.generators.get(n), ReadsForeignWeights)}
    assert {"attention_unet", "zero_dce", "zero_dce_pp", "sci"} <= foreign
    assert not isinstance(regs.generators.get("zero_dce")(), HasInferenceForm)


def test_global_local_fits_the_discriminator_protocol() -> None:
    disc = get_registries().discriminators.get("global_local")(ndf=8, patch_size=16)
    assert isinstance(disc, Discriminator)
    coords = disc.sample_patches(32, 32)
    assert disc.crop(torch.rand(2, 3, 32, 32), coords).shape == (2 * coords.shape[0], 3, 16, 16)


class _Bare(nn.Module):
    """A generator that declares nothing: EnlightenGAN's contract."""

    def forward(self, x: torch.Tensor, attention: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x * attention, attention


class _Unit(nn.Module):
    value_range = "unit"
    needs_attention = False
    pad_multiple = 4

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return x.sqrt(), {"gain": x}


def test_undeclared_hooks_take_the_defaults_and_declared_ones_win() -> None:
    bare, unit = _Bare(), _Unit()
    assert (value_range(bare), needs_attention(bare), pad_multiple(bare)) == ("signed", True, PAD_MULTIPLE)
    assert (value_range(unit), needs_attention(unit), pad_multiple(unit)) == ("unit", False, 4)
    x = torch.full((1, 3, 8, 8), 0.25)
    out, aux = enhance_with(unit, x)
    assert torch.allclose(out, torch.full_like(x, 0.5)) and set(aux) == {"gain"}


def test_init_default_needs_a_generator_that_ships_weights() -> None:
    model = get_registries().generators.get("zero_dce")()
    with pytest.raises(RecipeError, match=r"^model.generator.init: 'default' .*ships none"):
        load_init_weights(model, "default", torch.device("cpu"))

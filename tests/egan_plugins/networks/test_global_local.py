"""The ``global_local`` discriminator: sizes, layer spec, patch sampling and cropping."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from egan_core.errors import EganError
from egan_plugins.networks import GlobalLocalDiscriminator, NoNormPatchGAN


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_the_paper_models() -> None:
    d = GlobalLocalDiscriminator()
    assert _count(d.global_d) == 11_154_369
    assert _count(d.local_d) == 6_959_553
    assert d.num_patches == 6 and d.patch_size == 32


def test_layer_spec_has_no_norm_and_no_sigmoid() -> None:
    layers = list(NoNormPatchGAN(3, 8, 4).model)
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 2, 1, 1]
    assert [c.out_channels for c in convs] == [8, 16, 32, 64, 64, 1]
    assert all(c.kernel_size == (4, 4) and c.padding == (2, 2) for c in convs)
    acts = [m for m in layers if not isinstance(m, nn.Conv2d)]
    assert len(acts) == 5 and all(isinstance(a, nn.LeakyReLU) and a.negative_slope == 0.2
                                  for a in acts)
    assert isinstance(layers[-1], nn.Conv2d)  # raw scores: no sigmoid


def test_prediction_map_sizes() -> None:
    d = GlobalLocalDiscriminator(ndf=4)
    # kernel 4, padding 2: stride 2 gives H/2 + 1, stride 1 gives H + 1.
    assert d(torch.zeros(2, 3, 64, 64)).shape == (2, 1, 5, 5)  # 33 17 9 5 3 -> 4 -> 5
    assert d.local_d(torch.zeros(12, 3, 32, 32)).shape == (12, 1, 5, 5)  # 17 9 5 3 -> 4 -> 5


def test_init_is_seeded() -> None:
    a, b = GlobalLocalDiscriminator(ndf=4, seed=1), GlobalLocalDiscriminator(ndf=4, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert abs(GlobalLocalDiscriminator().global_d.model[8].weight.std().item() - 0.02) < 1e-3


def test_sampler_covers_exactly_the_inclusive_bounds() -> None:
    d = GlobalLocalDiscriminator(ndf=4)
    gen = torch.Generator().manual_seed(0)
    coords = torch.cat([d.sample_patches(40, 37, gen) for _ in range(300)])
    assert coords.dtype == torch.int64 and coords.shape == (300 * 6, 2)
    ys, xs = coords[:, 0], coords[:, 1]
    assert ys.min() == 0 and ys.max() == 40 - 32 - 1  # randint(0, H - 33), inclusive
    assert xs.min() == 0 and xs.max() == 37 - 32 - 1
    assert torch.equal(d.sample_patches(32, 33, gen), torch.zeros(6, 2, dtype=torch.int64))


def test_sampler_is_reproducible_and_offsets_are_independent() -> None:
    d = GlobalLocalDiscriminator(ndf=4)
    a = d.sample_patches(256, 256, torch.Generator().manual_seed(3))
    b = d.sample_patches(256, 256, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert len({tuple(c) for c in a.tolist()}) > 1


def test_sampler_refuses_images_smaller_than_a_patch() -> None:
    with pytest.raises(EganError, match="patch_size"):
        GlobalLocalDiscriminator(ndf=4).sample_patches(31, 64, torch.Generator())


def test_crop_is_patch_major() -> None:
    d = GlobalLocalDiscriminator(patches=2, patch_size=4, ndf=4)
    x = torch.arange(2 * 3 * 10 * 12, dtype=torch.float32).view(2, 3, 10, 12)
    coords = torch.tensor([[0, 0], [5, 7], [2, 3]])
    crops = d.crop(x, coords)
    assert crops.shape == (6, 3, 4, 4)
    for p, (y, x0) in enumerate(coords.tolist()):
        for n in range(2):
            assert torch.equal(crops[p * 2 + n], x[n, :, y:y + 4, x0:x0 + 4])

"""``synthetic``: deterministic, fast, low side darker than the normal side."""

from __future__ import annotations

import time

import torch
from torch.utils.data import DataLoader

from egan_plugins.data import SyntheticDataset


def test_shapes_ranges_and_determinism() -> None:
    a, b = SyntheticDataset(size=64, length=8, seed=7), SyntheticDataset(size=64, length=8, seed=7)
    assert len(a) == 8
    item = a[3]
    assert set(item) == {"low", "input", "normal", "low_path", "normal_path"}
    for key in ("low", "input", "normal"):
        assert item[key].shape == (3, 64, 64) and item[key].dtype == torch.float32
        assert -1 <= item[key].min() and item[key].max() <= 1
        assert torch.equal(item[key], b[3][key])
    assert not torch.equal(a[3]["normal"], a[4]["normal"])
    assert not torch.equal(SyntheticDataset(size=64, seed=8)[3]["normal"], item["normal"])
    a.set_epoch(1)
    assert not torch.equal(a[3]["normal"], item["normal"])


def test_low_side_is_darker_and_a_different_scene() -> None:
    ds = SyntheticDataset(size=64, length=16, darken=False, seed=0)
    low = torch.stack([ds[i]["low"] for i in range(16)])
    normal = torch.stack([ds[i]["normal"] for i in range(16)])
    assert (low.mean((1, 2, 3)) < normal.mean((1, 2, 3))).all()
    assert low.mean() < normal.mean() - 0.5  # far darker in [-1, 1]
    assert all(torch.equal(ds[i]["low"], ds[i]["input"]) for i in range(4))
    # not just a scaled copy: a different scene
    corr = torch.corrcoef(torch.stack([low[0].flatten(), normal[0].flatten()]))[0, 1]
    assert abs(corr) < 0.9


def test_darkening_and_workers() -> None:
    ds = SyntheticDataset(size=32, length=8, seed=2)
    darker = [not torch.equal(ds[i]["low"], ds[i]["input"]) for i in range(8)]
    assert any(darker) and not all(darker)
    ref = list(DataLoader(ds, batch_size=4))
    two = list(DataLoader(ds, batch_size=4, num_workers=2))
    for x, y in zip(ref, two, strict=True):
        assert torch.equal(x["low"], y["low"]) and torch.equal(x["normal"], y["normal"])


def test_generation_is_fast() -> None:
    ds = SyntheticDataset(size=128, length=32, seed=0)
    ds[0]
    start = time.perf_counter()
    for i in range(20):
        ds[i]
    per_item = (time.perf_counter() - start) / 20
    assert per_item < 0.05  # a few ms normally; generous for loaded CI machines

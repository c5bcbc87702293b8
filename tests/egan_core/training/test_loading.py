"""Training data reading: unreadable items replaced the same way with any worker count,
reasons collected per batch, loader workers sized to the machine without torch's warning."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import Dataset

from egan_core.errors import InputError
from egan_core.training.loading import (
    SKIPPED,
    BadImages,
    SkipUnreadable,
    auto_workers,
    check_readable,
    epoch_batches,
    resolve_workers,
    usable_cores,
)
from egan_core.training.sampler import EpochBatchSampler


class _Files(Dataset):
    """Items 0..n-1; the ``bad`` ones fail as an unreadable file does."""

    def __init__(self, n: int, bad: set[int], error: type[Exception] = InputError) -> None:
        self.n, self.bad, self.error = n, bad, error
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, Any]:
        if index in self.bad:
            raise self.error(f"'img{index}.png': corrupt or truncated image")
        return {"low": torch.full((1, 2, 2), float(index)), "low_path": f"img{index}.png",
                "epoch": self.epoch}


def test_an_unreadable_item_is_replaced_by_the_next_readable_one() -> None:
    data = SkipUnreadable(_Files(5, bad={1, 2, 4}))
    sample, reasons = data[1]
    assert sample is not None and sample["low_path"] == "img3.png"
    assert reasons == ["'img1.png': corrupt or truncated image", "'img2.png': corrupt or truncated image"]
    sample, reasons = data[4]  # wraps around
    assert sample is not None and sample["low_path"] == "img0.png" and len(reasons) == 1
    sample, reasons = data[0]
    assert sample is not None and sample["low_path"] == "img0.png" and reasons == []
    data.set_epoch(7)
    assert data[0][0]["epoch"] == 7


def test_other_errors_are_not_swallowed() -> None:
    with pytest.raises(TypeError):
        SkipUnreadable(_Files(3, bad={0}, error=TypeError))[0]


@pytest.mark.parametrize("workers", [0, 2])
def test_batches_and_reasons_are_the_same_with_any_worker_count(workers: int) -> None:
    sampler = EpochBatchSampler(6, 2, seed=1)
    sampler.set_epoch(1)
    order = list(sampler)
    batches = list(epoch_batches(SkipUnreadable(_Files(6, bad={2})), sampler, workers, False, seed=5))
    # index 2 is read as index 3, and its reason travels with the batch that asked for it
    assert [b["low_path"] for b in batches] == [[f"img{3 if i == 2 else i}.png" for i in idx]
                                                for idx in order]
    assert [b[SKIPPED] for b in batches] == [["'img2.png': corrupt or truncated image"] * (2 in idx)
                                             for idx in order]
    assert batches[0]["low"].shape == (2, 1, 2, 2)


def test_nothing_readable() -> None:
    with pytest.raises(InputError, match=r"data: none of the 3 training samples can be read \(first:"
                                         r" 'img0.png'"):
        check_readable(_Files(3, bad={0, 1, 2}))
    check_readable(_Files(3, bad={0, 1}))  # one readable item is enough to start


def test_bad_images_are_named_once_and_limited() -> None:
    bad = BadImages(limit=1)
    assert bad.add(["a", "b", "a"]) == ["a", "b"]
    assert bad.add(["b"]) == [] and bad.count == 2 and bad.over_limit
    line = str(bad.error("the checkpoint of step 3 is kept"))
    assert "2 unreadable training images, more than data.max_bad_images=1: a; b;" in line
    assert not BadImages(limit=2).over_limit


def test_auto_workers_follow_the_cores_each_process_has() -> None:
    assert auto_workers(cores=1, processes=1) == 0
    assert auto_workers(cores=2, processes=1) == 1
    assert auto_workers(cores=2, processes=2) == 0  # two ranks on two cores: load in-process
    assert auto_workers(cores=16, processes=2) == 4
    assert auto_workers(cores=64, processes=1) == 8
    assert resolve_workers("auto") == (auto_workers(), None)
    assert resolve_workers(0) == (0, None)


def test_too_many_workers_get_one_egan_note_instead_of_torchs_warning(tmp_path: Path) -> None:
    count = usable_cores() + 1
    workers, note = resolve_workers(count)
    assert workers == count and note is not None
    assert f"data.workers={count} loader processes on {usable_cores()} CPU core(s)" in note
    sampler = EpochBatchSampler(4, 2, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batches = list(epoch_batches(SkipUnreadable(_Files(4, bad=set())), sampler, count, False, 0))
    assert len(batches) == 2
    assert not [w for w in caught if "DataLoader will create" in str(w.message)], caught

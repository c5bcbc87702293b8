"""Deterministic, resumable, shardable batch order."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochBatchSampler(Sampler[list[int]]):
    """Batches of one epoch: a seeded permutation, sharded by rank, resumable mid-epoch.

    The permutation of epoch ``e`` depends only on ``(seed, e)``; rank ``r`` of ``world``
    takes every ``world``-th index from ``r``, so the ranks see disjoint data. Incomplete
    batches are dropped (as batch statistics need full batches under DDP).
    """

    def __init__(self, length: int, batch_size: int, seed: int, *, rank: int = 0,
                 world: int = 1) -> None:
        self.length, self.batch_size, self.seed = length, batch_size, seed
        self.rank, self.world = rank, world
        self.epoch, self.skip = 1, 0

    def set_epoch(self, epoch: int, skip_batches: int = 0) -> None:
        """Select the epoch's order and how many leading batches to skip (for resume)."""
        self.epoch, self.skip = epoch, skip_batches

    def batches_per_epoch(self) -> int:
        return (self.length // self.world) // self.batch_size

    def __len__(self) -> int:
        return max(0, self.batches_per_epoch() - self.skip)

    def __iter__(self) -> Iterator[list[int]]:
        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.length, generator=gen).tolist()
        mine = order[self.rank :: self.world][: (self.length // self.world)]
        for b in range(self.skip, self.batches_per_epoch()):
            yield mine[b * self.batch_size : (b + 1) * self.batch_size]

from egan_core.training.sampler import EpochBatchSampler


def test_order_depends_on_seed_and_epoch_only() -> None:
    a, b = EpochBatchSampler(20, 3, seed=1), EpochBatchSampler(20, 3, seed=1)
    a.set_epoch(2)
    b.set_epoch(2)
    assert list(a) == list(b)
    b.set_epoch(3)
    assert list(a) != list(b)
    assert len(list(a)) == 6 and all(len(x) == 3 for x in a)


def test_skip_resumes_mid_epoch() -> None:
    s = EpochBatchSampler(20, 2, seed=0)
    s.set_epoch(1)
    full = list(s)
    s.set_epoch(1, skip_batches=4)
    assert list(s) == full[4:]
    assert len(s) == len(full) - 4


def test_ranks_are_disjoint_and_cover_equal_shares() -> None:
    shards = []
    for rank in range(2):
        s = EpochBatchSampler(11, 2, seed=5, rank=rank, world=2)
        s.set_epoch(1)
        shards.append([i for batch in s for i in batch])
    assert not set(shards[0]) & set(shards[1])
    assert len(shards[0]) == len(shards[1]) == 4

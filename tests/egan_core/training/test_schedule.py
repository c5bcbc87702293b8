from egan_core.training.schedule import learning_rate, total_epochs


def test_original_schedule_keeps_lr_for_epochs_plus_one() -> None:
    lrs = {e: learning_rate(1e-4, e, 100, 100) for e in range(1, 201)}
    assert all(lrs[e] == 1e-4 for e in range(1, 102))
    assert abs(lrs[102] - 1e-4 * 0.99) < 1e-15
    assert abs(lrs[200] - 1e-6) < 1e-15
    assert all(lrs[e] > lrs[e + 1] for e in range(101, 200))


def test_no_decay_and_total() -> None:
    assert learning_rate(2e-4, 50, 3, 0) == 2e-4
    assert total_epochs(100, 100) == 200
    assert total_epochs(0, 0) == 1

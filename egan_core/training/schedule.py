"""EnlightenGAN's learning-rate schedule."""

from __future__ import annotations


def learning_rate(base_lr: float, epoch: int, epochs: int, decay_epochs: int) -> float:
    """Learning rate of 1-based ``epoch``: ``lr * (1 - max(0, e - epochs - 1) / decay_epochs)``.

    The original keeps ``lr`` for ``epochs + 1`` epochs and runs its last epoch at ``lr/100``
    (with 100 decay epochs), because it decays at the *end* of each epoch after ``epochs``.
    """
    if decay_epochs <= 0:
        return base_lr
    return base_lr * (1.0 - max(0, epoch - epochs - 1) / decay_epochs)


def total_epochs(epochs: int, decay_epochs: int) -> int:
    """Epochs a full run trains: the constant part plus the decay."""
    return max(1, epochs + decay_epochs)

"""Ctrl-C during training: finish the step, save, then stop (a second Ctrl-C stops at once)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class StopRequest:
    """Whether a stop was asked for; the loop checks :attr:`requested` after every step.

    A checkpoint is worth more than the second a hard stop saves: the first SIGINT only
    sets the flag, so the loop ends its step and saves before it returns.
    """

    def __init__(self) -> None:
        self.requested = False

    @contextmanager
    def on_sigint(self) -> Iterator[None]:
        """Route SIGINT here while the block runs (the main thread only: Python delivers
        signals there; elsewhere the handler cannot be installed and Ctrl-C acts as usual)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: FrameType | None) -> None:
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

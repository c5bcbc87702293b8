"""Stop requests during training: Ctrl-C (SIGINT) and SIGTERM finish the step, save, stop.

A scheduler, ``docker stop`` or a preemptible machine sends SIGTERM; a person sends
SIGINT. Both mean "stop soon": the first one only sets a flag, the loop ends its step,
writes the checkpoint and exits with the conventional status (128 + the signal's number:
130 for SIGINT, 143 for SIGTERM). A second signal stops at once (:class:`HardStop`),
keeping the checkpoint already on disk.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The signals a run treats as a stop request.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class HardStop(KeyboardInterrupt):
    """A second stop signal: the run ends at once, without finishing the step."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_status(signum: int) -> int:
    """The shell's status for a process ended by ``signum`` (128 + its number)."""
    return 128 + int(signum)


class StopRequest:
    """Whether a stop was asked for; the loop checks :attr:`requested` after every step.

    A checkpoint is worth more than the second a hard stop saves: the first signal only
    sets the flag (and :attr:`signum`), so the loop ends its step and saves before it
    returns. Under DDP the loop also calls :meth:`request` with the signal another rank
    received, so every rank stops at the same step.
    """

    def __init__(self) -> None:
        self.signum: int | None = None

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def request(self, signum: int) -> None:
        """Ask for a stop as if ``signum`` had arrived (the first request's signal is kept)."""
        if self.signum is None:
            self.signum = int(signum)

    @contextmanager
    def on_signals(self) -> Iterator[None]:
        """Route SIGINT and SIGTERM here while the block runs (the main thread only: Python
        delivers signals there; elsewhere no handler can be installed and they act as usual)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}

        def handler(signum: int, frame: FrameType | None) -> None:
            if self.requested:
                raise HardStop(signum)
            self.request(signum)

        for s in STOP_SIGNALS:
            signal.signal(s, handler)
        try:
            yield
        finally:
            for s, old in previous.items():
                signal.signal(s, old)

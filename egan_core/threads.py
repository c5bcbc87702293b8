"""Thread control for small tensor work: :func:`serial_if_small` (the enhancement pipeline,
the fused generator form) and :func:`on_serial_thread` (a worker that stays on one thread,
for per-pixel passes that run right after a multi-threaded network)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait

import torch

#: Tensors of at most this many elements are processed on one thread by
#: :func:`serial_if_small` (about a millisecond of work: splitting it across threads
#: saves less than waking them costs, and on a busy machine waiting for a descheduled
#: worker thread can cost a whole scheduler slice per operation).
SERIAL_MAX_ELEMENTS = 1 << 21


@contextlib.contextmanager
def serial_if_small(numel: int, limit: int | None = None) -> Iterator[None]:
    """Run the enclosed torch operations on one intra-op thread when ``numel <= limit``.

    ``limit`` defaults to :data:`SERIAL_MAX_ELEMENTS` (0 turns this off).

    The thread count is restored afterwards. (It is process-wide: enhancers that run in
    several Python threads at once should set ``torch.set_num_threads(1)`` themselves.)
    """
    threads = torch.get_num_threads()
    if threads == 1 or numel > (SERIAL_MAX_ELEMENTS if limit is None else limit):
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


_SERIAL: ThreadPoolExecutor | None = None
_SERIAL_LOCK = threading.Lock()
_SERIAL_NAME = "egan-serial"


def on_serial_thread(fn: Callable[[], None]) -> None:
    """Run ``fn`` on a worker thread whose torch operations use one intra-op thread.

    Switching the thread count in the calling thread (``torch.set_num_threads(1)`` and back)
    costs nothing itself, but the first parallel operation after a switch waits for OpenMP
    to resize its team, which on a busy machine can take as long as the whole per-pixel pass
    (docs/benchmarks.md, *The fast model*). OpenMP's thread count is per thread, so one
    worker set to one thread once never switches. Calls from several threads at once take
    turns. Grad and inference mode are the caller's; exceptions reach the caller.
    """
    global _SERIAL
    if threading.current_thread().name.startswith(_SERIAL_NAME):  # called from the worker itself
        fn()
        return
    with _SERIAL_LOCK:
        if _SERIAL is None:
            _SERIAL = _started_pool(1, _SERIAL_NAME)
    _SERIAL.submit(_in_callers_modes(fn)).result()


_PAIR: ThreadPoolExecutor | None = None
_PAIR_NAME = _SERIAL_NAME + "-pair"


def on_serial_threads(fns: list[Callable[[], None]]) -> None:
    """Run ``fns`` at once, each on a worker thread of one intra-op thread (as
    :func:`on_serial_thread`; at most two at a time): for per-pixel passes heavy enough that
    two Python threads each driving one core beat one driving both (their OpenCV and torch
    calls release the GIL). Every function has finished when it returns; the first
    exception then reaches the caller. Called from one of these workers, it runs ``fns``
    there, one after the other."""
    global _PAIR
    if threading.current_thread().name.startswith(_PAIR_NAME):
        for fn in fns:
            fn()
        return
    with _SERIAL_LOCK:
        if _PAIR is None:
            _PAIR = _started_pool(2, _PAIR_NAME)
    futures = [_PAIR.submit(_in_callers_modes(fn)) for fn in fns]
    wait(futures)  # no half still writing when the other's error reaches the caller
    for future in futures:
        future.result()


def _started_pool(count: int, name: str) -> ThreadPoolExecutor:
    """``count`` worker threads on one intra-op thread each, all started: each sets torch's
    count for threads made after it to 1 as it starts, so the caller's is restored after."""
    threads = torch.get_num_threads()
    pool = ThreadPoolExecutor(count, thread_name_prefix=name, initializer=_one_thread_here)
    started = threading.Barrier(count)  # every worker exists before the restore
    for future in [pool.submit(started.wait) for _ in range(count)]:
        future.result()
    torch.set_num_threads(threads)
    return pool


def _in_callers_modes(fn: Callable[[], None]) -> Callable[[], None]:
    """``fn`` to run on a worker under the calling thread's grad and inference modes."""
    grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()

    def run() -> None:
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            fn()

    return run


def _one_thread_here() -> None:
    """This thread's torch operations on one intra-op thread, for good."""
    torch.get_num_threads()  # torch's lazy per-thread setup first (it would reset the count)
    torch.set_num_threads(1)


def _forget_serial_thread() -> None:
    """A forked child has no worker threads (its copies of the executors would wait forever)."""
    global _SERIAL, _PAIR
    _SERIAL = _PAIR = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_serial_thread)

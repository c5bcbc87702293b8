"""serial_if_small: one intra-op thread for small work, the count restored afterwards."""

from __future__ import annotations

import os
import threading

import pytest
import torch

from egan_core import threads


def test_serial_if_small_sets_one_thread_and_restores() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with threads.serial_if_small(10):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with threads.serial_if_small(threads.SERIAL_MAX_ELEMENTS + 1):
            assert torch.get_num_threads() == 2
        with threads.serial_if_small(10, limit=0):
            assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), threads.serial_if_small(10):
            raise RuntimeError("boom")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_on_serial_thread_runs_on_one_thread_and_leaves_the_caller_alone() -> None:
    before = torch.get_num_threads()
    seen: dict[str, object] = {}

    def work() -> None:
        seen["threads"] = torch.get_num_threads()
        seen["name"] = threading.current_thread().name
        seen["grad"] = torch.is_grad_enabled()
        threads.on_serial_thread(lambda: seen.setdefault("nested", threading.current_thread().name))

    try:
        torch.set_num_threads(2)
        with torch.no_grad():
            threads.on_serial_thread(work)
        assert seen["threads"] == 1 and seen["grad"] is False
        assert seen["name"] != threading.current_thread().name and seen["nested"] == seen["name"]
        assert torch.get_num_threads() == 2
        with pytest.raises(ValueError, match="boom"):
            threads.on_serial_thread(lambda: (_ for _ in ()).throw(ValueError("boom")))
    finally:
        torch.set_num_threads(before)


def test_on_serial_threads_runs_side_by_side_each_on_one_thread() -> None:
    both = threading.Barrier(2, timeout=10)  # each waits for the other: they must run at once
    seen: list[tuple[int, str]] = []

    def work() -> None:
        both.wait()
        seen.append((torch.get_num_threads(), threading.current_thread().name))

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with torch.no_grad():
            threads.on_serial_threads([work, work])
        assert [n for n, _ in seen] == [1, 1] and seen[0][1] != seen[1][1]
        # threads made afterwards get the process's count, not the workers' one
        later: list[int] = []
        thread = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        assert later == [2] and torch.get_num_threads() == 2
        done: list[str] = []

        def slow_then_done() -> None:
            threading.Event().wait(0.2)
            done.append("slow")

        with pytest.raises(ValueError, match="boom"):  # raised only once the other half is done
            threads.on_serial_threads([slow_then_done, lambda: (_ for _ in ()).throw(ValueError("boom"))])
        assert done == ["slow"]
        nested: list[str] = []
        threads.on_serial_threads([lambda: threads.on_serial_threads(
            [lambda: nested.append(threading.current_thread().name)])])
        assert nested and nested[0].startswith("egan-serial-pair")
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_worker() -> None:
    threads.on_serial_thread(lambda: None)  # the parent's worker exists
    pid = os.fork()
    if pid == 0:  # the child: the parent's worker thread does not exist here
        done: list[int] = []
        threads.on_serial_thread(lambda: done.append(1))
        os._exit(0 if done == [1] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

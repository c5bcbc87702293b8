"""Decisions measured once per machine and model, remembered in memory and on disk.

``precision: auto`` (training) and the enhancement path are chosen by a short timed probe.
The probe's result depends on the machine (see :func:`egan_core.hardware.machine_key`) and
the model, so it is cached under both: in this process, and in ``autotune.json`` in the
cache folder (``$EGAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/egan``, else ``~/.cache/egan``)
so that the next run starts without probing. An unwritable or damaged cache file is
ignored: the probe simply runs again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from egan_core.errors import EganError
from egan_core.fileio import atomic_write

_MEMORY: dict[str, dict[str, Any]] = {}
_FILE = "autotune.json"
#: Cache entries kept on disk (the oldest go first).
MAX_ENTRIES = 256
#: Revision of the measured code paths, part of every key: raised when a candidate's
#: implementation changes (2: Winograd convolutions; 3: the training probe's batch, losses
#: and Winograd image threads), so decisions timed on the old code
#: are measured again instead of trusted.
REVISION = 3


def cache_dir() -> Path:
    """The folder holding egan's per-machine cache."""
    if os.environ.get("EGAN_CACHE_DIR"):
        return Path(os.environ["EGAN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "egan"


def _read() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((cache_dir() / _FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def lookup(key: str) -> dict[str, Any] | None:
    """A cached decision, or None."""
    key = f"r{REVISION}|{key}"
    if key in _MEMORY:
        return _MEMORY[key]
    found = _read().get(key)
    if found is not None:
        _MEMORY[key] = found
    return found


def store(key: str, decision: dict[str, Any]) -> None:
    """Remember ``decision`` (JSON-serialisable) under ``key``, on disk when possible."""
    key = f"r{REVISION}|{key}"
    record = {**decision, "saved": time.time()}
    _MEMORY[key] = record
    data = _read()
    data[key] = record
    if len(data) > MAX_ENTRIES:
        for old in sorted(data, key=lambda k: data[k].get("saved", 0))[:len(data) - MAX_ENTRIES]:
            del data[old]
    text = json.dumps(data, indent=1, sort_keys=True)
    try:
        atomic_write(cache_dir() / _FILE, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    except (EganError, OSError):
        pass  # read-only home, full disk: the decision still holds for this process


def cached(key: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The decision under ``key``; ``measure()`` makes (and stores) it when there is none."""
    found = lookup(key)
    if found is None:
        found = measure()
        store(key, found)
    return found


def forget() -> None:
    """Drop this process's remembered decisions (the disk cache stays)."""
    _MEMORY.clear()


def timed_alternately(fns: dict[str, Callable[[], Any]], rounds: int = 3,
                      sync: Callable[[], Any] | None = None) -> dict[str, float]:
    """Best wall time of each function over ``rounds``, the functions taking turns.

    Each is warmed up once first. Taking turns spreads a busy machine's slow moments over
    all candidates instead of penalising whichever ran during them.
    """
    wait = sync or (lambda: None)
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            wait()
            start = time.perf_counter()
            fn()
            wait()
            best[name] = min(best[name], time.perf_counter() - start)
    return best

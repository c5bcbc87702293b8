"""The speed-decision rules shared by enhancement and training: the pick within a margin,
bf16 capability, and rank 0 deciding for every rank."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from egan_core import autotune
from egan_core.hardware import CpuFeatures

AVX2 = CpuFeatures(model="test AVX2 CPU", arch="x86_64", flags=frozenset({"avx2", "fma"}))
SAPPHIRE = CpuFeatures(model="test AMX CPU", arch="x86_64", onednn_bf16=True,
                       flags=frozenset({"avx512f", "avx512bw", "avx512_bf16", "amx_tile", "amx_bf16"}))


def test_a_candidate_must_beat_the_baseline_by_the_policy_margin() -> None:
    four_percent = {"base": 1.0, "other": 1.0 / 1.04}
    assert autotune.ENHANCE.pick(four_percent, "base") == "other"
    assert autotune.TRAINING.pick(four_percent, "base") == "base"  # within its noise margin
    six_percent = {"base": 1.0, "other": 1.0 / 1.06}
    assert autotune.TRAINING.pick(six_percent, "base") == "other"
    two_percent = {"base": 1.0, "other": 1.0 / 1.02}
    assert autotune.ENHANCE.pick(two_percent, "base") == "base"


def test_pick_without_the_baseline_or_any_timing() -> None:
    assert autotune.TRAINING.pick({}, "base") == "base"
    assert autotune.TRAINING.pick({"a": 2.0, "b": 1.0}, "base") == "b"  # baseline not timed
    assert autotune.TRAINING.pick({"base": 1.0, "slow": 3.0}, "base") == "base"


def test_bf16_support_native_and_runnable() -> None:
    amx = autotune.bf16_support("cpu", SAPPHIRE)
    assert (amx.native, amx.runs) == (True, True) and "AMX" in amx.why
    avx2 = autotune.bf16_support("cpu", AVX2)
    assert (avx2.native, avx2.runs) == (False, False) and "no native bf16" in avx2.why
    skylake = CpuFeatures("test AVX-512 CPU", "x86_64", frozenset({"avx512f", "avx512bw"}), onednn_bf16=True)
    emulated = autotune.bf16_support("cpu", skylake)
    assert (emulated.native, emulated.runs) == (False, True)  # oneDNN runs it, emulated
    mps = autotune.bf16_support(torch.device("mps"))
    assert (mps.native, mps.runs) == (False, True)  # not ours to refuse there
    if not torch.cuda.is_available():
        assert not autotune.bf16_support("cuda").native and not autotune.bf16_support("cuda").runs


def test_both_decisions_ask_the_one_capability_function(monkeypatch: pytest.MonkeyPatch) -> None:
    from egan_core.enhance.forward_paths import candidates
    from egan_core.training.precision import bf16_warning

    asked: list[str] = []

    def support(device: torch.device | str, features: CpuFeatures | None = None) -> autotune.Bf16Support:
        asked.append(str(device))
        return autotune.Bf16Support(native=True, runs=True, why="test")

    monkeypatch.setattr(autotune, "bf16_support", support)
    assert ("fused", "bf16") in candidates("auto", "auto", torch.device("cpu"))
    assert bf16_warning(torch.device("cpu"), AVX2) is None
    assert asked == ["cpu", "cpu"]


def test_agreed_alone_decides_here() -> None:
    assert autotune.agreed(lambda: {"choice": "mine"}) == {"choice": "mine"}


_RANK = """
import json, sys
from datetime import timedelta
import torch.distributed as dist
from egan_core import autotune, distributed
rank, store, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
distributed.DECISION_TIMEOUT = timedelta(seconds=5)
dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
distributed.start_group()
calls = []

def decide():
    calls.append(rank)
    return {"choice": f"rank {rank}"}

if mode == "agree":
    got = autotune.agreed(decide)
    main = distributed.broadcast_from_main(f"value of rank {rank}")
else:  # rank 0 fails before deciding: it never joins the broadcast
    got = autotune.agreed(decide) if rank == 1 else None
    main = None
distributed.end_group()
if dist.is_initialized():
    dist.destroy_process_group()
print(json.dumps({"got": got, "calls": calls, "main": main}))
"""


def _two_ranks(tmp_path: Path, mode: str) -> list[dict]:
    script = tmp_path / "rank.py"
    script.write_text(_RANK, encoding="utf-8")
    procs = [subprocess.Popen([sys.executable, str(script), str(rank), str(tmp_path / "store"), mode],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "RANK": str(rank), "WORLD_SIZE": "2"})
             for rank in (0, 1)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_rank_zero_decides_for_every_rank(tmp_path: Path) -> None:
    zero, one = _two_ranks(tmp_path, "agree")
    assert zero["got"] == one["got"] == {"choice": "rank 0"}
    assert zero["calls"] == [0] and one["calls"] == []  # only rank 0 measured
    assert zero["main"] == one["main"] == "value of rank 0"


def test_a_rank_that_hears_nothing_from_rank_zero_decides_alone(tmp_path: Path) -> None:
    _, one = _two_ranks(tmp_path, "absent")
    assert one["got"] == {"choice": "rank 1"} and one["calls"] == [1]

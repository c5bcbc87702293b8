"""``train.compile`` under torchrun: the DDP-wrapped generator is what gets compiled and runs.

Two real gloo processes train a tiny recipe. ``torch.compile`` keeps its real Dynamo front
end (graph capture, DDP bucket splitting) but runs the captured graphs eagerly
(``backend="eager"``), so the test takes seconds instead of an inductor build per rank.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from egan_core.checkpoint import load_checkpoint

WORKER = """\
import json, os, sys
from pathlib import Path

import torch
from torch._dynamo.utils import counters

from egan_core.training.trainer import train

compiled = []
real_compile = torch.compile


def compile_eagerly(model, **kwargs):
    compiled.append(type(model).__name__)
    return real_compile(model, backend="eager")


torch.compile = compile_eagerly
train(sys.argv[1], out=sys.argv[2], device="cpu", quiet=True)
report = {"compiled": compiled, "graphs": counters["stats"]["unique_graphs"]}
Path(sys.argv[3], f"rank{os.environ['RANK']}.json").write_text(json.dumps(report))
"""


def test_compile_applies_to_the_ddp_generator(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    tiny_recipe["train"].update(max_steps=2, compile=True, sample_every=0)
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe))
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(worker), str(recipe), str(tmp_path / "runs"), str(tmp_path)],
        capture_output=True, text=True, timeout=400, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for rank in (0, 1):
        report = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert report["compiled"] == ["DistributedDataParallel"], report
        assert report["graphs"] > 0, report  # the compiled forward is the one that ran
    state = load_checkpoint(tmp_path / "runs" / "tiny" / "checkpoints" / "latest.pt")
    assert state["step"] == 2

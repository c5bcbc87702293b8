"""Every shipped recipe trains bit-identically on the code before training methods became
plugins (commit ``BEFORE``; every recipe shipped then) and on today's: the same driver
trains each recipe for two steps on tiny data in a subprocess of each tree, and the
weights and optimizer states of both must hash the same.

The older tree comes from this repository's own history (``git archive``); CI works on a
full clone of it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from egan_core.recipe import packaged_recipes, resolve_recipe_path

#: The last commit whose trainer ran EnlightenGAN's step itself.
BEFORE = "eb387fe7ee0d52eb2257aac2dcc0bc2671285dad"
REPO = Path(__file__).resolve().parents[3]

DRIVER = r'''
import hashlib, json, sys
from pathlib import Path
import torch
import egan_core
from egan_core.training.trainer import train

def walk(value, prefix, out):
    if torch.is_tensor(value):
        out[prefix] = hashlib.sha256(value.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            walk(value[key], f"{prefix}/{key}", out)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            walk(item, f"{prefix}/{i}", out)

jobs = json.loads(Path(sys.argv[1]).read_text())
result = {"egan_core": egan_core.__file__, "runs": {}}
for name, (recipe, overrides) in jobs.items():
    run_dir, last = train(recipe, overrides=overrides, out=sys.argv[2], quiet=True, device="cpu")
    payload = torch.load(run_dir / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)
    hashes = {}
    for key in ("generator", "discriminator", "optimizers"):
        walk(payload.get(key), key, hashes)
    result["runs"][name] = {"hashes": hashes, "g_total": last.get("g_total")}
Path(sys.argv[3]).write_text(json.dumps(result))
'''


def _image(path: Path, seed: int, gain: float = 1.0) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((rng.integers(0, 256, (56, 64, 3)) * gain).astype(np.uint8)).save(path)


def _data(root: Path) -> dict[str, Path]:
    """One tiny folder per dataset layout the shipped recipes read."""
    for i in range(4):
        _image(root / "unpaired" / "train_A" / f"a{i}.png", i, 0.3)
        _image(root / "unpaired" / "train_B" / f"b{i}.png", 10 + i)
        _image(root / "objects" / "train_A" / "car" / f"a{i}.png", 20 + i, 0.3)
        _image(root / "objects" / "train_B" / "car" / f"b{i}.png", 30 + i)
        _image(root / "paired" / "low" / f"p{i}.png", 40 + i, 0.3)
        _image(root / "paired" / "high" / f"p{i}.png", 40 + i)
        _image(root / "lowlight" / f"l{i}.png", 50 + i, 0.3)
    return {"unpaired": root / "unpaired", "object_paired": root / "objects",
            "paired": root / "paired", "lowlight": root / "lowlight"}


def _jobs(roots: dict[str, Path]) -> dict[str, list]:
    """Each shipped recipe with overrides that make two steps on the tiny data."""
    import yaml

    jobs: dict[str, list] = {}
    for file in sorted(packaged_recipes()):
        path = resolve_recipe_path(f"recipes/{file}")
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        dataset = raw["data"]["dataset"]
        sets = {"data.batch_size": 2, "data.workers": 0, "data.size": 48, "validation": None,
                "vgg.weights": "none", "train.max_steps": 2, "train.precision": "fp32",
                "train.channels_last": False, "train.winograd": False, "train.sample_every": 0,
                "train.log_every": 1, "train.checkpoint_minutes": 0, "train.save_every": 0}
        if dataset in roots:
            sets["data.root"] = str(roots[dataset])
        if dataset == "paired":
            sets.update({"data.input_dir": "low", "data.target_dir": "high", "data.holdout": [],
                         "data.repeat": None})
        init = (raw.get("model", {}).get("generator") or {}).get("init")
        if init not in (None, "default"):
            sets["model.generator.init"] = None
        if (raw.get("model", {}) or {}).get("discriminator"):
            sets["model.discriminator.patch_size"] = 16
        jobs[path.stem] = [str(path), sets]
    return jobs


def _start(tree: Path | None, jobs_file: Path, out: Path, result: Path) -> subprocess.Popen:
    """The driver on ``tree`` (None: the code under test), one thread: the two trees train
    side by side on a 2-core machine, with the same arithmetic."""
    env = {**os.environ, "EGAN_DEBUG": "1", "OMP_NUM_THREADS": "1"}
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")])
    driver = jobs_file.parent / "driver.py"
    driver.write_text(DRIVER)
    return subprocess.Popen([sys.executable, str(driver), str(jobs_file), str(out), str(result)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen, result: Path) -> dict:
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(result.read_text())


def _old_tree(dest: Path) -> Path:
    proc = subprocess.run(["git", "-C", str(REPO), "archive", BEFORE, "egan_core", "egan_plugins"],
                          capture_output=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(f"this test compares with commit {BEFORE[:7]} of this repository's history, which"
                    f" git cannot read here ({proc.stderr.decode()[:200].strip()}); run it in a full clone")
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def _recipes_before() -> set[str]:
    """The shipped recipes at ``BEFORE`` (those added since, PairLIE's, have no "before")."""
    proc = subprocess.run(["git", "-C", str(REPO), "ls-tree", "--name-only", BEFORE,
                           "egan_core/configs/recipes/"], capture_output=True, text=True, timeout=60)
    return {Path(line).stem for line in proc.stdout.split()}


def test_every_shipped_recipe_trains_bit_identically_before_and_after(tmp_path: Path) -> None:
    old_tree = _old_tree(tmp_path / "before")
    jobs = {name: job for name, job in _jobs(_data(tmp_path / "data")).items() if name in _recipes_before()}
    assert len(jobs) == 14
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(json.dumps(jobs))
    procs = [_start(old_tree, jobs_file, tmp_path / "runs_before", tmp_path / "before.json"),
             _start(None, jobs_file, tmp_path / "runs_after", tmp_path / "after.json")]
    before = _finish(procs[0], tmp_path / "before.json")
    after = _finish(procs[1], tmp_path / "after.json")
    assert Path(before["egan_core"]).is_relative_to(old_tree)
    assert not Path(after["egan_core"]).is_relative_to(old_tree)
    assert set(before["runs"]) == set(after["runs"]) == set(jobs)
    for name in jobs:
        old, new = before["runs"][name]["hashes"], after["runs"][name]["hashes"]
        assert len(new) > 0 and any(k.startswith("optimizers/") for k in new), name
        assert old == new, f"{name}: {sorted(k for k in new if old.get(k) != new[k])[:5]}"
        assert before["runs"][name]["g_total"] == after["runs"][name]["g_total"], name

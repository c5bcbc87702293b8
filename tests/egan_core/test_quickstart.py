"""The README's first training command, `egan run recipes/quickstart.yaml`, leaves a model a
user would keep: trained from scratch on embedded scenes, it brightens dark photos it never
saw and scores no worse than they do on NIQE, with no warning that the run is meaningless.

The default run checks an eighth of the schedule (32 of 256 steps, half a minute on 2 cores);
the slow run trains the whole recipe as the README's command does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from egan_core import load_enhancer
from egan_core.metrics import brightness, niqe
from egan_core.scenes import dark_scene


def _train(tmp_path: Path, *overrides: str) -> Path:
    sets = [arg for o in overrides for arg in ("--set", o)]
    run = subprocess.run([sys.executable, "-m", "egan_core", "run", "recipes/quickstart.yaml", "--out",
                          str(tmp_path), "-q", "--set", "train.sample_every=0", *sets],
                         capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Warning" not in run.stderr and "meaningless" not in run.stderr, run.stderr
    return tmp_path / "quickstart" / "checkpoints" / "latest.pt"


def _assert_keeps_its_promise(checkpoint: Path, gain: float) -> None:
    """On night scenes egan makes (640x480, unseen in training): brighter by ``gain`` and
    no worse NIQE than the inputs."""
    enhance = load_enhancer("gan", checkpoint=str(checkpoint), device="cpu")
    scenes = [dark_scene(640, 480, seed=s) for s in range(3)]
    outputs = [enhance(x) for x in scenes]
    before = float(np.mean([brightness(x) for x in scenes]))
    after = float(np.mean([brightness(x) for x in outputs]))
    assert after > gain * before, (before, after)
    assert np.mean([niqe(x) for x in outputs]) <= np.mean([niqe(x) for x in scenes])


def test_an_eighth_of_the_quickstart_already_brightens(tmp_path: Path) -> None:
    _assert_keeps_its_promise(_train(tmp_path, "train.max_steps=32"), gain=3.0)


@pytest.mark.slow
def test_the_whole_quickstart(tmp_path: Path) -> None:
    _assert_keeps_its_promise(_train(tmp_path), gain=5.0)

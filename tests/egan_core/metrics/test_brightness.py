"""Mean brightness: the metric and ``egan eval --metric brightness``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from egan_core.metrics import brightness


def test_brightness_is_the_mean_pixel_as_a_fraction() -> None:
    assert brightness(np.zeros((4, 4, 3), np.uint8)) == 0.0
    assert brightness(np.full((4, 4, 3), 255, np.uint8)) == 1.0
    img = np.zeros((2, 2, 3), np.uint8)
    img[0] = 102
    assert abs(brightness(img) - 0.2) < 1e-12


def test_eval_brightness_as_subprocess(tmp_path: Path) -> None:
    Image.fromarray(np.full((8, 8, 3), 51, np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.full((8, 8, 3), 153, np.uint8)).save(tmp_path / "b.png")
    proc = subprocess.run([sys.executable, "-m", "egan_core", "eval", str(tmp_path), "--metric",
                           "brightness", "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["per_image"]["a.png"]["brightness"] == 0.2
    assert abs(report["mean"]["brightness"] - 0.4) < 1e-12

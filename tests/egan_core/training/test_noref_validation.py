"""No-reference validation (``validation: {dataset: noref}``): records, grid, plot, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from egan_core import EganError
from egan_core.training.outputs import TensorBoard, loss_curve
from egan_core.training.trainer import train


def _photos(folder: Path, n: int) -> Path:
    """``n`` dark textured photos of different shapes (NIQE needs texture)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        h, w = (150, 240) if i % 2 else (300, 200)
        img = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
        Image.fromarray(img).save(folder / f"dark{i}.png")
    return folder


def _noref(root: Path, **extra: Any) -> dict[str, Any]:
    return {"dataset": "noref", "root": str(root), "every": 2, "images": 3, "max_side": 192,
            "grid": 2, **extra}


def test_noref_validation_writes_records_grid_and_panel(tmp_path: Path,
                                                        tiny_recipe: dict[str, Any],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    tiny_recipe["validation"] = _noref(_photos(tmp_path / "val", 4))
    tiny_recipe["train"]["max_steps"] = 3
    run_dir, last = train(tiny_recipe, out=tmp_path / "runs", device="cpu", quiet=True)
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    with_val = [r for r in records if "val_niqe" in r]
    assert [r["step"] for r in with_val] == [2, 3]
    for record in with_val:
        assert 0 <= record["val_brightness"] <= 1 and 0 <= record["val_input_brightness"] <= 0.25
        assert record["val_niqe"] > 0 and record["val_input_niqe"] > 0
    assert last["val_niqe"] == with_val[-1]["val_niqe"]
    for step in (2, 3):
        grid = Image.open(run_dir / "samples" / f"val_step_{step:07d}.png")
        assert grid.size == (2 * 192, 2 * 192)  # input | output, 2 rows of 192 px tiles
    out = "".join(capsys.readouterr())
    assert "validation at step 2: val_niqe=" in out and " s)" in out
    curve = Image.open(run_dir / "loss_curve.png")
    assert curve.size == (900, 500 + 2 * 250)  # losses, then niqe and brightness panels


def test_loss_curve_without_validation_keeps_one_panel() -> None:
    records = [{"step": s, "g_total": 1.0 / s} for s in (1, 2, 3)]
    assert loss_curve(records).size == (900, 500)
    with_val = records + [{"step": 3, "val_psnr": 20.0}]
    assert loss_curve(with_val).size == (900, 750)


def test_noref_is_refused_as_training_data(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    tiny_recipe["data"] = {"dataset": "noref", "root": str(_photos(tmp_path / "val", 2)),
                           "batch_size": 1, "workers": 0}
    with pytest.raises(EganError, match="use it under validation"):
        train(tiny_recipe, out=tmp_path / "runs", device="cpu", quiet=True)


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_bad_validation_folder_is_one_line_before_training(tmp_path: Path, tiny_recipe: dict[str, Any],
                                                           kind: str) -> None:
    root = tmp_path / "val"
    if kind == "empty":
        root.mkdir()
        (root / "notes.txt").write_text("not an image")
    tiny_recipe["validation"] = _noref(root)
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "egan_core", "run", str(recipe), "--out", str(tmp_path / "runs"),
         "--device", "cpu", "-q"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert str(root) in lines[0] and "validation.root" in lines[0]
    assert "no images" in lines[0] if kind == "empty" else "does not exist" in lines[0]
    assert not (tmp_path / "runs" / "tiny" / "checkpoints").exists()


def test_tensorboard_gets_the_grid_as_an_hwc_image(tmp_path: Path) -> None:
    calls: list[tuple[str, tuple[int, ...], int, str]] = []

    class Writer:
        def add_image(self, tag: str, array: np.ndarray, step: int, dataformats: str) -> None:
            calls.append((tag, array.shape, step, dataformats))

    board = TensorBoard(tmp_path)
    board.writer = Writer()
    board.image("val_samples", Image.new("RGB", (8, 4)), 7)
    assert calls == [("val_samples", (4, 8, 3), 7, "HWC")]
